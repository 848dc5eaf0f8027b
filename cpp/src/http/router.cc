#include "http/router.h"

#include <iostream>
#include <optional>
#include <vector>

#include "scim/json_text.h"
#include "scim/schema.h"
#include "scimitar/error.h"

namespace scimitar::http {

using service::Response;

Response ErrorResponse(int status, const std::string& scim_type, const std::string& detail) {
  Response r;
  r.status = status;
  nlohmann::json body = {{"schemas", {scim::kErrorUrn}}, {"status", std::to_string(status)}, {"detail", detail}};
  if (!scim_type.empty()) body["scimType"] = scim_type;
  r.SetJson(body);
  r.trace.scim_type = scim_type;
  if (status == 401) r.headers["WWW-Authenticate"] = "Bearer realm=\"scimitar\"";
  return r;
}

namespace {

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string Header(const Request& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

std::string Param(const Request& r, const std::string& name) {
  // Query parameter names are case-insensitive in practice (IdPs send "startIndex" and "startindex").
  for (const auto& [k, v] : r.query)
    if (scim::EqualsIgnoreCase(k, name)) return v;
  return {};
}

service::ListParams ListParamsOf(const Request& r) {
  return {Param(r, "filter"), Param(r, "sortBy"),     Param(r, "sortOrder"),         Param(r, "startIndex"),
          Param(r, "count"),  Param(r, "attributes"), Param(r, "excludedAttributes")};
}

// Reads a POST /.search body into list parameters (RFC 7644 section 3.4.3).
service::ListParams SearchParamsOf(const nlohmann::json& body) {
  if (!body.is_object()) throw InvalidSyntax("the search body must be a JSON object");
  service::ListParams p;
  auto text = [&](const char* key) -> std::string {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (scim::EqualsIgnoreCase(it.key(), key)) {
        if (it->is_string()) return it->get<std::string>();
        if (it->is_number_integer()) return std::to_string(it->get<long long>());
        if (it->is_array()) {
          std::string joined;
          for (const auto& e : *it)
            if (e.is_string()) joined += (joined.empty() ? "" : ",") + e.get<std::string>();
          return joined;
        }
        throw InvalidValue(std::string("'") + key + "' has the wrong type");
      }
    return {};
  };
  p.filter = text("filter");
  p.sort_by = text("sortBy");
  p.sort_order = text("sortOrder");
  p.start_index = text("startIndex");
  p.count = text("count");
  p.attributes = text("attributes");
  p.excluded_attributes = text("excludedAttributes");
  return p;
}

Response MethodNotAllowed(const std::string& allow) {
  Response r = ErrorResponse(405, "", "method not allowed; allowed: " + allow);
  r.headers["Allow"] = allow;
  return r;
}

}  // namespace

nlohmann::json Router::ParseBody(const Request& r) const {
  std::string type = scim::ToLower(Header(r, "content-type"));
  if (!type.empty() && type.find("application/scim+json") == std::string::npos &&
      type.find("application/json") == std::string::npos)
    throw ScimError(415, "invalidSyntax", "Content-Type must be application/scim+json or application/json");
  return scim::ParseUntrusted(r.body, max_json_depth_);
}

Response Router::Dispatch(const Request& request) const {
  Response::Trace who;
  Response r;
  try {
    r = Route(request, who);
  } catch (const ScimError& e) {
    r = ErrorResponse(e.status(), e.scim_type(), e.what());
  } catch (const std::exception& e) {
    if (std::optional<std::string> reason = store_.UnavailableReason(e)) {
      r = ErrorResponse(503, "", *reason + "; retry later");
      r.headers["Retry-After"] = "2";
    } else {
      // Internals (SQL text, say) go to the operator's log, not to the client.
      std::cerr << "scimitar: internal error answering " << request.method << ' ' << request.path << ": "
                << e.what() << std::endl;
      r = ErrorResponse(500, "", "internal error");
    }
  }
  r.trace.org = std::move(who.org);
  r.trace.token_id = std::move(who.token_id);
  return r;
}

Response Router::Health(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") return MethodNotAllowed("GET");
  Response r;
  if (request.path == "/healthz") {
    r.SetJson({{"status", "ok"}});
    return r;
  }
  std::optional<std::string> why = store_.NotReady();
  if (!why && !store_.decision_maker()) why = "no rules engine is installed";
  if (why) {
    r.status = 503;
    r.headers["Retry-After"] = "2";
    r.SetJson({{"status", "unready"}, {"reason", *why}});
  } else {
    r.SetJson({{"status", "ready"}});
  }
  return r;
}

Response Router::Route(const Request& request, Response::Trace& who) const {
  if (request.path == "/healthz" || request.path == "/readyz") return Health(request);
  std::vector<std::string> seg = Segments(request.path);
  std::string slug, prefix;
  size_t at = 0;
  if (seg.size() >= 2 && seg[0] == "scim" && seg[1] == "v2") {
    prefix = "/scim/v2";
    at = 2;
  } else if (seg.size() >= 4 && seg[0] == "o" && seg[2] == "scim" && seg[3] == "v2") {
    slug = seg[1];
    prefix = "/o/" + slug + "/scim/v2";
    at = 4;
  } else {
    throw NotFound("no such endpoint: " + request.path);
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(at), seg.end());
  if (rest.empty() || rest.size() > 2) throw NotFound("no such endpoint: " + request.path);
  const std::string& endpoint = rest[0];
  const std::string id = rest.size() == 2 ? rest[1] : "";
  const std::string& m = request.method;

  enum class Target { Config, Schemas, Types, Users, Groups, Search, Bulk } target;
  std::string allow;
  if (endpoint == "ServiceProviderConfig" && id.empty()) target = Target::Config, allow = "GET";
  else if (endpoint == "Schemas") target = Target::Schemas, allow = "GET";
  else if (endpoint == "ResourceTypes") target = Target::Types, allow = "GET";
  else if (endpoint == ".search" && id.empty()) target = Target::Search, allow = "POST";
  else if (endpoint == "Bulk" && id.empty()) target = Target::Bulk, allow = "POST";
  else if (endpoint == "Users" || endpoint == "Groups") {
    target = endpoint == "Users" ? Target::Users : Target::Groups;
    allow = id.empty() ? "GET, POST" : id == ".search" ? "POST" : "GET, PUT, PATCH, DELETE";
  } else {
    throw NotFound("no such endpoint: " + request.path);
  }
  if (allow.find(m) == std::string::npos || m.empty()) return MethodNotAllowed(allow);

  // Authentication, then the organization's SCIM switch.
  std::string auth = Header(request, "authorization");
  if (auth.size() < 7 || !scim::EqualsIgnoreCase(auth.substr(0, 7), "Bearer "))
    throw Unauthorized("a bearer token is required");
  std::string token = auth.substr(7);
  token.erase(0, token.find_first_not_of(' '));
  token.erase(token.find_last_not_of(' ') + 1);
  std::optional<Tenant> tenant = store_.Authenticate(token);
  if (!tenant || (!slug.empty() && slug != tenant->slug)) throw Unauthorized("the bearer token is not valid here");
  who.org = tenant->slug;
  who.token_id = tenant->token_id;
  if (!tenant->scim_sync)
    throw ScimError(403, "", "SCIM sync is disabled for organization '" + tenant->slug +
                                 "' (scimitar org set " + tenant->slug + " scim_sync=on enables it)");

  const std::string base = request.base + prefix;
  switch (target) {
    case Target::Config: return service_.ServiceProviderConfig(base);
    case Target::Schemas: return service_.Schemas(*tenant, base, id);
    case Target::Types: return service_.ResourceTypes(*tenant, base, id);
    case Target::Search: return service_.SearchAll(*tenant, SearchParamsOf(ParseBody(request)), base);
    case Target::Bulk: return service_.Bulk(*tenant, ParseBody(request), base);
    case Target::Users:
    case Target::Groups: break;
  }
  const auto kind = target == Target::Users ? scim::ResourceKind::User : scim::ResourceKind::Group;
  service::Preconditions pre;
  if (auto h = request.headers.find("if-match"); h != request.headers.end()) pre.if_match = h->second;
  if (auto h = request.headers.find("if-none-match"); h != request.headers.end()) pre.if_none_match = h->second;

  if (id.empty()) {
    if (m == "GET") return service_.List(*tenant, kind, ListParamsOf(request), base);
    return service_.Create(*tenant, kind, ParseBody(request), base);
  }
  if (id == ".search") return service_.List(*tenant, kind, SearchParamsOf(ParseBody(request)), base);
  if (m == "GET") return service_.Get(*tenant, kind, id, ListParamsOf(request), pre, base);
  if (m == "PUT") return service_.Replace(*tenant, kind, id, ParseBody(request), pre, base);
  if (m == "PATCH") return service_.Patch(*tenant, kind, id, ParseBody(request), pre, ListParamsOf(request), base);
  return service_.Delete(*tenant, kind, id, pre);
}

}  // namespace scimitar::http
