#include "http/request_parser.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/URI.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "scim/schema.h"

namespace scimitar::http {

namespace {

constexpr size_t kMaxChunkLine = 1024;   // a chunk-size line with its extensions
constexpr size_t kMaxFieldLine = 8000;   // one header field line (Poco's parser stops at 8192)

std::string Trimmed(std::string_view s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The head's header lines, checked strictly before Poco reads them, so that Poco and this framing
// can never disagree about where the header fields end or what they say: every line ends in LF
// (optionally CRLF) with no other CR, has a token name followed directly by ':', and is not a
// folded continuation. The framing headers' values are collected from these raw bytes.
bool StrictHeaderLines(std::string_view head, std::vector<std::string>& encodings, std::vector<std::string>& lengths,
                       std::string& why) {
  size_t start = head.find('\n');
  std::string_view request_line = head.substr(0, start);
  if (!request_line.empty() && request_line.back() == '\r') request_line.remove_suffix(1);
  if (start == std::string_view::npos || request_line.find('\r') != std::string_view::npos) {
    why = "a bare CR in the request line";
    return false;
  }
  for (++start; start < head.size();) {
    size_t end = head.find('\n', start);
    std::string_view line = head.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that ends the head
    if (line.find('\r') != std::string_view::npos) {
      why = "a bare CR in a header field";
      return false;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      why = "a folded header field (obs-fold)";
      return false;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), IsTokenChar)) {
      why = "a header field without a token name followed by ':'";
      return false;
    }
    const std::string name = scim::ToLower(std::string(line.substr(0, colon)));
    if (name == "transfer-encoding") encodings.push_back(Trimmed(line.substr(colon + 1)));
    if (name == "content-length") lengths.push_back(Trimmed(line.substr(colon + 1)));
  }
  return true;
}

bool HasToken(const std::string& list, const std::string& token) {
  std::string lower = scim::ToLower(list);
  size_t start = 0;
  while (start <= lower.size()) {
    size_t comma = lower.find(',', start);
    if (Trimmed(std::string_view(lower).substr(start, comma - start)) == token) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

// A chunk-size line without its line end: hex digits, optionally followed by ";extensions".
bool ChunkSize(std::string_view line, size_t& size) {
  std::string digits = Trimmed(line.substr(0, line.find(';')));
  if (digits.empty() || digits.size() > 15) return false;
  size = 0;
  for (char c : digits) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    size = size * 16 + static_cast<size_t>(d);
  }
  return true;
}

}  // namespace

ParseStep RequestParser::Reject(int status, std::string detail) {
  ParseStep s;
  s.state = ParseStep::State::Reject;
  s.status = status;
  s.detail = std::move(detail);
  return s;
}

void RequestParser::Reset() {
  const ParserLimits limits = limits_;
  *this = RequestParser(limits);
}

bool RequestParser::Started(std::string_view buffer) const {
  return started_ || buffer.find_first_not_of("\r\n") != std::string_view::npos;
}

ParseStep RequestParser::Parse(std::string_view buffer, const std::string& default_host) {
  if (head_end_ == 0) {
    // Blank lines before a request line are ignored (RFC 9112 section 2.2), within the head's bound.
    if (!started_) {
      while (skip_ < buffer.size() && (buffer[skip_] == '\r' || buffer[skip_] == '\n')) ++skip_;
      if (skip_ > limits_.max_header_bytes) return Reject(400, "too many blank lines before the request line");
      if (skip_ == buffer.size()) return {};
      started_ = true;
      line_start_ = skip_;
    }
    size_t i = std::max(scanned_, skip_);
    for (; i < buffer.size(); ++i) {
      if (buffer[i] != '\n') continue;
      ++lines_;
      if (lines_ > 1 && (buffer[i - 1] == '\n' || (buffer[i - 1] == '\r' && buffer[i - 2] == '\n'))) {
        head_end_ = i + 1;
        break;
      }
      if (lines_ == 1 && i - skip_ > limits_.max_uri_bytes + 64)
        return Reject(414, "the request target is longer than " + std::to_string(limits_.max_uri_bytes) + " bytes");
      if (lines_ > limits_.max_headers + 1)
        return Reject(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
      if (lines_ > 1 && i - line_start_ > kMaxFieldLine)
        return Reject(431, "a header field is longer than " + std::to_string(kMaxFieldLine) + " bytes");
      line_start_ = i + 1;
    }
    if (lines_ > 0 && i - line_start_ > kMaxFieldLine && head_end_ == 0)
      return Reject(431, "a header field is longer than " + std::to_string(kMaxFieldLine) + " bytes");
    scanned_ = i;
    const size_t head_bytes = (head_end_ ? head_end_ : buffer.size()) - skip_;
    if (lines_ == 0 && head_bytes > limits_.max_uri_bytes + 64)
      return Reject(414, "the request target is longer than " + std::to_string(limits_.max_uri_bytes) + " bytes");
    if (head_bytes > limits_.max_header_bytes)
      return Reject(431, "the request head is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
    if (head_end_ == 0) return {};
    ParseStep head = ParseHead(buffer.substr(skip_, head_end_ - skip_), default_host);
    if (head.state == ParseStep::State::Reject) return head;
  }
  if (chunked_) return FrameChunkedBody(buffer);
  if (buffer.size() - head_end_ >= content_length_) {
    request_.body.assign(buffer.substr(head_end_, content_length_));
    return Finish(head_end_ + content_length_);
  }
  ParseStep more;
  more.send_continue = !continue_sent_ && expect_continue_;
  continue_sent_ |= more.send_continue;
  return more;
}

ParseStep RequestParser::ParseHead(std::string_view head, const std::string& default_host) {
  std::vector<std::string> encodings, lengths;
  std::string why;
  if (!StrictHeaderLines(head, encodings, lengths, why)) return Reject(400, "malformed request head: " + why);
  Poco::Net::HTTPRequest req;
  try {
    req.setFieldLimit(static_cast<int>(limits_.max_headers));
    std::istringstream in{std::string(head)};
    req.read(in);
  } catch (const Poco::Exception& e) {
    const std::string what = e.message().empty() ? e.displayText() : e.message();
    if (what.find("Too many header fields") != std::string::npos)
      return Reject(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
    return Reject(400, "malformed request head: " + what);
  }
  const std::string& version = req.getVersion();
  if (version != Poco::Net::HTTPMessage::HTTP_1_1 && version != Poco::Net::HTTPMessage::HTTP_1_0)
    return Reject(505, "only HTTP/1.0 and HTTP/1.1 are served");
  if (req.getURI().size() > limits_.max_uri_bytes)
    return Reject(414, "the request target is longer than " + std::to_string(limits_.max_uri_bytes) + " bytes");

  request_.method = req.getMethod();
  try {
    Poco::URI uri(req.getURI());
    request_.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) request_.query[k] = v;
  } catch (const Poco::Exception& e) {
    return Reject(400, "malformed request target: " + e.message());
  }
  for (const auto& [k, v] : req) request_.headers[scim::ToLower(k)] = v;
  std::string scheme = "http";
  if (auto it = request_.headers.find("x-forwarded-proto"); it != request_.headers.end() && it->second == "https")
    scheme = "https";
  const std::string host = req.get("Host", "");
  request_.base = scheme + "://" + (host.empty() ? default_host : host);

  if (!encodings.empty()) {
    // Both framings at once is how requests are smuggled past a proxy: refuse it.
    if (!lengths.empty()) return Reject(400, "a request may not carry both Transfer-Encoding and Content-Length");
    if (encodings.size() != 1 || scim::ToLower(encodings[0]) != "chunked")
      return Reject(501, "Transfer-Encoding '" + encodings.back() + "' is not supported (only chunked)");
    chunked_ = true;
  } else if (!lengths.empty()) {
    for (const auto& l : lengths)
      if (l != lengths[0] || l.empty() || l.size() > 18 || l.find_first_not_of("0123456789") != std::string::npos)
        return Reject(400, "malformed Content-Length");
    content_length_ = std::stoull(lengths[0]);
    if (content_length_ > limits_.max_body_bytes)
      return Reject(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  const bool http11 = version == Poco::Net::HTTPMessage::HTTP_1_1;
  const std::string connection = req.get("Connection", "");
  keep_alive_ = http11 ? !HasToken(connection, "close") : HasToken(connection, "keep-alive");
  const std::string expect = Trimmed(req.get("Expect", ""));
  if (!expect.empty()) {
    if (scim::ToLower(expect) != "100-continue") return Reject(417, "only 'Expect: 100-continue' is understood");
    expect_continue_ = http11 && (chunked_ || content_length_ > 0);
  }
  return {};
}

ParseStep RequestParser::FrameChunkedBody(std::string_view buffer) {
  size_t p = std::max(chunk_pos_, head_end_);
  auto need_more = [&] {
    chunk_pos_ = p;
    ParseStep more;
    more.send_continue = !continue_sent_ && expect_continue_;
    continue_sent_ |= more.send_continue;
    return more;
  };
  for (;;) {
    switch (chunk_) {
      case Chunk::Size: {
        size_t nl = buffer.find('\n', p);
        if (nl == std::string_view::npos) {
          if (buffer.size() - p > kMaxChunkLine) return Reject(400, "malformed chunked body: chunk-size line too long");
          return need_more();
        }
        size_t size = 0;
        if (nl - p > kMaxChunkLine || !ChunkSize(buffer.substr(p, nl - p), size))
          return Reject(400, "malformed chunked body: bad chunk size");
        if (size > limits_.max_body_bytes - request_.body.size())
          return Reject(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
        p = nl + 1;
        chunk_left_ = size;
        chunk_ = size == 0 ? Chunk::Trailer : Chunk::Data;
        if (size == 0) trailer_start_ = p;
        break;
      }
      case Chunk::Data: {
        const size_t take = std::min(buffer.size() - p, chunk_left_);
        request_.body.append(buffer.substr(p, take));
        p += take;
        chunk_left_ -= take;
        if (chunk_left_ > 0) return need_more();
        chunk_ = Chunk::DataEnd;
        break;
      }
      case Chunk::DataEnd: {
        if (p < buffer.size() && buffer[p] == '\n') {
          p += 1;
        } else if (p + 1 < buffer.size() && buffer[p] == '\r' && buffer[p + 1] == '\n') {
          p += 2;
        } else if (p >= buffer.size() || (p + 1 == buffer.size() && buffer[p] == '\r')) {
          return need_more();
        } else {
          return Reject(400, "malformed chunked body: no line end after a chunk");
        }
        chunk_ = Chunk::Size;
        break;
      }
      case Chunk::Trailer: {
        // The whole trailer counts against the head's bound, however the reads split it.
        size_t nl = buffer.find('\n', p);
        if ((nl == std::string_view::npos ? buffer.size() : nl) - trailer_start_ > limits_.max_header_bytes)
          return Reject(431, "the chunked trailer is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
        if (nl == std::string_view::npos) return need_more();
        const bool blank = nl == p || (nl == p + 1 && buffer[p] == '\r');
        p = nl + 1;
        if (blank) return Finish(p);
        if (++lines_ > 2 * limits_.max_headers + 1) return Reject(431, "too many trailer fields");
        break;  // trailer fields are read past and ignored
      }
    }
  }
}

ParseStep RequestParser::Finish(size_t consumed) {
  ParseStep done;
  done.state = ParseStep::State::Complete;
  done.request = std::move(request_);
  done.consumed = consumed;
  done.keep_alive = keep_alive_;
  return done;
}

}  // namespace scimitar::http
