#include "store/ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <thread>

namespace {

using scimitar::store::NewResourceId;

TEST(ResourceIds, AreVersion7UuidsInCanonicalForm) {
  const std::regex canonical("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewResourceId();
    EXPECT_TRUE(std::regex_match(id, canonical)) << id;
  }
}

TEST(ResourceIds, AreUniqueAcrossThreads) {
  std::set<std::string> a, b;
  std::thread t([&] { for (int i = 0; i < 50000; ++i) a.insert(NewResourceId()); });
  for (int i = 0; i < 50000; ++i) b.insert(NewResourceId());
  t.join();
  ASSERT_EQ(a.size(), 50000u);
  ASSERT_EQ(b.size(), 50000u);
  for (const auto& id : a) EXPECT_EQ(b.count(id), 0u) << id;
}

TEST(ResourceIds, MadeLaterSortLater) {
  std::string first = NewResourceId();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  std::string second = NewResourceId();
  EXPECT_LT(first, second);
  // The first 48 bits are the Unix time in milliseconds.
  const long long ms = std::stoll(first.substr(0, 8) + first.substr(9, 4), nullptr, 16);
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(now - ms, 10000);
  EXPECT_GE(now - ms, 0);
}

}  // namespace
