// HTTP/1.1 request framing over a connection's buffered bytes: finds the head within its limits,
// parses it with Poco's message classes, and frames the body (Content-Length or chunked) within the
// body limit. Every byte is untrusted: each limit has its own status (414, 431, 413, 400, 501, 505)
// and every reject closes the connection. One parser per connection, reused request after request;
// not thread-safe (the connection's owner calls it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/router.h"

namespace scimitar::http {

struct ParserLimits {
  size_t max_uri_bytes = 8 * 1024;      // the request target; longer is 414
  size_t max_header_bytes = 16 * 1024;  // request line and header fields together; more is 431
  size_t max_headers = 100;             // header fields; more is 431
  size_t max_body_bytes = 1 << 20;      // decoded body; more is 413
};

struct ParseStep {
  enum class State { NeedMore, Complete, Reject };
  State state = State::NeedMore;
  // NeedMore: the head asked for "Expect: 100-continue" and the body is yet to come (reported once).
  bool send_continue = false;
  // Complete: the request, the bytes of the buffer it took, and whether the connection stays open.
  Request request;
  size_t consumed = 0;
  bool keep_alive = false;
  // Reject: the answer to give before closing.
  int status = 0;
  std::string detail;
};

class RequestParser {
 public:
  explicit RequestParser(const ParserLimits& limits) : limits_(limits) {}

  // Looks at `buffer`, the connection's unconsumed bytes: the same bytes as the previous call with
  // more appended, until a Complete or Reject step. After Complete, the caller drops `consumed` bytes
  // from the front and calls Reset() before the next request. `default_host` (host:port of the local
  // socket) makes Request::base when the client sent no Host.
  ParseStep Parse(std::string_view buffer, const std::string& default_host);

  void Reset();
  // Whether any byte of a request has arrived (an idle connection holds none).
  bool Started(std::string_view buffer) const;

 private:
  ParseStep ParseHead(std::string_view head, const std::string& default_host);
  ParseStep FrameChunkedBody(std::string_view buffer);
  ParseStep Finish(size_t consumed);
  static ParseStep Reject(int status, std::string detail);

  ParserLimits limits_;
  // Head scanning.
  bool started_ = false;   // a byte of the request line has arrived
  size_t skip_ = 0;        // blank lines before the request line
  size_t scanned_ = 0;     // bytes of the head searched for its end so far
  size_t lines_ = 0;       // line ends seen so far
  size_t line_start_ = 0;  // where the line being scanned starts
  size_t head_end_ = 0;    // 0 until the head is complete: offset just past its blank line
  // Body framing, once the head is parsed.
  Request request_;
  bool keep_alive_ = false;
  bool chunked_ = false;
  size_t content_length_ = 0;
  bool expect_continue_ = false;  // the client waits for "100 Continue" before sending the body
  bool continue_sent_ = false;
  // Chunked decoding state: where decoding resumes and what remains of the current chunk.
  enum class Chunk { Size, Data, DataEnd, Trailer } chunk_ = Chunk::Size;
  size_t chunk_pos_ = 0;
  size_t chunk_left_ = 0;
  size_t trailer_start_ = 0;  // where the trailer begins, once the last chunk is read
};

}  // namespace scimitar::http
