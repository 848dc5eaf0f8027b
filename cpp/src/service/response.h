// A protocol-level answer: status, headers and an optional JSON body, kept as text (resources are
// rendered straight to text; see scim::Render). Plain value.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "scim/json_text.h"

namespace scimitar::service {

struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;  // JSON text; empty = no body
  // For the request log, never sent: who asked (once authenticated) and the error's scimType.
  struct Trace {
    std::string org, token_id, scim_type;
  } trace;

  void SetJson(const nlohmann::json& value) { body = scim::DumpJson(value); }
};

}  // namespace scimitar::service
