// A protocol-level answer: status, headers and an optional JSON body, kept as text (resources are
// rendered straight to text; see scim::Render). Plain value.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace scimitar::service {

struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;  // JSON text; empty = no body

  void SetJson(const nlohmann::json& value) { body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
};

}  // namespace scimitar::service
