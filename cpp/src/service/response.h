// A protocol-level answer: status, headers and an optional JSON body. Plain value.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace scimitar::service {

struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  nlohmann::json body;  // null = no body
};

}  // namespace scimitar::service
