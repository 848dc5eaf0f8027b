#include "http/request_parser.h"

#include <gtest/gtest.h>

using namespace scimitar::http;

namespace {

// Feeds `raw` one byte at a time, as the slowest client would, and returns the first final step.
ParseStep ByteByByte(const std::string& raw, const ParserLimits& limits = {}) {
  RequestParser parser(limits);
  std::string buffer;
  for (char c : raw) {
    buffer += c;
    ParseStep step = parser.Parse(buffer, "127.0.0.1:1");
    if (step.state != ParseStep::State::NeedMore) return step;
  }
  return parser.Parse(buffer, "127.0.0.1:1");
}

ParseStep AtOnce(const std::string& raw, const ParserLimits& limits = {}) {
  RequestParser parser(limits);
  return parser.Parse(raw, "127.0.0.1:1");
}

}  // namespace

TEST(RequestParser, FramesAContentLengthBodyAndLeavesThePipelinedRest) {
  const std::string first = "POST /scim/v2/Users?filter=userName%20eq%20%22a%22 HTTP/1.1\r\nHost: h:1\r\n"
                            "Content-Length: 5\r\n\r\nhello";
  for (auto step : {ByteByByte(first), AtOnce(first + "GET / HTTP/1.1\r\n\r\n")}) {
    ASSERT_EQ(step.state, ParseStep::State::Complete);
    EXPECT_EQ(step.consumed, first.size());
    EXPECT_EQ(step.request.method, "POST");
    EXPECT_EQ(step.request.path, "/scim/v2/Users");
    EXPECT_EQ(step.request.query.at("filter"), "userName eq \"a\"");
    EXPECT_EQ(step.request.body, "hello");
    EXPECT_EQ(step.request.base, "http://h:1");
    EXPECT_TRUE(step.keep_alive);
  }
}

TEST(RequestParser, DecodesChunkedBodiesWithExtensionsAndTrailers) {
  const std::string raw = "\r\nPUT /x HTTP/1.1\nTransfer-Encoding: chunked\nConnection: close\n\n"
                          "3;name=v\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
  for (auto step : {ByteByByte(raw), AtOnce(raw)}) {
    ASSERT_EQ(step.state, ParseStep::State::Complete) << step.detail;
    EXPECT_EQ(step.request.body, "abcde");
    EXPECT_EQ(step.consumed, raw.size());
    EXPECT_FALSE(step.keep_alive);
    EXPECT_EQ(step.request.base, "http://127.0.0.1:1");  // no Host
  }
}

TEST(RequestParser, AsksForContinueOnceAndOnlyWhenABodyIsComing) {
  RequestParser parser({});
  const std::string head = "POST /x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
  EXPECT_TRUE(parser.Parse(head, "h").send_continue);
  EXPECT_FALSE(parser.Parse(head + "a", "h").send_continue);
  EXPECT_EQ(parser.Parse(head + "ab", "h").state, ParseStep::State::Complete);
  EXPECT_FALSE(AtOnce("GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").send_continue);
  EXPECT_EQ(AtOnce("GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").state, ParseStep::State::Complete);
  EXPECT_EQ(AtOnce("GET /x HTTP/1.1\r\nExpect: magic\r\n\r\n").status, 417);
}

TEST(RequestParser, EachLimitHasItsOwnStatus) {
  ParserLimits small;
  small.max_uri_bytes = 100;
  small.max_header_bytes = 1000;
  small.max_headers = 5;
  small.max_body_bytes = 10;
  auto status = [&](const std::string& raw) {
    ParseStep a = AtOnce(raw, small), b = ByteByByte(raw, small);
    EXPECT_EQ(a.state, ParseStep::State::Reject) << raw.substr(0, 40);
    EXPECT_EQ(a.status, b.status) << raw.substr(0, 40);
    return a.status;
  };
  EXPECT_EQ(status("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n"), 414);
  EXPECT_EQ(status("GET /" + std::string(300, 'a')), 414);  // before the line even ends
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 6; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status(many + "\r\n"), 431);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nX: " + std::string(2000, 'v')), 431);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"), 413);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"), 413);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab"), 400);
  EXPECT_EQ(status("GET / HTTP/3.0\r\n\r\n"), 505);
  EXPECT_EQ(status("NOPE\r\n\r\n"), 400);
  EXPECT_EQ(status(std::string(2000, '\n')), 400);
}

TEST(RequestParser, AnHttp10ConnectionStaysOpenOnlyWhenAsked) {
  EXPECT_FALSE(AtOnce("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(AtOnce("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(AtOnce("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n").keep_alive);
}

TEST(RequestParser, ResetServesTheNextRequest) {
  RequestParser parser({});
  std::string buffer = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  ParseStep one = parser.Parse(buffer, "h");
  ASSERT_EQ(one.state, ParseStep::State::Complete);
  buffer.erase(0, one.consumed);
  parser.Reset();
  EXPECT_FALSE(parser.Started(""));
  ParseStep two = parser.Parse(buffer, "h");
  ASSERT_EQ(two.state, ParseStep::State::Complete);
  EXPECT_EQ(two.request.path, "/b");
}

TEST(RequestParser, TheChunkedTrailerIsBoundedHoweverTheReadsSplitIt) {
  ParserLimits limits;
  limits.max_header_bytes = 1000;
  const std::string raw = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: " +
                          std::string(1500, 'v') + "\r\n\r\n";
  EXPECT_EQ(AtOnce(raw, limits).status, 431);
  EXPECT_EQ(ByteByByte(raw, limits).status, 431);
  const std::string small = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: v\r\n\r\n";
  EXPECT_EQ(AtOnce(small, limits).state, ParseStep::State::Complete);
  EXPECT_EQ(ByteByByte(small, limits).state, ParseStep::State::Complete);
}

TEST(RequestParser, HeadLinesPocoCouldReadDifferentlyAreRefused) {
  // Each would let Poco and the framing disagree about a header (request smuggling shapes).
  for (const std::string& raw : {
           std::string("POST /x HTTP/1.1\r\nHost: a\r\n\rZ\r\nContent-Length: 4\r\n\r\nGET "),
           std::string("POST /x HTTP/1.1\r\nContent-Length : 4\r\n\r\nGET "),
           std::string("POST /x HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"),
           std::string("POST /x HTTP/1.1\r\nno colon here\r\n\r\n"),
           std::string("POST /x HTTP/1.1\r\nX: a\rb\r\n\r\n"),
           std::string("POST /x\r HTTP/1.1\r\n\r\n"),
       }) {
    ParseStep step = AtOnce(raw);
    EXPECT_EQ(step.state, ParseStep::State::Reject) << raw;
    EXPECT_EQ(step.status, 400) << raw;
  }
  EXPECT_EQ(AtOnce("GET /x HTTP/1.1\r\nX-Empty:\r\nHost: h\r\n\r\n").state, ParseStep::State::Complete);
}
