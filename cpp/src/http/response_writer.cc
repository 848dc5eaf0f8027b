#include "http/response_writer.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timestamp.h>

#include <ctime>

namespace scimitar::http {

namespace {

// The Date header's value, formatted once per second per thread.
const std::string& HttpDate() {
  thread_local std::time_t second = 0;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != second) {
    second = now;
    text = Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(now), Poco::DateTimeFormat::HTTP_FORMAT);
  }
  return text;
}

void AppendHeader(std::string& out, const std::string& name, const std::string& value) {
  out += name;
  out += ": ";
  for (char c : value)
    if (c != '\r' && c != '\n') out += c;
  out += "\r\n";
}

}  // namespace

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:
      return Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status))
          .c_str();
  }
}

void AppendResponse(std::string& out, const service::Response& r, bool keep_alive, bool head_only) {
  out.reserve(out.size() + r.body.size() + 256);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += ReasonPhrase(r.status);
  out += "\r\n";
  AppendHeader(out, "Date", HttpDate());
  out += "Server: scimitar\r\n";
  const bool no_content = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (!no_content) {
    if (!r.body.empty()) out += "Content-Type: application/scim+json\r\n";
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const auto& [k, v] : r.headers) AppendHeader(out, k, v);
  out += "\r\n";
  if (!head_only && !no_content) out += r.body;
}

}  // namespace scimitar::http
