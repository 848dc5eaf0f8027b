// Bulk import of users or groups for data teams: every row goes through the same transform rules,
// validation, storage and decision recomputation as a SCIM write. Rows are matched to stored
// resources by a key (externalId or userName/displayName); a row equal to what is stored changes
// nothing, so importing a file twice is idempotent.
//
// A batch is imported in two steps, so that an importer can prepare one batch while the previous one
// is written. PrepareImport validates the rows and decides the users that look new (not found by
// their key) outside any transaction: their ids and stored text are assigned ahead. CommitImport
// finds the stored resources of all the batch's keys in one query; the new resources are inserted in
// one transaction with the decisions made ahead (users not decided ahead, and all of them when the
// organization's settings or rules may have changed meanwhile, are decided in it); changed resources
// are replaced together in another (Store::ModifyMany), except rows that change a group's members,
// which are modified one by one. A conflict that only shows at write time (another writer took a
// userName or changed a resource meanwhile) sends the batch's new or changed rows through
// one-by-one writes, so that each row reports its own outcome. A row whose key (or userName)
// repeats an earlier row of the batch waits for a later pass, so it sees the earlier row stored.
#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>
#include <unordered_set>

#include "scim/json_text.h"
#include "scim/resource.h"
#include "scimitar/error.h"
#include "service/scim_service.h"
#include "store/ids.h"

namespace scimitar::service {

using scim::ResourceKind;

std::string ImportKey::Of(const nlohmann::json& doc) const {
  auto v = doc.find(attr);
  if (v == doc.end() || !v->is_string()) return "";
  return by_name ? scim::ToLower(v->get<std::string>()) : v->get<std::string>();
}

namespace {

void Reject(ImportRowResult& result, const std::string& why) {
  result.outcome = ImportOutcome::Rejected;
  result.error = why;
}

// For each row: whether its key (or, users, its name) repeats an earlier row's. A pass imports the
// rows that do not; the others wait for a later pass, so that each sees the earlier row stored.
std::vector<bool> Repeats(const std::vector<PreparedImport::Row>& rows, bool users) {
  std::vector<bool> out;
  out.reserve(rows.size());
  std::unordered_set<std::string_view> keys, names;  // views of the rows' own strings
  keys.reserve(rows.size());
  if (users) names.reserve(rows.size());
  for (const auto& row : rows) out.push_back(!keys.insert(row.key).second || (users && !names.insert(row.name).second));
  return out;
}

// Puts the ids of the users a row names into it: its manager (left for later when not stored yet)
// and, for groups, its members (a member that is not a user of the organization rejects the row).
void ResolveNames(PreparedImport::Row& row, const NameIndex& names) {
  if (row.refs.manager) {
    if (auto manager = ResolvedManager(*row.refs.manager, names)) {
      row.n.doc[scim::kEnterpriseUrn]["manager"] = std::move(*manager);
      auto& schemas = row.n.doc["schemas"];
      if (std::find(schemas.begin(), schemas.end(), scim::kEnterpriseUrn) == schemas.end())
        schemas.push_back(scim::kEnterpriseUrn);
      row.manager_later = false;
    } else {
      row.manager_later = true;
    }
  }
  for (const auto& [attr, value] : row.refs.members) {
    const auto& index = attr == "userName" ? names.by_user_name : names.by_external_id;
    auto found = index.find(attr == "userName" ? scim::ToLower(value) : value);
    if (found == index.end()) throw InvalidValue("member " + attr + " '" + value + "' is not a user of this organization");
    if (!row.n.members) row.n.members.emplace();
    row.n.members->push_back(found->second);
  }
  row.refs.members.clear();  // resolved once: a later pass must not add them again
}

// After a pass wrote its rows: the managers left for later, and the groups user rows name.
void AfterPass(Store& store, const Tenant& t, PreparedImport& batch, const std::vector<PreparedImport::Row>& rows) {
  std::vector<std::string> keys;
  for (const auto& row : rows) {
    if (batch.results[row.index].outcome == ImportOutcome::Rejected) continue;
    if (row.manager_later)
      batch.managers_later.push_back(ManagerLater{batch.results[row.index].line, row.key, *row.refs.manager});
    if (!row.refs.groups.empty()) keys.push_back(row.key);
  }
  if (keys.empty()) return;
  std::map<std::string, std::string> ids;  // key -> user id
  for (const auto& r : store.FindByKey(t.org_id, ResourceKind::User, batch.key.by_name, keys))
    ids[batch.key.Of(r.doc())] = r.id;
  std::vector<std::pair<std::string, std::vector<std::string>>> wanted;
  for (const auto& row : rows)
    if (auto id = ids.find(row.key); id != ids.end() && !row.refs.groups.empty() &&
                                     batch.results[row.index].outcome != ImportOutcome::Rejected)
      wanted.emplace_back(id->second, row.refs.groups);
  const auto [added, created] = AddToNamedGroups(store, t.org_id, wanted);
  batch.memberships_added += added;
  batch.groups_created += created;
}

// Imports the first row of every key in `rows`; returns the rows whose key or name repeats one of
// those (for the next pass).
std::vector<PreparedImport::Row> ImportPass(Store& store, const Tenant& t, PreparedImport& batch,
                                            std::vector<PreparedImport::Row> rows) {
  const ResourceKind kind = batch.kind;
  const ImportKey& key = batch.key;
  const bool dry_run = batch.dry_run;
  std::vector<ImportRowResult>& results = batch.results;
  const bool users = kind == ResourceKind::User;
  const std::string name_attr = users ? "userName" : "displayName";
  std::vector<PreparedImport::Row> now, later;
  const std::vector<bool> repeats = Repeats(rows, users);
  for (size_t i = 0; i < rows.size(); ++i) (repeats[i] ? later : now).push_back(std::move(rows[i]));

  std::vector<std::string> key_values;
  for (const auto& row : now) key_values.push_back(row.key);
  struct Stored {
    ResourceRow row;
    nlohmann::json doc;  // row.doc(), parsed once
  };
  std::map<std::string, std::vector<Stored>> stored;
  for (auto& r : store.FindByKey(t.org_id, kind, key.by_name, key_values)) {
    nlohmann::json doc = r.doc();
    std::string k = key.Of(doc);
    stored[k].push_back(Stored{std::move(r), std::move(doc)});
  }

  // userNames that new rows would take from other users, found now rather than by a failed batch.
  std::set<std::string> taken;
  if (users && !key.by_name) {
    std::vector<std::string> new_names;
    for (const auto& row : now)
      if (!stored.count(row.key)) new_names.push_back(row.name);
    for (const auto& r : store.FindByKey(t.org_id, kind, /*by_name=*/true, new_names))
      taken.insert(scim::ToLower(r.doc().value(name_attr, "")));
  }
  // Current members of the stored groups whose rows list members, in one query.
  std::vector<std::string> group_ids;
  for (const auto& row : now)
    if (auto s = stored.find(row.key); row.n.members && s != stored.end() && s->second.size() == 1)
      group_ids.push_back(s->second[0].row.id);
  auto members_now = group_ids.empty() ? std::map<std::string, std::vector<MemberRef>>{}
                                        : store.MembersOf(t.org_id, group_ids);

  std::vector<PreparedImport::Row*> creates;
  struct Update {
    PreparedImport::Row* row;
    const ResourceRow* current;
    MemberChanges members;
  };
  std::vector<Update> updates;
  std::vector<const ImportReferences*> named;
  for (const auto& row : now)
    if (row.refs.manager || !row.refs.members.empty()) named.push_back(&row.refs);
  const NameIndex names = named.empty() ? NameIndex{} : LookUpNames(store, t.org_id, named);
  for (auto& row : now) {
    ImportRowResult& result = results[row.index];
    try {
      ResolveNames(row, names);
      auto found = stored.find(row.key);
      if (found == stored.end()) {
        if (taken.count(row.name))
          throw Uniqueness("userName '" + row.n.doc.value(name_attr, "") + "' is already in use in this organization");
        result.outcome = ImportOutcome::Created;
        if (!dry_run) creates.push_back(&row);
        continue;
      }
      if (found->second.size() > 1)
        throw Uniqueness(key.attr + " '" + row.n.doc.value(key.attr, "") + "' matches several resources");
      const ResourceRow& current = found->second[0].row;
      if (row.manager_later) {  // the stored manager stays until the one named is set (ResolveManagers)
        const nlohmann::json& stored_doc = found->second[0].doc;
        auto ext = stored_doc.find(scim::kEnterpriseUrn);
        if (ext != stored_doc.end() && ext->is_object() && ext->contains("manager"))
          row.n.doc[scim::kEnterpriseUrn]["manager"] = (*ext)["manager"];
      }
      MemberChanges members;
      bool same_members = true;
      size_t removed = 0;
      if (row.n.members) {
        std::vector<std::string> have, want = *row.n.members;
        for (const auto& m : members_now[current.id]) have.push_back(m.id);
        std::sort(have.begin(), have.end());
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        std::vector<std::string> missing;  // listed, not yet members
        std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
        if (batch.replace_members) {
          removed = have.size() - (want.size() - missing.size());
          same_members = missing.empty() && removed == 0;
          members.replace_all = true;
          members.add = std::move(want);
        } else {
          same_members = missing.empty();
          members.add = std::move(missing);
        }
      }
      if (found->second[0].doc == row.n.doc && same_members) {
        result.outcome = ImportOutcome::Unchanged;
        continue;
      }
      result.outcome = ImportOutcome::Updated;
      batch.members_removed += removed;
      if (!dry_run) updates.push_back(Update{&row, &current, std::move(members)});
    } catch (const ScimError& e) {
      Reject(result, e.what());
    }
  }

  // Changed documents are replaced together, in one transaction; rows that change members, and all
  // of them when the batch fails (a conflict that only shows at write time), one by one, so that
  // each reports its own outcome.
  std::vector<Replacement> replacements;
  std::vector<Update*> replaced, each;
  for (auto& u : updates) (u.members.empty() ? replaced : each).push_back(&u);
  for (auto* u : replaced)
    replacements.push_back(Replacement{u->current->id, u->current->version, std::move(u->row->n.doc)});
  try {
    store.ModifyMany(t.org_id, kind, replacements);
  } catch (const ScimError&) {
    for (size_t i = 0; i < replaced.size(); ++i) replaced[i]->row->n.doc = std::move(replacements[i].doc);
    each.insert(each.end(), replaced.begin(), replaced.end());
  }
  for (auto* u : each) {
    try {
      store.Modify(t.org_id, kind, u->current->id, u->current->version,
                   [&](const ResourceRow&) { return std::make_pair(u->row->n.doc, u->members); });
    } catch (const ScimError& e) {
      Reject(results[u->row->index], e.what());
    }
  }

  std::vector<PreparedImport::Row*> one_by_one, together;
  for (auto* row : creates) (row->n.members && !row->n.members->empty() ? one_by_one : together).push_back(row);
  if (!together.empty()) {
    std::vector<NewResource> items;
    items.reserve(together.size());
    for (auto* row : together) items.push_back(NewResource{std::move(row->n.doc), row->id, std::move(row->doc_text)});
    try {
      store.CreateMany(t.org_id, kind, items, &batch.ahead);
    } catch (const ScimError&) {  // a conflict appeared after the lookup; nothing was written
      for (size_t i = 0; i < together.size(); ++i) together[i]->n.doc = std::move(items[i].doc);
      one_by_one.insert(one_by_one.end(), together.begin(), together.end());
    }
  }
  for (const auto* row : one_by_one) {
    try {
      store.Create(t.org_id, kind, row->n.doc, row->n.members.value_or(std::vector<std::string>{}));
    } catch (const ScimError& e) {
      Reject(results[row->index], e.what());
    }
  }
  if (!dry_run) AfterPass(store, t, batch, now);
  return later;
}

}  // namespace

std::shared_ptr<PreparedImport> ScimService::PrepareImport(const Tenant& t, ResourceKind kind, nlohmann::json rows,
                                                           const std::string& key, bool dry_run,
                                                           bool replace_members) const {
  auto types = TypesFor(t);
  const auto& type = types->Of(kind);
  const std::string name_attr = kind == ResourceKind::User ? "userName" : "displayName";
  if (key != "externalId" && key != name_attr)
    throw InvalidValue("the import key must be externalId or " + name_attr);
  auto batch = std::make_shared<PreparedImport>();
  batch->kind = kind;
  batch->key = ImportKey{key, key == name_attr};
  batch->dry_run = dry_run;
  batch->replace_members = replace_members;
  const ImportKey name_key{name_attr, true};
  std::shared_ptr<DecisionMaker> rules = store_.decision_maker();
  const bool transform = rules && rules->HasTransforms(t.slug, type.name);
  const std::map<std::string, std::string> settings = transform ? store_.Settings(t.org_id) : std::map<std::string, std::string>{};

  std::vector<ImportRowResult>& results = batch->results;
  results.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    nlohmann::json& item = rows[i];
    if (item.is_object())
      if (auto line = item.find("line"); line != item.end() && line->is_number_integer())
        results[i].line = line->get<long long>();
    try {
      nlohmann::json body = std::move(item.at("resource"));
      if (body.is_object() && !body.contains("schemas")) body["schemas"] = {type.core->id};
      if (transform) body = rules->Transform(t.slug, type.name, body, settings);
      ImportReferences refs = TakeReferences(kind, body);
      PreparedImport::Row row{i, scim::Normalize(type, body, /*require_schemas=*/true, scim::Values::Text), "", "", "", "",
                              std::move(refs), false};
      row.key = batch->key.Of(row.n.doc);
      if (row.key.empty()) throw InvalidValue("the row has no " + key);
      row.name = name_key.Of(row.n.doc);
      batch->pending.push_back(std::move(row));
    } catch (const ScimError& e) {
      Reject(results[i], e.what());
    } catch (const nlohmann::json::exception& e) {
      Reject(results[i], std::string("malformed row: ") + e.what());
    }
  }
  if (dry_run || kind != ResourceKind::User || !rules) return batch;

  // The users of the first pass whose key nothing stored has now are decided ahead. Should one be
  // stored by the time of the commit, it is updated instead and its decision made there.
  const std::vector<bool> repeats = Repeats(batch->pending, /*users=*/true);
  std::vector<std::string> keys;
  for (size_t i = 0; i < batch->pending.size(); ++i)
    if (!repeats[i]) keys.push_back(batch->pending[i].key);
  std::set<std::string> stored;
  for (const auto& r : store_.FindByKey(t.org_id, kind, batch->key.by_name, keys)) stored.insert(batch->key.Of(r.doc()));
  std::vector<PreparedImport::Row*> lent;
  std::vector<NewResource> fresh;  // lends the rows' documents to DecideAhead
  for (size_t i = 0; i < batch->pending.size(); ++i) {
    PreparedImport::Row& row = batch->pending[i];
    if (repeats[i] || stored.count(row.key) || row.refs.manager) continue;  // a manager is resolved at commit
    row.id = store::NewResourceId();
    lent.push_back(&row);
    std::string text = scim::DumpJson(row.n.doc);
    fresh.push_back(NewResource{std::move(row.n.doc), row.id, std::move(text)});
  }
  batch->ahead = store_.DecideAhead(t.org_id, fresh);
  for (size_t i = 0; i < lent.size(); ++i) {
    lent[i]->n.doc = std::move(fresh[i].doc);
    lent[i]->doc_text = std::move(fresh[i].doc_text);
  }
  return batch;
}

ImportSummary ScimService::CommitImport(const Tenant& t, PreparedImport& batch) const {
  std::vector<PreparedImport::Row> pending = std::move(batch.pending);
  while (!pending.empty()) pending = ImportPass(store_, t, batch, std::move(pending));
  ImportSummary summary;
  summary.members_removed = batch.members_removed;
  summary.memberships_added = batch.memberships_added;
  summary.groups_created = batch.groups_created;
  summary.managers_later = std::move(batch.managers_later);
  for (auto& r : batch.results) {
    switch (r.outcome) {
      case ImportOutcome::Created: ++summary.created; break;
      case ImportOutcome::Updated: ++summary.updated; break;
      case ImportOutcome::Unchanged: ++summary.unchanged; break;
      case ImportOutcome::Rejected: summary.rejected.emplace_back(r.line, std::move(r.error)); break;
      case ImportOutcome::Pending: break;  // every row leaves a pass with an outcome
    }
  }
  return summary;
}

}  // namespace scimitar::service
