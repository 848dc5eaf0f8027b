#include "service/import_references.h"

#include <algorithm>
#include <map>
#include <set>

#include "scim/resource.h"
#include "scimitar/error.h"

namespace scimitar::service {

using scim::ResourceKind;

namespace {

std::string NonEmptyString(const nlohmann::json& v, const std::string& what) {
  if (!v.is_string() || v.get<std::string>().empty()) throw InvalidValue(what + " must be a non-empty string");
  scim::RejectControlCharacters(v.get<std::string>(), what);
  return v.get<std::string>();
}

// The key under which `obj` holds `name`, compared case-insensitively (attribute names are).
nlohmann::json::iterator FindIgnoringCase(nlohmann::json& obj, const std::string& name) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (scim::EqualsIgnoreCase(it.key(), name)) return it;
  return obj.end();
}

}  // namespace

ImportReferences TakeReferences(ResourceKind kind, nlohmann::json& body) {
  ImportReferences refs;
  if (!body.is_object()) return refs;
  if (kind == ResourceKind::User) {
    if (auto g = FindIgnoringCase(body, "groups"); g != body.end()) {
      if (!g->is_null() && !g->is_array()) throw InvalidValue("'groups' of an imported user is a list of group displayNames");
      for (const auto& item : g->is_array() ? *g : nlohmann::json::array()) {
        const nlohmann::json* name = &item;
        if (item.is_object()) {
          // A SCIM User's groups (from another system's export) name indirect memberships too: those
          // follow from nested groups, and are not memberships to add.
          if (auto type = item.find("type"); type != item.end() && type->is_string() && *type != "direct") continue;
          auto d = item.find("display");
          if (d == item.end()) throw InvalidValue("a group of an imported user is named by its displayName ('display')");
          name = &*d;
        }
        refs.groups.push_back(NonEmptyString(*name, "a group name"));
      }
      body.erase(g);
    }
    if (auto ext = FindIgnoringCase(body, scim::kEnterpriseUrn); ext != body.end() && ext->is_object()) {
      if (auto m = FindIgnoringCase(*ext, "manager"); m != ext->end() && m->is_object()) {
        if (auto u = FindIgnoringCase(*m, "userName"); u != m->end()) {
          if (m->contains("value")) throw InvalidValue("a manager is named by 'value' (its id) or 'userName', not both");
          nlohmann::json manager = *m;
          manager.erase(u.key());
          manager["userName"] = NonEmptyString(*u, "the manager's userName");
          refs.manager = std::move(manager);
          ext->erase(m);
        }
      }
    }
    return refs;
  }
  if (auto members = FindIgnoringCase(body, "members"); members != body.end() && members->is_array()) {
    nlohmann::json by_id = nlohmann::json::array();
    for (auto& item : *members) {
      if (!item.is_object() || item.contains("value")) {
        by_id.push_back(std::move(item));
        continue;
      }
      auto u = FindIgnoringCase(item, "userName");
      auto e = FindIgnoringCase(item, "externalId");
      if ((u == item.end()) == (e == item.end()))
        throw InvalidValue("a member is named by one of 'value' (its id), 'userName' or 'externalId'");
      if (u != item.end()) refs.members.emplace_back("userName", NonEmptyString(*u, "a member's userName"));
      else refs.members.emplace_back("externalId", NonEmptyString(*e, "a member's externalId"));
    }
    *members = std::move(by_id);
  }
  return refs;
}

NameIndex LookUpNames(Store& store, long long org_id, const std::vector<const ImportReferences*>& refs) {
  std::vector<std::string> names, external_ids;
  for (const auto* r : refs) {
    if (r->manager) names.push_back(r->manager->at("userName").get<std::string>());
    for (const auto& [attr, value] : r->members) (attr == "userName" ? names : external_ids).push_back(value);
  }
  NameIndex index;
  for (const auto& row : store.FindByKey(org_id, ResourceKind::User, /*by_name=*/true, names))
    index.by_user_name[scim::ToLower(row.doc().value("userName", ""))] = row.id;
  for (const auto& row : store.FindByKey(org_id, ResourceKind::User, /*by_name=*/false, external_ids))
    index.by_external_id[row.doc().value("externalId", "")] = row.id;
  return index;
}

std::optional<nlohmann::json> ResolvedManager(const nlohmann::json& manager, const NameIndex& names) {
  auto found = names.by_user_name.find(scim::ToLower(manager.at("userName").get<std::string>()));
  if (found == names.by_user_name.end()) return std::nullopt;
  nlohmann::json out = manager;
  out.erase("userName");
  out["value"] = found->second;
  return out;
}

std::pair<size_t, size_t> AddToNamedGroups(Store& store, long long org_id,
                                           const std::vector<std::pair<std::string, std::vector<std::string>>>& wanted) {
  // folded group name -> (the name as first written, the users to add)
  std::map<std::string, std::pair<std::string, std::set<std::string>>> by_group;
  for (const auto& [user, groups] : wanted)
    for (const auto& g : groups) {
      auto& entry = by_group[scim::ToLower(g)];
      if (entry.first.empty()) entry.first = g;
      entry.second.insert(user);
    }
  if (by_group.empty()) return {0, 0};
  std::vector<std::string> names;
  for (const auto& [folded, _] : by_group) names.push_back(folded);
  std::map<std::string, std::string> existing;  // folded name -> group id (the first, should several share it)
  for (const auto& row : store.FindByKey(org_id, ResourceKind::Group, /*by_name=*/true, names))
    existing.emplace(scim::ToLower(row.doc().value("displayName", "")), row.id);
  // The groups the users already are in (one query for the batch's users, not the groups' whole
  // memberships, which grow with every batch of an "All staff" import).
  std::vector<std::string> users;
  for (const auto& [user, _] : wanted) users.push_back(user);
  std::set<std::pair<std::string, std::string>> member_of;  // (group id, user id)
  for (const auto& [user, groups] : store.GroupsOf(org_id, users))
    for (const auto& g : groups) member_of.emplace(g.id, user);

  size_t added = 0, created = 0;
  for (auto& [folded, entry] : by_group) {
    auto found = existing.find(folded);
    if (found == existing.end()) {
      const nlohmann::json doc = {{"schemas", {scim::kGroupUrn}}, {"displayName", entry.first}};
      const std::vector<std::string> first_members(entry.second.begin(), entry.second.end());
      try {
        store.Create(org_id, ResourceKind::Group, scim::Normalize(scim::GroupType(), doc, true).doc, first_members);
        ++created;
        added += first_members.size();
        continue;
      } catch (const ScimError& e) {
        if (e.status() != 409) throw;  // created by another writer meanwhile: add to it below
        auto again = store.FindByKey(org_id, ResourceKind::Group, /*by_name=*/true, {folded});
        if (again.empty()) throw;
        found = existing.emplace(folded, again[0].id).first;
      }
    }
    MemberChanges changes;
    for (const auto& u : entry.second)
      if (!member_of.count({found->second, u})) changes.add.push_back(u);
    if (changes.add.empty()) continue;
    store.Modify(org_id, ResourceKind::Group, found->second, std::nullopt,
                 [&](const ResourceRow& current) { return std::make_pair(current.doc(), changes); });
    added += changes.add.size();
  }
  return {added, created};
}

std::vector<std::pair<long long, std::string>> ResolveManagers(Store& store, long long org_id, bool key_by_name,
                                                               const std::vector<ManagerLater>& later) {
  std::vector<std::pair<long long, std::string>> problems;
  for (size_t at = 0; at < later.size(); at += 500) {
    const size_t end = std::min(later.size(), at + 500);
    std::vector<std::string> keys;
    std::vector<ImportReferences> refs(end - at);
    std::vector<const ImportReferences*> ptrs;
    for (size_t i = at; i < end; ++i) {
      keys.push_back(later[i].key);
      refs[i - at].manager = later[i].manager;
      ptrs.push_back(&refs[i - at]);
    }
    const NameIndex names = LookUpNames(store, org_id, ptrs);
    std::map<std::string, const ResourceRow*> reports;
    auto rows = store.FindByKey(org_id, ResourceKind::User, key_by_name, keys);
    for (const auto& row : rows) {
      const nlohmann::json doc = row.doc();
      reports[key_by_name ? scim::ToLower(doc.value("userName", "")) : doc.value("externalId", "")] = &row;
    }
    for (size_t i = at; i < end; ++i) {
      const ManagerLater& m = later[i];
      const std::string who = m.manager.at("userName").get<std::string>();
      auto manager = ResolvedManager(m.manager, names);
      auto report = reports.find(key_by_name ? scim::ToLower(m.key) : m.key);
      if (!manager) {
        problems.emplace_back(m.line, "imported without its manager: '" + who + "' is not a user of this organization");
        continue;
      }
      if (report == reports.end()) {
        problems.emplace_back(m.line, "its manager '" + who + "' was not set: the user is no longer stored");
        continue;
      }
      try {
        store.Modify(org_id, ResourceKind::User, report->second->id, std::nullopt, [&](const ResourceRow& current) {
          nlohmann::json doc = current.doc();
          doc[scim::kEnterpriseUrn]["manager"] = *manager;
          auto& schemas = doc["schemas"];
          if (std::find(schemas.begin(), schemas.end(), scim::kEnterpriseUrn) == schemas.end())
            schemas.push_back(scim::kEnterpriseUrn);
          return std::make_pair(std::move(doc), MemberChanges{});
        });
      } catch (const ScimError& e) {
        problems.emplace_back(m.line, std::string("its manager was not set: ") + e.what());
      }
    }
  }
  return problems;
}

}  // namespace scimitar::service
