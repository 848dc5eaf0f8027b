// The request log's lines and request ids (http/request_log.h).
#include "http/request_log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <ctime>
#include <vector>

using namespace scimitar::http;

TEST(RequestLog, JsonLinesHoldTheFieldsAndNothingElse) {
  RequestRecord r;
  r.request_id = "req-1";
  r.org = "acme";
  r.token_id = "abcdefabcdef";
  r.method = "PATCH";
  r.path = "/scim/v2/Users/42";
  r.status = 400;
  r.scim_type = "invalidValue";
  r.duration_us = 1234;
  r.bytes_in = 10;
  r.bytes_out = 99;
  const nlohmann::json line = nlohmann::json::parse(RequestLog::Line(r, RequestLog::Format::Json));
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["org"], "acme");
  EXPECT_EQ(line["status"], 400);
  EXPECT_EQ(line["scimType"], "invalidValue");
  EXPECT_EQ(line["duration_us"], 1234);
  EXPECT_EQ(line.size(), 11u);
  // The time is now, in UTC with milliseconds (compared with the C library's own conversion).
  const std::string time = line["time"];
  ASSERT_EQ(time.size(), 24u);
  const std::time_t t = std::time(nullptr);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", std::gmtime(&t));
  EXPECT_EQ(time.substr(0, 10), today);
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time.back(), 'Z');  // time, request_id, org, token_id, method, path, status, scimType, duration, bytes
  r.org.clear();
  r.scim_type.clear();
  const nlohmann::json anonymous = nlohmann::json::parse(RequestLog::Line(r, RequestLog::Format::Json));
  EXPECT_TRUE(anonymous["org"].is_null());
  EXPECT_TRUE(anonymous["scimType"].is_null());
}

TEST(RequestLog, TextLinesCannotBeSplitByAPath) {
  RequestRecord r;
  r.request_id = "x";
  r.method = "GET";
  r.path = "/scim/v2/Users/a\nforged line";
  r.status = 404;
  const std::string line = RequestLog::Line(r, RequestLog::Format::Text);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find(" GET /scim/v2/Users/a forged line 404 "), std::string::npos);
}

TEST(RequestLog, ClientRequestIdsAreHonouredWhenTheyAreSafe) {
  EXPECT_EQ(RequestIdOf("f3c1-Entra.42:x_y"), "f3c1-Entra.42:x_y");
  for (const std::string& bad : std::vector<std::string>{"", "has space", std::string(129, 'a'), "quote\"", "new\nline"}) {
    const std::string id = RequestIdOf(bad);
    EXPECT_EQ(id.size(), 16u) << bad;
    EXPECT_NE(id, bad);
  }
  EXPECT_NE(RequestIdOf(""), RequestIdOf(""));  // generated ids differ
}
