// An in-memory scimitar::Store for the fuzz targets that go through ScimService (Bulk, List,
// import): just enough of the contract for resources, no SQL. Find translates the filter and sort
// key as the real store does (so their errors surface) but returns every row of the kind, paged.
// Calls outside that subset abort: a target reaching them is a harness bug.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "scim/json_text.h"
#include "scim/schema.h"
#include "scimitar/decisions.h"
#include "scimitar/error.h"
#include "scimitar/store.h"
#include "store/filter_sql.h"

namespace fuzz {

[[noreturn]] inline void Unsupported(const char* what) {
  std::fprintf(stderr, "fake store: %s is not part of the fuzz harness\n", what);
  std::abort();
}

// Rules that transform nothing: makes PrepareImport take its decide-ahead path.
class NoRules : public scimitar::DecisionMaker {
 public:
  std::vector<std::string> DecideMany(const std::vector<scimitar::DecisionInput>& inputs) override {
    return std::vector<std::string>(inputs.size(), R"({"answers":[{"rule":"fuzz","matched":true,"provision":false}],"version":"fuzz"})");
  }
  bool HasTransforms(const std::string&, const std::string&) override { return false; }
  nlohmann::json Transform(const std::string&, const std::string&, const nlohmann::json& r,
                           const std::map<std::string, std::string>&) override {
    return r;
  }
};

class FakeStore : public scimitar::Store {
 public:
  using Kind = scimitar::scim::ResourceKind;
  struct Item {
    scimitar::ResourceRow row;
    std::vector<std::string> members;
  };

  explicit FakeStore(std::vector<scimitar::SchemaExtension> extensions = {}, bool postgres = false)
      : extensions_(std::move(extensions)), postgres_(postgres) {}

  void Put(Kind kind, scimitar::ResourceRow row, std::vector<std::string> members = {}) {
    auto& m = items_[kind];
    std::string id = row.id;
    m[id] = Item{std::move(row), std::move(members)};
  }
  void SetRules(std::shared_ptr<scimitar::DecisionMaker> maker) { rules_ = std::move(maker); }

  bool IsPostgres() const override { return postgres_; }

  scimitar::Org CreateOrg(const std::string&, const std::string&) override { Unsupported("CreateOrg"); }
  std::optional<scimitar::Org> FindOrg(const std::string&) override { Unsupported("FindOrg"); }
  std::vector<scimitar::Org> ListOrgs() override { Unsupported("ListOrgs"); }
  bool WriteSetting(long long, const std::string&, const std::optional<std::string>&, bool) override {
    Unsupported("WriteSetting");
  }
  std::vector<StaleOrg> StaleDecisions() override { Unsupported("StaleDecisions"); }
  void MarkRecomputed(long long, long long, const std::string&) override { Unsupported("MarkRecomputed"); }
  std::map<std::string, std::string> Settings(long long) override { return {}; }
  scimitar::Member CreateMember(long long, const std::string&, const std::string&) override { Unsupported("CreateMember"); }
  void DeactivateMember(long long, const std::string&) override { Unsupported("DeactivateMember"); }
  std::vector<scimitar::Member> ListMembers(long long) override { Unsupported("ListMembers"); }
  void ExpireToken(long long, const std::string&, const std::string&) override { Unsupported("ExpireToken"); }
  void FlushTokenUse() override { Unsupported("FlushTokenUse"); }
  std::pair<std::string, std::string> CreateToken(long long, const std::string&, const std::string&,
                                                  const std::string&) override {
    Unsupported("CreateToken");
  }
  std::vector<scimitar::TokenInfo> ListTokens(long long) override { Unsupported("ListTokens"); }
  void RevokeToken(long long, const std::string&) override { Unsupported("RevokeToken"); }
  void PutSchemaExtension(long long, const scimitar::SchemaExtension&) override { Unsupported("PutSchemaExtension"); }
  void RemoveSchemaExtension(long long, const std::string&) override { Unsupported("RemoveSchemaExtension"); }
  std::vector<scimitar::SchemaExtension> SchemaExtensions(long long) override { return extensions_; }
  long long SchemaRevision(long long) override { return extensions_.empty() ? 0 : 1; }
  std::optional<scimitar::Tenant> Authenticate(const std::string&) override { Unsupported("Authenticate"); }

  scimitar::ResourceRow Create(long long, Kind kind, const nlohmann::json& doc,
                               const std::vector<std::string>& members) override {
    for (const auto& m : members)
      if (!Exists(m)) throw scimitar::InvalidValue("member '" + m + "' does not exist");
    CheckUnique(kind, doc, "");
    scimitar::ResourceRow row;
    row.id = NextId();
    row.doc_text = scimitar::scim::DumpJson(doc);
    row.version = 1;
    row.created = row.modified = "2024-01-02T03:04:05.000Z";
    Put(kind, row, members);
    return row;
  }
  std::vector<scimitar::ResourceRow> CreateMany(long long org, Kind kind, const std::vector<scimitar::NewResource>& items,
                                                scimitar::DecidedAhead*) override {
    std::vector<scimitar::ResourceRow> out;
    for (const auto& i : items) out.push_back(Create(org, kind, i.doc, {}));
    return out;
  }
  scimitar::DecidedAhead DecideAhead(long long, const std::vector<scimitar::NewResource>& users) override {
    scimitar::DecidedAhead ahead;
    for (const auto& u : users) {
      if (u.id.empty() || u.doc_text.empty()) std::abort();  // the contract: ids and texts assigned
      (void)nlohmann::json::parse(u.doc_text);              // and the text is one JSON document
      ahead.decisions[u.id] = scimitar::PlannedDecision{};
    }
    return ahead;
  }
  std::vector<scimitar::ResourceRow> FindByKey(long long, Kind kind, bool by_name,
                                               const std::vector<std::string>& values) override {
    std::vector<scimitar::ResourceRow> out;
    const std::string attr = by_name ? (kind == Kind::User ? "userName" : "displayName") : "externalId";
    for (const auto& [id, item] : items_[kind]) {
      nlohmann::json doc = item.row.doc();
      auto v = doc.find(attr);
      if (v == doc.end() || !v->is_string()) continue;
      std::string have = v->get<std::string>();
      for (const auto& want : values)
        if (by_name ? scimitar::scim::EqualsIgnoreCase(have, want) : have == want) {
          out.push_back(item.row);
          break;
        }
    }
    return out;
  }
  std::optional<scimitar::ResourceRow> Get(long long, Kind kind, const std::string& id,
                                           std::vector<scimitar::MemberRef>* groups) override {
    auto& m = items_[kind];
    auto it = m.find(id);
    if (it == m.end()) return std::nullopt;
    if (groups) *groups = GroupsOf(0, {id})[id];
    return it->second.row;
  }
  scimitar::ResourceRow Modify(long long, Kind kind, const std::string& id, std::optional<long long> expected_version,
                               const Mutation& mutate) override {
    auto& m = items_[kind];
    auto it = m.find(id);
    if (it == m.end()) throw scimitar::NotFound("not found");
    if (expected_version && *expected_version != it->second.row.version) throw scimitar::PreconditionFailed("version");
    auto [doc, changes] = mutate(it->second.row);
    for (const auto& a : changes.add)
      if (!Exists(a)) throw scimitar::InvalidValue("member '" + a + "' does not exist");
    CheckUnique(kind, doc, id);
    Item& item = it->second;
    if (changes.replace_all) item.members.clear();
    for (const auto& r : changes.remove) item.members.erase(std::remove(item.members.begin(), item.members.end(), r), item.members.end());
    for (const auto& a : changes.add)
      if (std::find(item.members.begin(), item.members.end(), a) == item.members.end()) item.members.push_back(a);
    item.row.doc_text = scimitar::scim::DumpJson(doc);
    ++item.row.version;
    return item.row;
  }
  void ModifyMany(long long org, Kind kind, const std::vector<scimitar::Replacement>& items) override {
    for (const auto& r : items)
      Modify(org, kind, r.id, r.expected_version, [&](const scimitar::ResourceRow&) {
        return std::make_pair(r.doc, scimitar::MemberChanges{});
      });
  }
  void Delete(long long, Kind kind, const std::string& id, std::optional<long long> expected_version) override {
    auto& m = items_[kind];
    auto it = m.find(id);
    if (it == m.end()) throw scimitar::NotFound("not found");
    if (expected_version && *expected_version != it->second.row.version) throw scimitar::PreconditionFailed("version");
    m.erase(it);
  }
  scimitar::QueryResult Find(long long, Kind kind, const scimitar::Query& q) override {
    const scimitar::scim::ResourceTypeDef& type = q.type ? *q.type : scimitar::scim::TypeOf(kind);
    const auto backend = postgres_ ? scimitar::store::Backend::Postgres : scimitar::store::Backend::Sqlite;
    if (q.filter) (void)scimitar::store::TranslateFilter(*q.filter, type, backend);
    if (q.sort_by) (void)scimitar::store::SortExpression(*q.sort_by, type, backend);
    if (q.offset < 0 || q.count < 0) Unsupported("Find with a negative offset or count");
    scimitar::QueryResult out;
    auto& m = items_[kind];
    out.total = static_cast<long long>(m.size());
    long long i = 0;
    for (const auto& [id, item] : m) {
      if (i++ < q.offset) continue;
      if (static_cast<long long>(out.rows.size()) >= q.count) break;
      out.rows.push_back(item.row);
      if (q.user_groups) out.groups.push_back(GroupsOf(0, {id})[id]);
    }
    return out;
  }
  void SetDecisionMaker(std::shared_ptr<scimitar::DecisionMaker> maker) override { rules_ = std::move(maker); }
  std::shared_ptr<scimitar::DecisionMaker> decision_maker() const override { return rules_; }
  long long RecomputeAll(long long) override { Unsupported("RecomputeAll"); }
  std::vector<scimitar::DecisionInput> DecisionInputs(long long) override { Unsupported("DecisionInputs"); }
  std::vector<scimitar::StoredDecision> Decisions(long long, bool) override { Unsupported("Decisions"); }
  std::optional<scimitar::StoredDecision> DecisionFor(long long, const std::string&) override { Unsupported("DecisionFor"); }
  std::vector<scimitar::OutboxEvent> ClaimEvents(int, int) override { Unsupported("ClaimEvents"); }
  void MarkDelivered(const std::vector<long long>&) override { Unsupported("MarkDelivered"); }
  void MarkFailed(long long, const std::string&, int) override { Unsupported("MarkFailed"); }
  std::vector<scimitar::OutboxEvent> FailedEvents(long long) override { Unsupported("FailedEvents"); }
  long long EventCount(long long) override { Unsupported("EventCount"); }
  bool ApplyRuleSet(std::optional<long long>, const std::string&, const nlohmann::json&, const nlohmann::json&,
                    const std::string&) override {
    Unsupported("ApplyRuleSet");
  }
  nlohmann::json DeclaredSettings(long long) override { Unsupported("DeclaredSettings"); }
  nlohmann::json ActiveRuleSet(long long) override { Unsupported("ActiveRuleSet"); }
  bool ClearRuleSet(std::optional<long long>) override { Unsupported("ClearRuleSet"); }
  std::map<std::string, nlohmann::json> RuleSets() override { Unsupported("RuleSets"); }
  std::optional<nlohmann::json> DefaultRuleSet() override { Unsupported("DefaultRuleSet"); }
  std::map<std::string, std::string> ActiveRuleSetVersions() override { Unsupported("ActiveRuleSetVersions"); }
  std::vector<nlohmann::json> RuleSetHistory(std::optional<long long>) override { Unsupported("RuleSetHistory"); }
  std::optional<nlohmann::json> RuleSetFiles(const std::string&) override { Unsupported("RuleSetFiles"); }

  std::map<std::string, std::vector<scimitar::MemberRef>> MembersOf(long long, const std::vector<std::string>& ids) override {
    std::map<std::string, std::vector<scimitar::MemberRef>> out;
    for (const auto& gid : ids) {
      auto& list = out[gid];
      auto it = items_[Kind::Group].find(gid);
      if (it == items_[Kind::Group].end()) continue;
      for (const auto& m : it->second.members) {
        bool user = items_[Kind::User].count(m) > 0;
        list.push_back(scimitar::MemberRef{m, user ? "User" : "Group", DisplayOf(m)});
      }
    }
    return out;
  }
  std::map<std::string, std::vector<scimitar::MemberRef>> GroupsOf(long long, const std::vector<std::string>& ids) override {
    std::map<std::string, std::vector<scimitar::MemberRef>> out;
    for (const auto& uid : ids) {
      auto& list = out[uid];
      for (const auto& [gid, g] : items_[Kind::Group])
        if (std::find(g.members.begin(), g.members.end(), uid) != g.members.end())
          list.push_back(scimitar::MemberRef{gid, "Group", DisplayOf(gid)});
    }
    return out;
  }

 private:
  bool Exists(const std::string& id) { return items_[Kind::User].count(id) || items_[Kind::Group].count(id); }
  std::string DisplayOf(const std::string& id) {
    for (Kind k : {Kind::User, Kind::Group}) {
      auto it = items_[k].find(id);
      if (it == items_[k].end()) continue;
      nlohmann::json doc = it->second.row.doc();
      if (auto d = doc.find("displayName"); d != doc.end() && d->is_string()) return d->get<std::string>();
      if (auto u = doc.find("userName"); u != doc.end() && u->is_string()) return u->get<std::string>();
    }
    return "";
  }
  // userName per organization, case-insensitive (409 uniqueness), as the database enforces it.
  void CheckUnique(Kind kind, const nlohmann::json& doc, const std::string& self) {
    if (kind != Kind::User) return;
    auto u = doc.find("userName");
    if (u == doc.end() || !u->is_string()) return;
    for (const auto& [id, item] : items_[Kind::User]) {
      if (id == self) continue;
      nlohmann::json other = item.row.doc();
      auto o = other.find("userName");
      if (o != other.end() && o->is_string() &&
          scimitar::scim::EqualsIgnoreCase(o->get<std::string>(), u->get<std::string>()))
        throw scimitar::Uniqueness("userName in use");
    }
  }
  std::string NextId() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "0190d1a2-0000-7000-8000-%012llx", ++next_);
    return buf;
  }

  std::map<Kind, std::map<std::string, Item>> items_;
  std::vector<scimitar::SchemaExtension> extensions_;
  std::shared_ptr<scimitar::DecisionMaker> rules_;
  bool postgres_;
  unsigned long long next_ = 0;
};

}  // namespace fuzz
