// Maps transport-neutral requests to SCIM operations: path routing, 404/405, bearer authentication,
// tenant checks, body parsing, and the single translation of ScimError into an error response; and
// the health probes.
// Immutable after construction; Dispatch is safe to call concurrently.
#pragma once

#include <map>
#include <string>

#include "scimitar/store.h"
#include "service/response.h"
#include "service/scim_service.h"

namespace scimitar::http {

struct Request {
  std::string method;
  std::string path;                           // decoded path, no query
  std::map<std::string, std::string> query;   // decoded; last value wins
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::string base;                           // scheme://host[:port] the client used
};

class Router {
 public:
  Router(Store& store, service::ServiceOptions options)
      : store_(store), max_json_depth_(options.max_json_depth), service_(store, options) {}

  // Never throws: every failure becomes a SCIM error response.
  service::Response Dispatch(const Request& request) const;

 private:
  // Fills `who` once the request is authenticated.
  service::Response Route(const Request& request, service::Response::Trace& who) const;
  // GET /healthz (the process answers) and /readyz (the database answers with the schema this build
  // expects, and a rules engine is installed): unauthenticated, no tenant data.
  service::Response Health(const Request& request) const;

  nlohmann::json ParseBody(const Request& request) const;

  Store& store_;
  int max_json_depth_;
  service::ScimService service_;
};

service::Response ErrorResponse(int status, const std::string& scim_type, const std::string& detail);

}  // namespace scimitar::http
