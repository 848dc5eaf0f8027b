// POST /Bulk (RFC 7644 section 3.7): operations run one by one, each atomic on its own. bulkId
// references ("bulkId:x" anywhere in a path or a value) are resolved by running an operation only
// after the operations it refers to; references that can never resolve (unknown, failed, circular)
// fail that operation with a clear error.
#include <cctype>
#include <optional>
#include <set>

#include "scim/schema.h"
#include "scimitar/error.h"
#include "service/scim_service.h"

namespace scimitar::service {

using scim::ResourceKind;

namespace {

const char* const kBulkRequestUrn = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const char* const kBulkResponseUrn = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

const nlohmann::json* FindCI(const nlohmann::json& obj, const char* key) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (scim::EqualsIgnoreCase(it.key(), key)) return &it.value();
  return nullptr;
}

void CollectRefs(const nlohmann::json& v, std::set<std::string>& refs) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.rfind("bulkId:", 0) == 0) refs.insert(s.substr(7));
  } else if (v.is_structured()) {
    for (const auto& e : v) CollectRefs(e, refs);
  }
}

void Substitute(nlohmann::json& v, const std::map<std::string, std::string>& ids) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.rfind("bulkId:", 0) == 0)
      if (auto it = ids.find(s.substr(7)); it != ids.end()) v = it->second;
  } else if (v.is_structured()) {
    for (auto& e : v) Substitute(e, ids);
  }
}

struct Op {
  size_t index;
  std::string method;
  std::string bulk_id;
  std::string path;
  nlohmann::json data;
  std::optional<std::string> version;
  std::set<std::string> refs;
};

nlohmann::json ErrorBody(int status, const std::string& scim_type, const std::string& detail) {
  nlohmann::json e = {{"schemas", {scim::kErrorUrn}}, {"status", std::to_string(status)}, {"detail", detail}};
  if (!scim_type.empty()) e["scimType"] = scim_type;
  return e;
}

}  // namespace

Response ScimService::Bulk(const Tenant& t, const nlohmann::json& body, const std::string& base_url) const {
  if (!body.is_object()) throw InvalidSyntax("the Bulk body must be a JSON object");
  const nlohmann::json* schemas = FindCI(body, "schemas");
  bool ok = false;
  if (schemas && schemas->is_array())
    for (const auto& s : *schemas) ok |= s.is_string() && scim::EqualsIgnoreCase(s.get<std::string>(), kBulkRequestUrn);
  if (!ok) throw InvalidValue(std::string("'schemas' must list ") + kBulkRequestUrn);
  const nlohmann::json* ops_json = FindCI(body, "Operations");
  if (!ops_json || !ops_json->is_array()) throw InvalidValue("'Operations' must be an array");
  if (ops_json->size() > static_cast<size_t>(options_.max_bulk_operations))
    throw ScimError(413, "", "a Bulk request may hold at most " + std::to_string(options_.max_bulk_operations) +
                                 " operations; this one has " + std::to_string(ops_json->size()));
  long long fail_on_errors = 0;
  if (const nlohmann::json* f = FindCI(body, "failOnErrors"); f && !f->is_null()) {
    if (!f->is_number_integer() || f->get<long long>() < 1) throw InvalidValue("'failOnErrors' must be a positive integer");
    fail_on_errors = f->get<long long>();
  }

  std::vector<Op> pending;
  std::vector<nlohmann::json> results(ops_json->size());
  std::set<std::string> declared;
  for (size_t i = 0; i < ops_json->size(); ++i) {
    const auto& o = (*ops_json)[i];
    if (!o.is_object()) throw InvalidValue("each Bulk operation must be an object");
    Op op;
    op.index = i;
    const nlohmann::json* method = FindCI(o, "method");
    const nlohmann::json* path = FindCI(o, "path");
    if (!method || !method->is_string() || !path || !path->is_string())
      throw InvalidValue("each Bulk operation needs 'method' and 'path' strings");
    op.method = scim::ToLower(method->get<std::string>());
    op.path = path->get<std::string>();
    if (const nlohmann::json* b = FindCI(o, "bulkId"); b && b->is_string()) op.bulk_id = b->get<std::string>();
    if (const nlohmann::json* d = FindCI(o, "data")) op.data = *d;
    if (const nlohmann::json* v = FindCI(o, "version"); v && v->is_string()) op.version = v->get<std::string>();
    if (op.method == "post" && op.bulk_id.empty()) throw InvalidValue("a Bulk POST needs a 'bulkId'");
    if (!op.bulk_id.empty() && !declared.insert(op.bulk_id).second)
      throw InvalidValue("bulkId '" + op.bulk_id + "' is used twice");
    CollectRefs(op.data, op.refs);
    if (size_t at = op.path.find("/bulkId:"); at != std::string::npos) op.refs.insert(op.path.substr(at + 8));
    pending.push_back(std::move(op));
  }

  std::map<std::string, std::string> ids;  // bulkId -> created resource id
  std::set<std::string> failed;            // bulkIds whose operation failed
  long long errors = 0;
  auto record = [&](const Op& op, int status, const Response* ok_response, const nlohmann::json* error) {
    std::string method = op.method;  // as the client named it, upper-cased ("get" is not a DELETE)
    for (char& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    nlohmann::json r = {{"method", method},
                        {"status", std::to_string(status)}};
    if (!op.bulk_id.empty()) r["bulkId"] = op.bulk_id;
    if (ok_response) {
      if (auto it = ok_response->headers.find("Location"); it != ok_response->headers.end()) r["location"] = it->second;
      if (auto it = ok_response->headers.find("ETag"); it != ok_response->headers.end()) r["version"] = it->second;
    }
    if (error) r["response"] = *error;
    results[op.index] = std::move(r);
  };

  while (!pending.empty() && !(fail_on_errors && errors >= fail_on_errors)) {
    bool progressed = false;
    std::vector<Op> later;
    for (auto& op : pending) {
      if (fail_on_errors && errors >= fail_on_errors) {
        later.push_back(std::move(op));
        continue;
      }
      std::optional<std::string> blocked_by;  // a reference that can never resolve ("" included)
      bool waiting = false;
      for (const auto& ref : op.refs) {
        if (ids.count(ref)) continue;
        if (!declared.count(ref) || failed.count(ref)) blocked_by = ref;
        else waiting = true;
      }
      if (!blocked_by && waiting) {
        later.push_back(std::move(op));
        continue;
      }
      progressed = true;
      if (blocked_by) {
        std::string why = declared.count(*blocked_by)
                              ? "the operation with bulkId '" + *blocked_by + "' failed or created no resource"
                              : "no operation has bulkId '" + *blocked_by + "'";
        nlohmann::json e = ErrorBody(409, "invalidValue", why);
        record(op, 409, nullptr, &e);
        if (!op.bulk_id.empty()) failed.insert(op.bulk_id);
        ++errors;
        continue;
      }
      Substitute(op.data, ids);
      if (size_t at = op.path.find("/bulkId:"); at != std::string::npos)
        op.path = op.path.substr(0, at + 1) + ids.at(op.path.substr(at + 8));
      try {
        Response r = RunBulkOperation(t, op.method, op.path, op.data, op.version, base_url);
        if (!op.bulk_id.empty()) {  // the resource's id ends its Location
          if (auto it = r.headers.find("Location"); it != r.headers.end())
            ids[op.bulk_id] = it->second.substr(it->second.rfind('/') + 1);
          else
            failed.insert(op.bulk_id);  // a DELETE or a 204 PATCH: nothing to refer to
        }
        record(op, r.status, &r, nullptr);
      } catch (const ScimError& e) {
        nlohmann::json err = ErrorBody(e.status(), e.scim_type(), e.what());
        record(op, e.status(), nullptr, &err);
        if (!op.bulk_id.empty()) failed.insert(op.bulk_id);
        ++errors;
      }
    }
    pending = std::move(later);
    if (!progressed) {
      // Every remaining operation waits on another remaining one: a cycle.
      for (const auto& op : pending) {
        nlohmann::json e = ErrorBody(409, "invalidValue", "circular bulkId reference");
        record(op, 409, nullptr, &e);
        ++errors;
      }
      pending.clear();
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& r : results)
    if (!r.is_null()) out.push_back(std::move(r));
  Response r;
  r.SetJson({{"schemas", {kBulkResponseUrn}}, {"Operations", std::move(out)}});
  return r;
}

Response ScimService::RunBulkOperation(const Tenant& t, const std::string& method, const std::string& path,
                                       const nlohmann::json& data, const std::optional<std::string>& version,
                                       const std::string& base_url) const {
  std::string rest = path;
  if (!rest.empty() && rest[0] == '/') rest = rest.substr(1);
  size_t slash = rest.find('/');
  std::string endpoint = rest.substr(0, slash), id = slash == std::string::npos ? "" : rest.substr(slash + 1);
  ResourceKind kind;
  if (endpoint == "Users") kind = ResourceKind::User;
  else if (endpoint == "Groups") kind = ResourceKind::Group;
  else throw InvalidValue("Bulk path '" + path + "' names no resource type");
  if (id.find('/') != std::string::npos) throw InvalidValue("Bulk path '" + path + "' is malformed");
  Preconditions pre;
  pre.if_match = version;
  if (method == "post") {
    if (!id.empty()) throw InvalidValue("a Bulk POST path names the endpoint, not a resource");
    return Create(t, kind, data, base_url);
  }
  if (id.empty()) throw InvalidValue("a Bulk " + method + " path must name a resource");
  if (method == "put") return Replace(t, kind, id, data, pre, base_url);
  if (method == "patch") return Patch(t, kind, id, data, pre, ListParams{}, base_url);
  if (method == "delete") return Delete(t, kind, id, pre);
  throw InvalidValue("unknown Bulk method '" + method + "'");
}

}  // namespace scimitar::service
