// HTTP/1.1 request framing (http/request_parser.h) as a connection drives it: the bytes arrive in
// pieces, the buffer grows (the same bytes plus more) until a Complete or Reject step; after Complete
// the connection drops `consumed` bytes, calls Reset() and goes on with what is left (pipelining),
// and stops after a request without keep-alive or after a Reject. The same stream is then fed to a
// fresh parser all at once; both runs must give the same outcomes (states, statuses, requests,
// consumed counts). Checked on every step: a Reject has a status in {400, 408, 413, 414, 417, 431,
// 501, 505} and a detail; a Complete takes 0 < consumed <= buffer size and a body within
// max_body_bytes; "100 Continue" is asked for at most once per request. Any exception escaping
// Parse is a crash (the parser reports by value).
//
// Input: byte 0 bits 0-1: limits (0: defaults; 1: small fixed; 2: small, from byte 1; 3: default
// head limits, small body); bits 2-4: how many split bytes follow byte 1 (1-8); bits 5-7: the body
// limit for 2 and 3 (0, 1, 7, 16, 64, 100, 1000, 4096 bytes). Byte 1: for limits 2, bits 0-3 the
// request-target limit (1 + 16 n), bits 4-5 the head limit (target limit + 64 + 128 n), bits 6-7 the
// field count limit (1, 3, 8, 30). Then the split bytes, used in turn as piece lengths: bit 7 clear,
// 0-127 bytes; set, (b & 127) * 32 bytes; 0 is an empty read (the parser is called with no new
// byte). The rest is the byte stream of the connection.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "http/request_parser.h"

namespace {

using scimitar::http::ParserLimits;
using scimitar::http::ParseStep;
using scimitar::http::RequestParser;

const std::string kDefaultHost = "scim.example.test:8443";

// One outcome of the connection: a request (Complete), a Reject, or the end of the stream while the
// parser still needs more (then `started`: whether a request had begun).
struct Outcome {
  ParseStep::State state = ParseStep::State::NeedMore;
  int status = 0;
  std::string method, path, body, base;
  std::map<std::string, std::string> query, headers;
  size_t consumed = 0;
  bool keep_alive = false;
  bool started = false;

  bool operator==(const Outcome&) const = default;

  std::string Describe() const {
    switch (state) {
      case ParseStep::State::NeedMore: return std::string("NeedMore started=") + (started ? "1" : "0");
      case ParseStep::State::Reject: return "Reject " + std::to_string(status);
      case ParseStep::State::Complete:
        return "Complete " + method + " " + path + " consumed=" + std::to_string(consumed) +
               " body=" + std::to_string(body.size()) + " keep_alive=" + (keep_alive ? "1" : "0");
    }
    return "?";
  }
};

bool AllowedStatus(int s) {
  for (int a : {400, 408, 413, 414, 417, 431, 501, 505})
    if (s == a) return true;
  return false;
}

// Feeds `stream` to one parser; `piece(k)` is the length of the k-th read (SIZE_MAX: all of it).
template <typename Piece>
std::vector<Outcome> Drive(std::string_view stream, const ParserLimits& limits, Piece&& piece) {
  std::vector<Outcome> out;
  RequestParser parser(limits);
  std::string buffer;
  size_t pos = 0, reads = 0;
  bool continue_asked = false;  // this request asked for 100 Continue already
  bool last_empty = false;
  for (;;) {
    size_t n = piece(reads++);
    if (n == 0 && last_empty) n = 1;  // progress: no two empty reads in a row
    last_empty = n == 0;
    n = std::min(n, stream.size() - pos);
    buffer.append(stream.substr(pos, n));
    pos += n;
    for (;;) {
      ParseStep step = parser.Parse(buffer, kDefaultHost);
      if (step.state == ParseStep::State::NeedMore) {
        if (step.send_continue) {
          if (continue_asked) fuzz::Fail("100 Continue asked for twice for one request");
          continue_asked = true;
        }
        break;
      }
      Outcome o;
      o.state = step.state;
      if (step.state == ParseStep::State::Reject) {
        if (!AllowedStatus(step.status)) fuzz::Fail("Reject with an unexpected status", std::to_string(step.status));
        if (step.detail.empty()) fuzz::Fail("Reject without a detail", std::to_string(step.status));
        o.status = step.status;
        out.push_back(std::move(o));
        return out;  // the connection answers and closes
      }
      if (step.consumed == 0) fuzz::Fail("Complete consumed no byte");
      if (step.consumed > buffer.size())
        fuzz::Fail("Complete consumed more than the buffer",
                   std::to_string(step.consumed) + " > " + std::to_string(buffer.size()));
      if (step.request.body.size() > limits.max_body_bytes)
        fuzz::Fail("body over max_body_bytes", std::to_string(step.request.body.size()));
      if (step.status != 0 || !step.detail.empty()) fuzz::Fail("Complete carries a reject status or detail");
      o.method = step.request.method;
      o.path = step.request.path;
      o.query = step.request.query;
      o.headers = step.request.headers;
      o.body = step.request.body;
      o.base = step.request.base;
      o.consumed = step.consumed;
      o.keep_alive = step.keep_alive;
      out.push_back(std::move(o));
      buffer.erase(0, step.consumed);
      parser.Reset();
      continue_asked = false;
      if (!step.keep_alive) return out;  // the connection answers and closes
    }
    if (pos == stream.size()) {
      Outcome o;
      o.started = parser.Started(buffer);
      out.push_back(std::move(o));
      return out;
    }
  }
}

ParserLimits Limits(unsigned sel, unsigned param) {
  static const size_t kBodies[] = {0, 1, 7, 16, 64, 100, 1000, 4096};
  static const size_t kFields[] = {1, 3, 8, 30};
  ParserLimits l;
  switch (sel & 3) {
    case 0: break;
    case 1:
      l.max_uri_bytes = 64;
      l.max_header_bytes = 512;
      l.max_headers = 8;
      l.max_body_bytes = 256;
      break;
    case 2:
      // The head limit stays at least the target limit + 64, as with the defaults (8 KiB, 16 KiB): a
      // request line over both may be answered 414 or 431 depending on where the reads split it.
      l.max_uri_bytes = 1 + (param & 15) * 16;
      l.max_header_bytes = l.max_uri_bytes + 64 + ((param >> 4) & 3) * 128;
      l.max_headers = kFields[(param >> 6) & 3];
      l.max_body_bytes = kBodies[(sel >> 5) & 7];
      break;
    default: l.max_body_bytes = kBodies[(sel >> 5) & 7]; break;
  }
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned sel = data[0];
  const ParserLimits limits = Limits(sel, data[1]);
  const size_t nsplit = 1 + ((sel >> 2) & 7);
  if (size < 2 + nsplit) return 0;
  const uint8_t* splits = data + 2;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2 + nsplit, size - 2 - nsplit);

  const std::vector<Outcome> pieces = Drive(stream, limits, [&](size_t k) -> size_t {
    const uint8_t b = splits[k % nsplit];
    return b & 0x80 ? size_t(b & 0x7f) * 32 : size_t(b);
  });
  const std::vector<Outcome> whole = Drive(stream, limits, [](size_t) { return SIZE_MAX; });
  if (pieces != whole) {
    std::string detail;
    for (size_t i = 0; i < std::max(pieces.size(), whole.size()); ++i) {
      detail += "\n  #" + std::to_string(i) + " pieces: " + (i < pieces.size() ? pieces[i].Describe() : "-");
      detail += " | whole: " + (i < whole.size() ? whole[i].Describe() : "-");
      if (i < pieces.size() && i < whole.size() && pieces[i].Describe() == whole[i].Describe() && pieces[i] != whole[i])
        detail += " (differ in headers, query, base or body)";
    }
    fuzz::Fail("feeding in pieces differs from feeding at once:", detail);
  }
  return 0;
}
