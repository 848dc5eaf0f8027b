// Bulk import of users or groups for data teams: every row goes through the same transform rules,
// validation, storage and decision recomputation as a SCIM write. Rows are matched to stored
// resources by a key (externalId or userName/displayName); a row equal to what is stored changes
// nothing, so importing a file twice is idempotent. Every row is committed on its own, so an
// interrupted import leaves only whole rows, and running it again completes it.
#include <algorithm>

#include "scim/filter.h"
#include "scim/resource.h"
#include "scimitar/error.h"
#include "service/scim_service.h"

namespace scimitar::service {

using scim::ResourceKind;

nlohmann::json ScimService::Import(const Tenant& t, ResourceKind kind, const nlohmann::json& rows, const std::string& key,
                                   bool dry_run) const {
  const auto& type = scim::TypeOf(kind);
  const std::string name_attr = kind == ResourceKind::User ? "userName" : "displayName";
  if (key != "externalId" && key != name_attr)
    throw InvalidValue("the import key must be externalId or " + name_attr);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& item : rows) {
    nlohmann::json result = {{"line", item.value("line", 0)}};
    try {
      nlohmann::json body = item.at("resource");
      if (body.is_object() && !body.contains("schemas")) body["schemas"] = {type.core->id};
      scim::NormalizedResource n = scim::Normalize(type, Transformed(t, type, body), /*require_schemas=*/true);
      auto value = n.doc.find(key);
      if (value == n.doc.end() || !value->is_string() || value->get<std::string>().empty())
        throw InvalidValue("the row has no " + key);
      scim::FilterNode match;
      match.path.attr = key;
      match.op = scim::CompareOp::Eq;
      match.value = *value;
      Query q;
      q.filter = &match;
      q.count = 2;
      QueryResult found = store_.Find(t.org_id, kind, q);
      if (found.total > 1) throw Uniqueness(key + " '" + value->get<std::string>() + "' matches several resources");
      MemberChanges members;
      if (n.members) {
        members.replace_all = true;
        members.add = *n.members;
      }
      if (found.rows.empty()) {
        result["status"] = "created";
        if (!dry_run) result["id"] = store_.Create(t.org_id, kind, n.doc, n.members.value_or(std::vector<std::string>{})).id;
      } else {
        const ResourceRow& current = found.rows[0];
        result["id"] = current.id;
        bool same_members = true;
        if (n.members) {
          std::vector<std::string> now;
          auto edges = store_.MembersOf(t.org_id, {current.id});  // keep the map alive while iterating
          for (const auto& m : edges[current.id]) now.push_back(m.id);
          std::vector<std::string> want = *n.members;
          std::sort(now.begin(), now.end());
          std::sort(want.begin(), want.end());
          want.erase(std::unique(want.begin(), want.end()), want.end());
          same_members = now == want;
        }
        if (current.doc == n.doc && same_members) {
          result["status"] = "unchanged";
        } else {
          result["status"] = "updated";
          if (!dry_run)
            store_.Modify(t.org_id, kind, current.id, current.version, [&](const ResourceRow&) {
              return std::make_pair(n.doc, members);
            });
        }
      }
    } catch (const ScimError& e) {
      result["status"] = "rejected";
      result["error"] = e.what();
    } catch (const nlohmann::json::exception& e) {
      result["status"] = "rejected";
      result["error"] = std::string("malformed row: ") + e.what();
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace scimitar::service
