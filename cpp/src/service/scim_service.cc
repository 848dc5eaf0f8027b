#include "service/scim_service.h"

#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scimitar/error.h"

namespace scimitar::service {

using scim::ResourceKind;

namespace {

long long ParseNonNegative(const std::string& raw, const char* name, long long fallback) {
  if (raw.empty()) return fallback;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(raw, &used);
  } catch (...) {
    used = 0;
  }
  if (used != raw.size()) throw InvalidValue(std::string("'") + name + "' must be an integer");
  return v;
}

nlohmann::json ListResponse(long long total, long long start, nlohmann::json resources) {
  return {{"schemas", {scim::kListResponseUrn}},
          {"totalResults", total},
          {"startIndex", start},
          {"itemsPerPage", resources.size()},
          {"Resources", std::move(resources)}};
}

// Parses a version out of W/"n" or "n"; nullopt if it is not one of ours.
std::optional<long long> VersionOf(std::string tag) {
  if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
  if (tag.size() < 3 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
  tag = tag.substr(1, tag.size() - 2);
  if (tag.empty() || tag.find_first_not_of("0123456789") != std::string::npos || tag.size() > 18) return std::nullopt;
  return std::stoll(tag);
}

}  // namespace

std::optional<long long> ExpectedVersion(const std::optional<std::string>& if_match) {
  if (!if_match) return std::nullopt;
  std::string v = *if_match;
  v.erase(0, v.find_first_not_of(' '));
  v.erase(v.find_last_not_of(' ') + 1);
  if (v == "*") return std::nullopt;
  auto version = VersionOf(v);
  if (!version) throw PreconditionFailed("If-Match '" + *if_match + "' does not match the current version");
  return version;
}

Response ScimService::Resource(const scim::ResourceTypeDef& type, const Tenant& t, const ResourceRow& row, int status,
                               const std::string& base_url, const scim::Projection& projection) const {
  std::vector<MemberRef> edges;
  const scim::AttributeDef* edge_attr = type.core->Find(type.kind == ResourceKind::Group ? "members" : "groups");
  const bool want_edges = projection.Wants(scim::ResolvedAttr{type.core, false, edge_attr, nullptr});
  if (want_edges) {
    auto m = type.kind == ResourceKind::Group ? store_.MembersOf(t.org_id, {row.id}) : store_.GroupsOf(t.org_id, {row.id});
    edges = std::move(m[row.id]);
  }
  Response r;
  r.status = status;
  r.body = scim::Render(type, row, base_url, want_edges ? &edges : nullptr, projection);
  r.headers["ETag"] = scim::ETagOf(row.version);
  r.headers["Location"] = base_url + type.endpoint + "/" + row.id;
  return r;
}

Response ScimService::List(const Tenant& t, ResourceKind kind, const ListParams& p, const std::string& base_url) const {
  const auto& type = scim::TypeOf(kind);
  long long start = ParseNonNegative(p.start_index, "startIndex", 1);
  if (start < 1) start = 1;  // RFC 7644 3.4.2.4: values below 1 are interpreted as 1
  long long count = ParseNonNegative(p.count, "count", options_.default_page_size);
  if (count < 0) count = 0;
  if (count > options_.max_page_size) count = options_.max_page_size;
  scim::Filter filter;
  if (!p.filter.empty()) filter = scim::ParseFilter(p.filter);
  scim::AttrPath sort_path;
  if (!p.sort_by.empty()) {
    std::string s = p.sort_by;
    if (scim::ToLower(s).rfind("urn:", 0) == 0) {
      size_t colon = s.rfind(':');
      sort_path.schema = s.substr(0, colon);
      s = s.substr(colon + 1);
    }
    size_t dot = s.find('.');
    sort_path.attr = s.substr(0, dot);
    if (dot != std::string::npos) sort_path.sub = s.substr(dot + 1);
  }
  std::string order = scim::ToLower(p.sort_order);
  if (!order.empty() && order != "ascending" && order != "descending")
    throw InvalidValue("sortOrder must be ascending or descending");
  scim::Projection projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);

  Query q;
  q.filter = filter.get();
  q.sort_by = p.sort_by.empty() ? nullptr : &sort_path;
  q.descending = order == "descending";
  q.offset = start - 1;
  q.count = count;
  QueryResult found = store_.Find(t.org_id, kind, q);

  const scim::AttributeDef* edge_attr = type.core->Find(kind == ResourceKind::Group ? "members" : "groups");
  const bool want_edges = projection.Wants(scim::ResolvedAttr{type.core, false, edge_attr, nullptr});
  std::map<std::string, std::vector<MemberRef>> edges;
  if (want_edges && !found.rows.empty()) {
    std::vector<std::string> ids;
    for (const auto& row : found.rows) ids.push_back(row.id);
    edges = kind == ResourceKind::Group ? store_.MembersOf(t.org_id, ids) : store_.GroupsOf(t.org_id, ids);
  }
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& row : found.rows)
    resources.push_back(scim::Render(type, row, base_url, want_edges ? &edges[row.id] : nullptr, projection));
  Response r;
  r.body = ListResponse(found.total, start, std::move(resources));
  return r;
}

Response ScimService::Get(const Tenant& t, ResourceKind kind, const std::string& id, const ListParams& p,
                          const Preconditions& pre, const std::string& base_url) const {
  const auto& type = scim::TypeOf(kind);
  scim::Projection projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);
  auto row = store_.Get(t.org_id, kind, id);
  if (!row) throw NotFound(type.name + " '" + id + "' not found");
  if (pre.if_none_match) {
    auto v = VersionOf(*pre.if_none_match);
    if (*pre.if_none_match == "*" || (v && *v == row->version)) {
      Response r;
      r.status = 304;
      r.headers["ETag"] = scim::ETagOf(row->version);
      return r;
    }
  }
  return Resource(type, t, *row, 200, base_url, projection);
}

Response ScimService::Create(const Tenant& t, ResourceKind kind, const nlohmann::json& body, const std::string& base_url) const {
  const auto& type = scim::TypeOf(kind);
  scim::NormalizedResource n = scim::Normalize(type, body, /*require_schemas=*/true);
  ResourceRow row = store_.Create(t.org_id, kind, n.doc, n.members.value_or(std::vector<std::string>{}));
  return Resource(type, t, row, 201, base_url, scim::Projection{});
}

template <typename Mutate>
Response ScimService::UpdateWithRetry(const Tenant& t, ResourceKind kind, const std::string& id, const Preconditions& pre,
                                      const std::string& base_url, Mutate mutate) const {
  const auto& type = scim::TypeOf(kind);
  const std::optional<long long> expected = ExpectedVersion(pre.if_match);
  // Without If-Match, a concurrent writer makes our read stale: re-read and re-apply (bounded).
  for (int attempt = 0;; ++attempt) {
    auto current = store_.Get(t.org_id, kind, id);
    if (!current) throw NotFound(type.name + " '" + id + "' not found");
    if (expected && *expected != current->version)
      throw PreconditionFailed("If-Match " + scim::ETagOf(*expected) + " is not the current version " +
                               scim::ETagOf(current->version));
    auto [doc, members] = mutate(*current);
    try {
      ResourceRow row = store_.Update(t.org_id, kind, id, doc, current->version, members);
      return Resource(type, t, row, 200, base_url, scim::Projection{});
    } catch (const ScimError& e) {
      if (e.status() != 412 || expected || attempt >= 8) throw;
    }
  }
}

Response ScimService::Replace(const Tenant& t, ResourceKind kind, const std::string& id, const nlohmann::json& body,
                              const Preconditions& pre, const std::string& base_url) const {
  const auto& type = scim::TypeOf(kind);
  scim::NormalizedResource n = scim::Normalize(type, body, /*require_schemas=*/true);
  MemberChanges members;
  if (kind == ResourceKind::Group) {
    members.replace_all = true;
    members.add = n.members.value_or(std::vector<std::string>{});
  }
  return UpdateWithRetry(t, kind, id, pre, base_url, [&](const ResourceRow&) {
    return std::make_pair(n.doc, members);
  });
}

Response ScimService::Patch(const Tenant& t, ResourceKind kind, const std::string& id, const nlohmann::json& body,
                            const Preconditions& pre, const std::string& base_url) const {
  const auto& type = scim::TypeOf(kind);
  return UpdateWithRetry(t, kind, id, pre, base_url, [&](const ResourceRow& current) {
    scim::PatchOutcome out = scim::ApplyPatch(type, id, current.doc, body);
    scim::NormalizedResource n = scim::Normalize(type, out.doc, /*require_schemas=*/false);
    return std::make_pair(n.doc, out.members);
  });
}

Response ScimService::Delete(const Tenant& t, ResourceKind kind, const std::string& id, const Preconditions& pre) const {
  store_.Delete(t.org_id, kind, id, ExpectedVersion(pre.if_match));
  Response r;
  r.status = 204;
  return r;
}

Response ScimService::ServiceProviderConfig(const std::string& base_url) const {
  Response r;
  r.body = {
      {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
      {"documentationUri", "https://pypi.org/project/scimitar/"},
      {"patch", {{"supported", true}}},
      {"bulk", {{"supported", false}, {"maxOperations", 0}, {"maxPayloadSize", 0}}},
      {"filter", {{"supported", true}, {"maxResults", options_.max_page_size}}},
      {"changePassword", {{"supported", false}}},
      {"sort", {{"supported", true}}},
      {"etag", {{"supported", true}}},
      {"authenticationSchemes",
       {{{"type", "oauthbearertoken"},
         {"name", "OAuth Bearer Token"},
         {"description", "Authentication with a bearer token created by 'scimitar token create'"},
         {"primary", true}}}},
      {"meta", {{"resourceType", "ServiceProviderConfig"}, {"location", base_url + "/ServiceProviderConfig"}}}};
  return r;
}

Response ScimService::Schemas(const std::string& base_url, const std::string& id) const {
  std::vector<const scim::SchemaDef*> all = {&scim::UserSchema(), &scim::EnterpriseUserSchema(), &scim::GroupSchema()};
  Response r;
  if (!id.empty()) {
    for (const auto* s : all)
      if (s->id == id) {
        r.body = scim::SchemaToJson(*s, base_url);
        return r;
      }
    throw NotFound("schema '" + id + "' not found");
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto* s : all) list.push_back(scim::SchemaToJson(*s, base_url));
  r.body = ListResponse(static_cast<long long>(list.size()), 1, list);
  return r;
}

Response ScimService::ResourceTypes(const std::string& base_url, const std::string& id) const {
  std::vector<const scim::ResourceTypeDef*> all = {&scim::UserType(), &scim::GroupType()};
  Response r;
  if (!id.empty()) {
    for (const auto* t : all)
      if (t->name == id) {
        r.body = scim::ResourceTypeToJson(*t, base_url);
        return r;
      }
    throw NotFound("resource type '" + id + "' not found");
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto* t : all) list.push_back(scim::ResourceTypeToJson(*t, base_url));
  r.body = ListResponse(static_cast<long long>(list.size()), 1, list);
  return r;
}

}  // namespace scimitar::service
