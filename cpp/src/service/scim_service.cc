#include "service/scim_service.h"

#include <charconv>
#include <algorithm>

#include "scim/filter.h"
#include "scim/json_text.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scimitar/error.h"

namespace scimitar::service {

using scim::ResourceKind;

namespace {

long long ParseNonNegative(const std::string& raw, const char* name, long long fallback) {
  if (raw.empty()) return fallback;
  long long v = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || end != raw.data() + raw.size())
    throw InvalidValue(std::string("'") + name + "' must be an integer");
  return v;
}

// A ListResponse around rendered resources (JSON texts), keys in nlohmann::json's order.
std::string ListResponse(long long total, long long start, const std::vector<std::string>& resources) {
  size_t size = 160;
  for (const auto& r : resources) size += r.size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"Resources\":[";
  for (size_t i = 0; i < resources.size(); ++i) {
    if (i) out += ',';
    out += resources[i];
  }
  out += "],\"itemsPerPage\":" + std::to_string(resources.size()) + ",\"schemas\":[\"" + scim::kListResponseUrn +
         "\"],\"startIndex\":" + std::to_string(start) + ",\"totalResults\":" + std::to_string(total) + "}";
  return out;
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
                               const std::string& base_url, const scim::Projection& projection,
                               const std::vector<MemberRef>* loaded_edges) const {
  std::vector<MemberRef> edges;
  const bool want_edges = WantsEdges(type, projection);
  if (want_edges && !loaded_edges) {
    auto m = type.kind == ResourceKind::Group ? store_.MembersOf(t.org_id, {row.id}) : store_.GroupsOf(t.org_id, {row.id});
    edges = std::move(m[row.id]);
    loaded_edges = &edges;
  }
  Response r;
  r.status = status;
  r.headers["ETag"] = scim::ETagOf(row.version);
  r.headers["Location"] = base_url + type.endpoint + "/" + row.id;
  r.body = scim::Render(type, row, base_url, want_edges ? loaded_edges : nullptr, projection);
  return r;
}

bool ScimService::WantsEdges(const scim::ResourceTypeDef& type, const scim::Projection& projection) {
  const scim::AttributeDef* edge_attr = type.core->Find(type.kind == ResourceKind::Group ? "members" : "groups");
  return projection.Wants(scim::ResolvedAttr{type.core, false, edge_attr, nullptr});
}

namespace {

// startIndex and count per RFC 7644 3.4.2.4: values below 1 (or 0) are clamped, count is capped.
std::pair<long long, long long> PageOf(const ListParams& p, const ServiceOptions& o) {
  long long start = ParseNonNegative(p.start_index, "startIndex", 1);
  long long count = ParseNonNegative(p.count, "count", o.default_page_size);
  return {std::max(start, 1LL), std::clamp(count, 0LL, o.max_page_size)};
}

std::optional<scim::AttrPath> SortPathOf(const std::string& sort_by) {
  if (sort_by.empty()) return std::nullopt;
  scim::AttrPath path;
  std::string s = sort_by;
  if (scim::ToLower(s).rfind("urn:", 0) == 0) {
    size_t colon = s.rfind(':');
    path.schema = s.substr(0, colon);
    s = s.substr(colon + 1);
  }
  size_t dot = s.find('.');
  path.attr = s.substr(0, dot);
  if (dot != std::string::npos) path.sub = s.substr(dot + 1);
  return path;
}

bool Descending(const std::string& sort_order) {
  std::string order = scim::ToLower(sort_order);
  if (!order.empty() && order != "ascending" && order != "descending")
    throw InvalidValue("sortOrder must be ascending or descending");
  return order == "descending";
}

}  // namespace

QueryResult ScimService::Page(const Tenant& t, ResourceKind kind, const Query& q, const scim::Projection& projection,
                              const std::string& base_url, std::vector<std::string>& out) const {
  const auto& type = *q.type;
  const bool want_edges = WantsEdges(type, projection);
  // A user's groups come with its row; a page of groups loads its members in one more query.
  Query with_groups = q;
  with_groups.user_groups = want_edges && kind == ResourceKind::User;
  QueryResult found = store_.Find(t.org_id, kind, with_groups);
  std::map<std::string, std::vector<MemberRef>> members;
  if (want_edges && kind == ResourceKind::Group && !found.rows.empty()) {
    std::vector<std::string> ids;
    for (const auto& row : found.rows) ids.push_back(row.id);
    members = store_.MembersOf(t.org_id, ids);
  }
  for (size_t i = 0; i < found.rows.size(); ++i) {
    const auto& row = found.rows[i];
    const std::vector<MemberRef>* edges = !want_edges ? nullptr
                                          : kind == ResourceKind::User ? &found.groups[i]
                                                                       : &members[row.id];
    out.push_back(scim::Render(type, row, base_url, edges, projection));
  }
  return found;
}

Response ScimService::List(const Tenant& t, ResourceKind kind, const ListParams& p, const std::string& base_url) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  auto [start, count] = PageOf(p, options_);
  scim::Filter filter = p.filter.empty() ? nullptr : scim::ParseFilter(p.filter);
  std::optional<scim::AttrPath> sort = SortPathOf(p.sort_by);
  scim::Projection projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);
  Query q;
  q.type = &type;
  q.filter = filter.get();
  q.sort_by = sort ? &*sort : nullptr;
  q.descending = Descending(p.sort_order);
  q.offset = start - 1;
  q.count = count;
  std::vector<std::string> resources;
  QueryResult found = Page(t, kind, q, projection, base_url, resources);
  Response r;
  r.body = ListResponse(found.total, start, resources);
  return r;
}

Response ScimService::SearchAll(const Tenant& t, const ListParams& p, const std::string& base_url) const {
  auto [start, count] = PageOf(p, options_);
  if (!p.sort_by.empty()) throw InvalidValue("sortBy is not supported when searching across resource types");
  scim::Filter filter = p.filter.empty() ? nullptr : scim::ParseFilter(p.filter);
  // Users come first, then Groups. A filter applies to the types whose attributes it names; it is
  // an error only when it applies to none.
  struct Part {
    ResourceKind kind;
    long long total = 0;
    bool applies = false;
  };
  std::vector<Part> parts = {{ResourceKind::User}, {ResourceKind::Group}};
  std::optional<ScimError> first_error;
  auto types = TypesFor(t);
  for (auto& part : parts) {
    Query q;
    q.type = &types->Of(part.kind);
    q.filter = filter.get();
    q.count = 0;
    try {
      part.total = store_.Find(t.org_id, part.kind, q).total;
      part.applies = true;
    } catch (const ScimError& e) {
      if (e.scim_type() != "invalidFilter") throw;
      if (!first_error) first_error = e;
    }
  }
  if (!parts[0].applies && !parts[1].applies) throw *first_error;
  std::vector<std::string> resources;
  long long skip = start - 1, want = count, total = 0;
  for (const auto& part : parts) {
    total += part.total;
    if (!part.applies || want <= 0 || skip >= part.total) {
      skip = std::max(0LL, skip - part.total);
      continue;
    }
    const auto& type = types->Of(part.kind);
    scim::Projection projection;
    try {
      projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);
    } catch (const ScimError&) {
      // attributes named for the other type only: return this type's defaults
    }
    Query q;
    q.type = &type;
    q.filter = filter.get();
    q.offset = skip;
    q.count = want;
    QueryResult found = Page(t, part.kind, q, projection, base_url, resources);
    want -= static_cast<long long>(found.rows.size());
    skip = 0;
  }
  Response r;
  r.body = ListResponse(total, start, resources);
  return r;
}

Response ScimService::Get(const Tenant& t, ResourceKind kind, const std::string& id, const ListParams& p,
                          const Preconditions& pre, const std::string& base_url) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  scim::Projection projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);
  // A user's groups come with the row (one query); a group's members are loaded only when wanted.
  std::vector<MemberRef> groups;
  const bool user_groups = kind == ResourceKind::User && WantsEdges(type, projection);
  auto row = store_.Get(t.org_id, kind, id, user_groups ? &groups : nullptr);
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
  return Resource(type, t, *row, 200, base_url, projection, user_groups ? &groups : nullptr);
}

Response ScimService::Create(const Tenant& t, ResourceKind kind, const nlohmann::json& body, const std::string& base_url) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  scim::NormalizedResource n = scim::Normalize(type, Transformed(t, type, body), /*require_schemas=*/true);
  ResourceRow row = store_.Create(t.org_id, kind, n.doc, n.members.value_or(std::vector<std::string>{}));
  return Resource(type, t, row, 201, base_url, scim::Projection{});
}

nlohmann::json ScimService::Transformed(const Tenant& t, const scim::ResourceTypeDef& type,
                                       const nlohmann::json& body) const {
  std::shared_ptr<DecisionMaker> rules = store_.decision_maker();
  if (!rules || !rules->HasTransforms(t.slug, type.name)) return body;
  return rules->Transform(t.slug, type.name, body, store_.Settings(t.org_id));
}

Response ScimService::Modify(const Tenant& t, const scim::ResourceTypeDef& type, const std::string& id,
                             const Preconditions& pre, const std::string& base_url, const Store::Mutation& mutate) const {
  ResourceRow row = store_.Modify(t.org_id, type.kind, id, ExpectedVersion(pre.if_match), mutate);
  return Resource(type, t, row, 200, base_url, scim::Projection{});
}

Response ScimService::Replace(const Tenant& t, ResourceKind kind, const std::string& id, const nlohmann::json& body,
                              const Preconditions& pre, const std::string& base_url) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  scim::NormalizedResource n = scim::Normalize(type, Transformed(t, type, body), /*require_schemas=*/true);
  MemberChanges members;
  if (kind == ResourceKind::Group) {
    members.replace_all = true;
    members.add = n.members.value_or(std::vector<std::string>{});
  }
  return Modify(t, type, id, pre, base_url, [&](const ResourceRow&) {
    return std::make_pair(n.doc, members);
  });
}

Response ScimService::Patch(const Tenant& t, ResourceKind kind, const std::string& id, const nlohmann::json& body,
                            const Preconditions& pre, const ListParams& p, const std::string& base_url) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  scim::Projection projection = scim::ParseProjection(type, p.attributes, p.excluded_attributes);
  ResourceRow row = store_.Modify(t.org_id, kind, id, ExpectedVersion(pre.if_match), [&](const ResourceRow& current) {
    scim::PatchOutcome out = scim::ApplyPatch(type, id, current.doc(), body,
                                                     static_cast<size_t>(options_.max_patch_operations));
    scim::NormalizedResource n = scim::Normalize(type, out.doc, /*require_schemas=*/false);
    return std::make_pair(n.doc, out.members);
  });
  // A group's member list can be huge: unless the client asks for a projection, answer 204 (RFC 7644
  // 3.5.2) rather than load every member to echo the resource.
  if (kind == ResourceKind::Group && p.attributes.empty() && p.excluded_attributes.empty()) {
    Response r;
    r.status = 204;
    r.headers["ETag"] = scim::ETagOf(row.version);
    return r;
  }
  return Resource(type, t, row, 200, base_url, projection);
}

Response ScimService::Delete(const Tenant& t, ResourceKind kind, const std::string& id, const Preconditions& pre) const {
  store_.Delete(t.org_id, kind, id, ExpectedVersion(pre.if_match));
  Response r;
  r.status = 204;
  return r;
}

Response ScimService::ServiceProviderConfig(const std::string& base_url) const {
  Response r;
  r.SetJson({
      {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
      {"documentationUri", "https://pypi.org/project/scimitar/"},
      {"patch", {{"supported", true}}},
      {"bulk",
       {{"supported", true},
        {"maxOperations", options_.max_bulk_operations},
        {"maxPayloadSize", options_.max_body_bytes}}},
      {"filter", {{"supported", true}, {"maxResults", options_.max_page_size}}},
      {"changePassword", {{"supported", false}}},
      {"sort", {{"supported", true}}},
      {"etag", {{"supported", true}}},
      {"authenticationSchemes",
       {{{"type", "oauthbearertoken"},
         {"name", "OAuth Bearer Token"},
         {"description", "Authentication with a bearer token created by 'scimitar token create'"},
         {"primary", true}}}},
      {"meta", {{"resourceType", "ServiceProviderConfig"}, {"location", base_url + "/ServiceProviderConfig"}}}});
  return r;
}

namespace {

// One discovery document by id, or all of them as a ListResponse.
template <typename Def, typename IdOf, typename ToJson>
Response Discovery(const std::vector<const Def*>& all, const std::string& id, IdOf id_of, ToJson to_json,
                   const std::string& what) {
  Response r;
  if (!id.empty()) {
    for (const auto* d : all)
      if (id_of(*d) == id) {
        r.SetJson(to_json(*d));
        return r;
      }
    throw NotFound(what + " '" + id + "' not found");
  }
  std::vector<std::string> list;
  for (const auto* d : all) list.push_back(scim::DumpJson(to_json(*d)));
  r.body = ListResponse(static_cast<long long>(list.size()), 1, list);
  return r;
}

}  // namespace

Response ScimService::Schemas(const Tenant& t, const std::string& base_url, const std::string& id) const {
  auto types = TypesFor(t);
  return Discovery<scim::SchemaDef>(
      types->Schemas(), id,
      [](const scim::SchemaDef& s) { return s.id; },
      [&](const scim::SchemaDef& s) { return scim::SchemaToJson(s, base_url); }, "schema");
}

Response ScimService::ResourceTypes(const Tenant& t, const std::string& base_url, const std::string& id) const {
  auto types = TypesFor(t);
  return Discovery<scim::ResourceTypeDef>(
      {&types->Of(ResourceKind::User), &types->Of(ResourceKind::Group)}, id, [](const scim::ResourceTypeDef& t) { return t.name; },
      [&](const scim::ResourceTypeDef& t) { return scim::ResourceTypeToJson(t, base_url); }, "resource type");
}

}  // namespace scimitar::service
