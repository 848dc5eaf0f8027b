// Writes a transport-neutral Response as HTTP/1.1 bytes. Pure apart from the clock read for the
// Date header; thread-safe.
#pragma once

#include <string>

#include "service/response.h"

namespace scimitar::http {

// The reason phrase of RFC 9110 for `status` ("Unauthorized" for 401, ...).
const char* ReasonPhrase(int status);

// Appends the status line, headers (Date, Server, Content-Type, Content-Length, Connection, then the
// response's own, with CR and LF removed from values) and, unless `head_only`, the body to `out`.
void AppendResponse(std::string& out, const service::Response& response, bool keep_alive, bool head_only);

// "HTTP/1.1 100 Continue" with its blank line.
inline constexpr const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace scimitar::http
