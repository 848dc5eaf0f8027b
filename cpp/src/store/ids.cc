#include "store/ids.h"

#include <sys/random.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace scimitar::store {

namespace {

// Random bytes drawn from getrandom(2) a page at a time.
class RandomBytes {
 public:
  void Fill(uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (at_ == buffer_.size()) Refill();
      out[i] = buffer_[at_++];
    }
  }

 private:
  void Refill() {
    size_t got = 0;
    while (got < buffer_.size()) {
      ssize_t r = getrandom(buffer_.data() + got, buffer_.size() - got, 0);
      if (r < 0) throw std::runtime_error("getrandom failed");
      got += static_cast<size_t>(r);
    }
    at_ = 0;
  }

  std::array<uint8_t, 4096> buffer_{};
  size_t at_ = buffer_.size();
};

}  // namespace

std::string NewResourceId() {
  thread_local RandomBytes random;
  std::array<uint8_t, 16> b{};
  random.Fill(b.data() + 6, 10);
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  for (int i = 0; i < 6; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0F));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // RFC 9562 variant
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0F];
  }
  return out;
}

}  // namespace scimitar::store
