// Storage behaviour on both backends: the same assertions run on a SQLite file and on PostgreSQL
// (the latter when SCIMITAR_TEST_PG_URL is set; scripts/test.sh always sets it).
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "scim/filter.h"
#include "scim/schema.h"
#include "scimitar/error.h"
#include "scimitar/store.h"
#include "test_support.h"

using namespace scimitar;
using scim::ResourceKind;
using json = nlohmann::json;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = test::UrlFor(GetParam());
    if (url_.empty()) GTEST_SKIP() << "SCIMITAR_TEST_PG_URL is not set";
    store_ = Store::Open({url_, 4});
    org_ = store_->CreateOrg(test::UniqueSlug("org"), "Org").id;
    other_ = store_->CreateOrg(test::UniqueSlug("other"), "Other").id;
  }

  // Stores `doc` if the resource is still at `version`.
  ResourceRow Put(long long org, ResourceKind kind, const std::string& id, json doc, std::optional<long long> version,
                  MemberChanges changes = {}) {
    return store_->Modify(org, kind, id, version, [&](const ResourceRow&) { return std::make_pair(doc, changes); });
  }

  ResourceRow User(const std::string& name, json extra = json::object(), long long org = 0) {
    json doc = {{"userName", name}};
    if (extra.is_object()) doc.update(extra);
    return store_->Create(org ? org : org_, ResourceKind::User, doc, {});
  }

  std::vector<std::string> Names(const std::string& filter, long long org = 0) {
    scim::Filter f = scim::ParseFilter(filter);
    Query q;
    q.filter = f.get();
    std::vector<std::string> out;
    for (const auto& r : store_->Find(org ? org : org_, ResourceKind::User, q).rows) out.push_back(r.doc()["userName"]);
    return out;
  }

  std::string url_;
  std::unique_ptr<Store> store_;
  long long org_ = 0, other_ = 0;
};

TEST_P(StoreTest, UserNameIsUniquePerOrganizationCaseInsensitively) {
  User("Alice@Example.com");
  try {
    User("alice@example.COM");
    FAIL() << "duplicate accepted";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.scim_type(), "uniqueness");
  }
  EXPECT_NO_THROW(User("alice@example.com", {}, other_));  // another organization may reuse it
}

TEST_P(StoreTest, FiltersArePushedDownAndScopedToTheOrganization) {
  User("alice", {{"emails", {{{"type", "work"}, {"value", "Alice@Corp.com"}}}}, {"active", true}, {"externalId", "E1"}});
  User("bob", {{"emails", {{{"type", "home"}, {"value", "bob@home.net"}}}}, {"active", false},
               {scim::kEnterpriseUrn, {{"department", "Sales"}}}});
  User("carol", {{"name", {{"givenName", "Carol"}}}});
  User("alice2", {}, other_);
  EXPECT_EQ(Names("userName eq \"ALICE\""), std::vector<std::string>{"alice"});
  EXPECT_EQ(Names("emails.value eq \"alice@corp.com\""), std::vector<std::string>{"alice"});
  EXPECT_EQ(Names("emails[type eq \"home\" and value ew \".net\"]"), std::vector<std::string>{"bob"});
  EXPECT_EQ(Names("active eq false"), std::vector<std::string>{"bob"});
  EXPECT_EQ(Names("externalId eq \"E1\""), std::vector<std::string>{"alice"});
  EXPECT_TRUE(Names("externalId eq \"e1\"").empty());  // caseExact
  EXPECT_EQ(Names(std::string("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"sales\"")),
            std::vector<std::string>{"bob"});
  EXPECT_EQ(Names("name.givenName sw \"car\""), std::vector<std::string>{"carol"});
  EXPECT_EQ(Names("userName sw \"alice\" or userName eq \"carol\""), (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(Names("not (userName sw \"a\") and emails pr"), std::vector<std::string>{"bob"});
  EXPECT_EQ(Names("meta.created gt \"2000-01-01T00:00:00Z\"").size(), 3u);
  // An "or" in the filter never reaches another organization.
  EXPECT_EQ(Names("userName eq \"alice2\" or userName eq \"alice\""), std::vector<std::string>{"alice"});
}

TEST_P(StoreTest, EmailLookupsFollowEveryWrite) {
  ResourceRow u = User("mail", {{"emails", {{{"value", "Old@Example.com"}}, {{"value", "second@example.com"}}}}});
  EXPECT_EQ(Names("emails.value eq \"old@example.COM\""), std::vector<std::string>{"mail"});
  EXPECT_EQ(Names("emails eq \"SECOND@example.com\""), std::vector<std::string>{"mail"});
  Put(org_, ResourceKind::User, u.id, {{"userName", "mail"}, {"emails", {{{"value", "new@example.com"}}}}}, 1);
  EXPECT_TRUE(Names("emails.value eq \"old@example.com\"").empty());
  EXPECT_EQ(Names("emails.value eq \"NEW@example.com\""), std::vector<std::string>{"mail"});
  EXPECT_TRUE(Names("emails.value eq \"new@example.com\"", other_).empty());  // other organizations never match
  store_->Delete(org_, ResourceKind::User, u.id, std::nullopt);
  EXPECT_TRUE(Names("emails.value eq \"new@example.com\"").empty());
}

TEST_P(StoreTest, PagingAndSortingAreExact) {
  for (const char* n : {"d", "b", "e", "a", "c"}) User(n);
  Query q;
  q.offset = 1;
  q.count = 2;
  scim::AttrPath by{"", "userName", ""};
  q.sort_by = &by;
  QueryResult r = store_->Find(org_, ResourceKind::User, q);
  EXPECT_EQ(r.total, 5);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].doc()["userName"], "b");
  EXPECT_EQ(r.rows[1].doc()["userName"], "c");
  q.descending = true;
  r = store_->Find(org_, ResourceKind::User, q);
  EXPECT_EQ(r.rows[0].doc()["userName"], "d");
  q.count = 0;
  r = store_->Find(org_, ResourceKind::User, q);
  EXPECT_EQ(r.total, 5);
  EXPECT_TRUE(r.rows.empty());
}

TEST_P(StoreTest, UpdatesCheckVersionsAndNeverLoseAWrite) {
  ResourceRow u = User("vera");
  ResourceRow v2 = Put(org_, ResourceKind::User, u.id, {{"userName", "vera"}, {"title", "A"}}, 1);
  EXPECT_EQ(v2.version, 2);
  try {
    Put(org_, ResourceKind::User, u.id, {{"userName", "vera"}, {"title", "B"}}, 1);
    FAIL() << "stale write accepted";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 412);
  }
  EXPECT_EQ(store_->Get(org_, ResourceKind::User, u.id)->doc()["title"], "A");
  // Another organization cannot see or change it.
  EXPECT_FALSE(store_->Get(other_, ResourceKind::User, u.id));
  EXPECT_THROW(Put(other_, ResourceKind::User, u.id, {{"userName", "x"}}, std::nullopt), ScimError);
  EXPECT_THROW(store_->Delete(other_, ResourceKind::User, u.id, std::nullopt), ScimError);
}

TEST_P(StoreTest, ConcurrentModificationsAllLand) {
  ResourceRow u = User("counter", {{"title", "0"}});
  auto worker = [&] {
    for (int i = 0; i < 10; ++i)
      store_->Modify(org_, ResourceKind::User, u.id, std::nullopt, [](const ResourceRow& cur) {
        json doc = cur.doc();
        doc["title"] = std::to_string(std::stoi(doc["title"].get<std::string>()) + 1);
        return std::make_pair(doc, MemberChanges{});
      });
  };
  std::thread a(worker), b(worker), c(worker);
  a.join();
  b.join();
  c.join();
  ResourceRow done = *store_->Get(org_, ResourceKind::User, u.id);
  EXPECT_EQ(done.doc()["title"], "30");
  EXPECT_EQ(done.version, 31);
}

TEST_P(StoreTest, AFailedMutationChangesNothing) {
  ResourceRow u = User("atomic");
  EXPECT_THROW(store_->Modify(org_, ResourceKind::User, u.id, std::nullopt,
                              [](const ResourceRow&) -> std::pair<json, MemberChanges> { throw InvalidValue("no"); }),
               ScimError);
  EXPECT_EQ(store_->Get(org_, ResourceKind::User, u.id)->version, 1);
}

TEST_P(StoreTest, MembershipsChangeEdgeByEdge) {
  ResourceRow a = User("a"), b = User("b"), c = User("c");
  ResourceRow g = store_->Create(org_, ResourceKind::Group, {{"displayName", "G"}}, {a.id, b.id});
  EXPECT_EQ(store_->MembersOf(org_, {g.id})[g.id].size(), 2u);
  MemberChanges ch;
  ch.add = {c.id, a.id};
  ch.remove = {b.id};
  Put(org_, ResourceKind::Group, g.id, {{"displayName", "G"}}, 1, ch);
  auto members = store_->MembersOf(org_, {g.id})[g.id];
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].id, a.id);
  EXPECT_EQ(members[1].id, c.id);
  EXPECT_EQ(store_->GroupsOf(org_, {c.id})[c.id].at(0).display, "G");
  // Unknown or foreign members are refused and change nothing.
  ResourceRow foreign = User("f", {}, other_);
  MemberChanges bad;
  bad.add = {foreign.id};
  EXPECT_THROW(Put(org_, ResourceKind::Group, g.id, {{"displayName", "G2"}}, 2, bad), ScimError);
  EXPECT_EQ(store_->Get(org_, ResourceKind::Group, g.id)->doc()["displayName"], "G");
  // Deleting a user removes its memberships.
  store_->Delete(org_, ResourceKind::User, a.id, std::nullopt);
  EXPECT_EQ(store_->MembersOf(org_, {g.id})[g.id].size(), 1u);
}

TEST_P(StoreTest, TokensAuthenticateUntilRevokedOrOwnerDeactivated) {
  const auto orgs = store_->ListOrgs();
  std::string slug;
  for (const auto& o : orgs)
    if (o.id == org_) slug = o.slug;
  store_->CreateMember(org_, "Owner@Example.com", "owner");
  auto [id, token] = store_->CreateToken(org_, "owner@example.com", "test", "");
  auto t = store_->Authenticate(token);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->org_id, org_);
  EXPECT_EQ(t->slug, slug);
  EXPECT_TRUE(t->scim_sync);
  std::string tampered = token;
  tampered.back() = tampered.back() == 'x' ? 'y' : 'x';
  EXPECT_FALSE(store_->Authenticate(tampered));
  EXPECT_FALSE(store_->Authenticate("garbage"));
  store_->WriteSetting(org_, "scim_sync", "off", false);
  EXPECT_FALSE(store_->Authenticate(token)->scim_sync);
  store_->DeactivateMember(org_, "owner@example.com");
  EXPECT_FALSE(store_->Authenticate(token));
  store_->CreateMember(org_, "second@example.com", "owner");
  auto [id2, token2] = store_->CreateToken(org_, "second@example.com", "", "");
  ASSERT_TRUE(store_->Authenticate(token2));
  store_->RevokeToken(org_, id2);
  EXPECT_FALSE(store_->Authenticate(token2));
  EXPECT_THROW(store_->RevokeToken(other_, id), ScimError);
}

// A user's groups come with the row, on GET and on every page of a list, in the groups' creation
// order whatever order the memberships were made in.
TEST_P(StoreTest, UsersCarryTheirGroupsInCreationOrder) {
  ResourceRow u = User("u"), v = User("v"), lonely = User("w");
  ResourceRow g1 = store_->Create(org_, ResourceKind::Group, {{"displayName", "First"}}, {});
  ResourceRow g2 = store_->Create(org_, ResourceKind::Group, {{"displayName", "Second"}}, {v.id});
  ResourceRow g3 = store_->Create(org_, ResourceKind::Group, {{"displayName", "Third"}}, {u.id});
  MemberChanges add_u;
  add_u.add = {u.id};
  Put(org_, ResourceKind::Group, g1.id, {{"displayName", "First"}}, 1, add_u);  // u joins Third, then First
  auto names = [](const std::vector<MemberRef>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.display);
    return out;
  };
  std::vector<MemberRef> groups;
  ASSERT_TRUE(store_->Get(org_, ResourceKind::User, u.id, &groups));
  EXPECT_EQ(names(groups), (std::vector<std::string>{"First", "Third"}));
  EXPECT_EQ(groups[0].id, g1.id);
  EXPECT_EQ(groups[0].type, "Group");
  Query q;
  q.user_groups = true;
  QueryResult page = store_->Find(org_, ResourceKind::User, q);
  ASSERT_EQ(page.rows.size(), 3u);
  ASSERT_EQ(page.groups.size(), 3u);
  EXPECT_EQ(page.rows[0].id, u.id);
  EXPECT_EQ(names(page.groups[0]), (std::vector<std::string>{"First", "Third"}));
  EXPECT_EQ(names(page.groups[1]), std::vector<std::string>{"Second"});
  EXPECT_TRUE(page.groups[2].empty());
  EXPECT_EQ(page.rows[2].id, lonely.id);
  q.user_groups = false;
  EXPECT_TRUE(store_->Find(org_, ResourceKind::User, q).groups.empty());
}

// Another process (here: a second store on the same database) revokes a token, deactivates its owner,
// switches SCIM off or declares a schema: the next authentication sees it, although successful
// authentications are cached.
TEST_P(StoreTest, AuthenticationSeesChangesMadeElsewhereAtOnce) {
  auto elsewhere = Store::Open({url_, 2});
  store_->CreateMember(org_, "a@x.test", "owner");
  store_->CreateMember(org_, "b@x.test", "owner");
  auto [id_a, token_a] = store_->CreateToken(org_, "a@x.test", "", "");
  auto [id_b, token_b] = store_->CreateToken(org_, "b@x.test", "", "");
  ASSERT_TRUE(store_->Authenticate(token_a));
  const long long rev = store_->Authenticate(token_a)->schema_rev;  // served from the cache
  elsewhere->WriteSetting(org_, "scim_sync", "off", false);
  EXPECT_FALSE(store_->Authenticate(token_a)->scim_sync);
  elsewhere->WriteSetting(org_, "scim_sync", "on", false);
  EXPECT_TRUE(store_->Authenticate(token_a)->scim_sync);
  elsewhere->PutSchemaExtension(org_, SchemaExtension{"urn:example:params:scim:schemas:extension:app:2.0:User", "User",
                                                      json::object()});
  EXPECT_EQ(store_->Authenticate(token_a)->schema_rev, rev + 1);
  elsewhere->RevokeToken(org_, id_a);
  EXPECT_FALSE(store_->Authenticate(token_a));
  ASSERT_TRUE(store_->Authenticate(token_b));
  ASSERT_TRUE(store_->Authenticate(token_b));
  elsewhere->DeactivateMember(org_, "b@x.test");
  EXPECT_FALSE(store_->Authenticate(token_b));
}

TEST_P(StoreTest, CreateManyIsAllOrNothing) {
  User("taken@x.test");
  std::vector<NewResource> docs = {{{{"userName", "new1@x.test"}, {"externalId", "n1"}}, "", ""},
                                   {{{"userName", "TAKEN@x.test"}, {"externalId", "n2"}}, "", ""}};
  try {
    store_->CreateMany(org_, ResourceKind::User, docs);
    FAIL() << "a batch with a taken userName was stored";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.scim_type(), "uniqueness");
  }
  EXPECT_EQ(Names("userName eq \"new1@x.test\""), std::vector<std::string>{});
  docs[1].doc["userName"] = "new2@x.test";
  auto made = store_->CreateMany(org_, ResourceKind::User, docs);
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ(made[1].doc()["userName"], "new2@x.test");
  EXPECT_EQ(store_->Get(org_, ResourceKind::User, made[0].id)->doc()["externalId"], "n1");
  EXPECT_EQ(Names("emails pr or userName sw \"new\""), (std::vector<std::string>{"new1@x.test", "new2@x.test"}));
}

TEST_P(StoreTest, FindByKeyMatchesExternalIdsExactlyAndNamesInAnyCase) {
  User("Ann@x.test", {{"externalId", "E-1"}});
  User("bob@x.test", {{"externalId", "e-2"}});
  User("ann@x.test", {{"externalId", "E-1"}}, other_);  // another organization
  auto names = [](const std::vector<ResourceRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.doc()["userName"]);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(store_->FindByKey(org_, ResourceKind::User, false, {"E-1", "E-2", "none"})),
            std::vector<std::string>{"Ann@x.test"});
  EXPECT_EQ(names(store_->FindByKey(org_, ResourceKind::User, true, {"ANN@X.TEST", "Bob@x.test"})),
            (std::vector<std::string>{"Ann@x.test", "bob@x.test"}));
  EXPECT_EQ(names(store_->FindByKey(org_, ResourceKind::User, true, {"ann@x.test", "ANN@x.test", "ann@x.test"})),
            std::vector<std::string>{"Ann@x.test"});  // a value given several times finds its row once
  EXPECT_TRUE(store_->FindByKey(org_, ResourceKind::Group, true, {"ann@x.test"}).empty());
  EXPECT_TRUE(store_->FindByKey(org_, ResourceKind::User, false, {}).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Rules that give every user the same evaluation text.
class FixedAnswer final : public DecisionMaker {
 public:
  explicit FixedAnswer(std::string answer) : answer_(std::move(answer)) {}
  std::vector<std::string> DecideMany(const std::vector<DecisionInput>& inputs) override {
    return std::vector<std::string>(inputs.size(), answer_);
  }
  bool HasTransforms(const std::string&, const std::string&) override { return false; }
  json Transform(const std::string&, const std::string&, const json& resource,
                 const std::map<std::string, std::string>&) override {
    return resource;
  }

 private:
  std::string answer_;
};

TEST_P(StoreTest, ARulesAnswerThatIsAnErrorOrMalformedIsRecordedAndTheWriteStands) {
  int n = 0;
  for (const char* answer : {"not json", "[1]", "{\"answers\": tru}", "{\"error\": \"x\", \"version\": tru}",
                             R"({"answers": [{"rule": "r", "matched": true, "role": 5}]})",
                             R"({"answers": [{"matched": true}]})",
                             "{\"error\": \"boom\", \"version\": \"v7\"}"}) {
    store_->SetDecisionMaker(std::make_shared<FixedAnswer>(answer));
    const std::string name = "u" + std::to_string(n++) + "@x.test";
    User(name);
    auto d = store_->DecisionFor(org_, name);
    ASSERT_TRUE(d) << answer;
    EXPECT_FALSE(d->provisioned) << answer;
    EXPECT_FALSE(d->error.empty()) << answer;
    EXPECT_EQ(d->detail.value("userName", ""), name) << answer;
  }
  EXPECT_EQ(store_->DecisionFor(org_, "u4@x.test")->error, "r: returned role=5; a string is expected");
  EXPECT_EQ(store_->DecisionFor(org_, "u6@x.test")->error, "boom");
  EXPECT_EQ(store_->DecisionFor(org_, "u6@x.test")->detail["version"], "v7");
  store_->SetDecisionMaker(std::make_shared<FixedAnswer>(
      R"({"answers": [{"rule": "r", "matched": true, "provision": true, "role": "admin", "reason": "ok"}],
          "version": "v8"})"));
  User("good@x.test");
  auto good = store_->DecisionFor(org_, "good@x.test");
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->provisioned);
  EXPECT_TRUE(good->error.empty());
  EXPECT_EQ(good->detail["role"], "admin");
  EXPECT_FALSE(good->detail.contains("error"));
  store_->SetDecisionMaker(nullptr);
}

// Rules: a user is admitted with the title "Engineer"; app groups are the IdP groups' names.
class TitleAndGroups final : public DecisionMaker {
 public:
  std::vector<std::string> DecideMany(const std::vector<DecisionInput>& inputs) override {
    std::vector<std::string> out;
    for (const auto& in : inputs) {
      json groups = json::array();
      for (const auto& g : in.groups) groups.push_back(g["display"]);
      const bool admitted = json::parse(in.user).value("title", "") == "Engineer";
      out.push_back(json{{"answers", {{{"rule", "title"}, {"matched", true}, {"provision", admitted}, {"role", "member"}}}},
                         {"app_groups", groups}, {"version", "t1"}}.dump());
    }
    return out;
  }
  bool HasTransforms(const std::string&, const std::string&) override { return false; }
  json Transform(const std::string&, const std::string&, const json& resource,
                 const std::map<std::string, std::string>&) override {
    return resource;
  }
};

TEST_P(StoreTest, ModifyManyReplacesDocumentsTogetherAndRecomputesDecisions) {
  store_->SetDecisionMaker(std::make_shared<TitleAndGroups>());
  auto a = User("a@x.test", {{"emails", {{{"value", "a@old.test"}}}}});
  auto b = User("b@x.test");
  auto g = store_->Create(org_, ResourceKind::Group, {{"displayName", "Eng"}}, {a.id});
  auto version = [&](const ResourceRow& r) {
    auto user = store_->Get(org_, ResourceKind::User, r.id);
    return user ? user->version : store_->Get(org_, ResourceKind::Group, r.id)->version;
  };
  EXPECT_FALSE(store_->DecisionFor(org_, "a@x.test")->provisioned);

  store_->ModifyMany(org_, ResourceKind::User,
                     {{a.id, version(a), {{"userName", "a@x.test"}, {"title", "Engineer"}, {"emails", {{{"value", "a@new.test"}}}}}},
                      {b.id, version(b), {{"userName", "b@x.test"}, {"title", "Engineer"}}}});
  auto decided = store_->DecisionFor(org_, "a@x.test");
  EXPECT_TRUE(decided->provisioned);
  EXPECT_EQ(decided->detail["groups"], json::array({"Eng"}));  // the user's groups were read for the decision
  EXPECT_TRUE(store_->DecisionFor(org_, "b@x.test")->provisioned);
  EXPECT_EQ(version(a), a.version + 1);
  EXPECT_EQ(Names("emails.value eq \"a@new.test\""), std::vector<std::string>{"a@x.test"});
  EXPECT_TRUE(Names("emails.value eq \"a@old.test\"").empty());

  // All or nothing: one resource no longer at its expected version, or one userName in use.
  const json manager = {{"userName", "a@x.test"}, {"title", "Manager"}};
  try {
    store_->ModifyMany(org_, ResourceKind::User, {{a.id, version(a), manager}, {b.id, b.version, {{"userName", "b@x.test"}}}});
    FAIL() << "a stale version was written over";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 412);
  }
  try {
    store_->ModifyMany(org_, ResourceKind::User, {{a.id, version(a), manager}, {b.id, version(b), {{"userName", "A@X.test"}}}});
    FAIL() << "a userName in use was taken";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 409);
  }
  EXPECT_EQ(store_->Get(org_, ResourceKind::User, a.id)->doc()["title"], "Engineer");
  EXPECT_TRUE(store_->DecisionFor(org_, "a@x.test")->provisioned);

  // A renamed group: its members' decisions follow; its members stay.
  store_->ModifyMany(org_, ResourceKind::Group, {{g.id, version(g), {{"displayName", "Engineering"}}}});
  EXPECT_EQ(store_->DecisionFor(org_, "a@x.test")->detail["groups"], json::array({"Engineering"}));
  EXPECT_EQ(store_->MembersOf(org_, {g.id})[g.id].size(), 1u);
  store_->SetDecisionMaker(nullptr);
}

TEST_P(StoreTest, ADecisionMadeWithAnOutdatedRuleSetMarksTheOrganizationStale) {
  const std::string v = test::UniqueSlug("v");
  ASSERT_TRUE(store_->ApplyRuleSet(org_, v, json::object(), json::array(), "test"));
  auto mine = [&]() -> std::optional<Store::StaleOrg> {
    for (const auto& o : store_->StaleDecisions()) {
      if (store_->FindOrg(o.slug)->id == org_) return o;
    }
    return std::nullopt;
  };
  if (auto o = mine()) store_->MarkRecomputed(org_, o->settings_rev, o->rules_version);
  ASSERT_FALSE(mine().has_value());

  store_->SetDecisionMaker(std::make_shared<FixedAnswer>(R"({"answers": [], "version": ")" + v + R"("})"));
  User("current@x.test");
  EXPECT_FALSE(mine().has_value());  // made with the stored set
  store_->SetDecisionMaker(std::make_shared<FixedAnswer>(R"({"answers": [], "version": "outdated"})"));
  User("late@x.test");
  ASSERT_TRUE(mine().has_value());  // a process that had not installed the stored set yet
  EXPECT_TRUE(mine()->settings_changed);
  EXPECT_EQ(mine()->rules_version, v);
  store_->SetDecisionMaker(nullptr);
}

TEST_P(StoreTest, RuleSetsAreStoredWithHistoryAndDecideStalenessByVersion) {
  auto stale_version = [&]() -> std::optional<std::string> {
    for (const auto& o : store_->StaleDecisions()) {
      if (store_->FindOrg(o.slug)->id == org_) return o.rules_version;
    }
    return std::nullopt;
  };
  // The default set is shared by every organization of the database (PostgreSQL keeps other tests' too).
  const std::optional<json> before = store_->DefaultRuleSet();
  if (!before) {
    EXPECT_EQ(stale_version(), std::nullopt);  // no rules, none recomputed
  }
  if (auto v = stale_version()) store_->MarkRecomputed(org_, 0, *v);
  const std::string d1 = test::UniqueSlug("d1"), d2 = test::UniqueSlug("d2"), o1 = test::UniqueSlug("o1");

  const json v1 = {{"a.py", "# " + d1}}, v2 = {{"a.py", "# " + o1}};
  EXPECT_TRUE(store_->ApplyRuleSet(std::nullopt, d1, v1, json::array(), "serve --rules rules"));
  EXPECT_FALSE(store_->ApplyRuleSet(std::nullopt, d1, v1, json::array(), "again"));  // already active: no history row
  EXPECT_EQ(store_->DefaultRuleSet()->at("version"), d1);
  EXPECT_EQ(stale_version(), d1);  // decided by the default now
  store_->MarkRecomputed(org_, 0, d1);
  EXPECT_EQ(stale_version(), std::nullopt);

  EXPECT_TRUE(store_->ApplyRuleSet(org_, o1, v2, json::parse(R"([{"key": "tier"}])"), "rules apply"));
  EXPECT_EQ(stale_version(), o1);  // its own set wins over the default
  EXPECT_EQ(store_->DeclaredSettings(org_)[0]["key"], "tier");
  EXPECT_EQ(store_->ActiveRuleSet(org_)["scope"], "organization");
  EXPECT_EQ(store_->ActiveRuleSet(org_)["files"], v2);
  int with_o1 = 0;
  for (const auto& [slug, version] : store_->ActiveRuleSetVersions()) {
    if (version == o1) {
      ++with_o1;
      EXPECT_EQ(store_->FindOrg(slug)->id, org_);
    }
  }
  EXPECT_EQ(with_o1, 1);
  store_->MarkRecomputed(org_, 0, o1);
  EXPECT_TRUE(store_->ApplyRuleSet(std::nullopt, d2, v2, json::array(), "rules apply --default"));
  EXPECT_EQ(stale_version(), std::nullopt);  // the default changed, but it is not decided by it

  EXPECT_TRUE(store_->ClearRuleSet(org_));
  EXPECT_FALSE(store_->ClearRuleSet(org_));
  EXPECT_EQ(stale_version(), d2);
  EXPECT_EQ(store_->ActiveRuleSet(org_)["scope"], "default");
  EXPECT_EQ(store_->ActiveRuleSet(org_)["version"], d2);
  for (const auto& [slug, set] : store_->RuleSets()) {
    EXPECT_NE(set["version"], o1) << slug;
  }

  const auto history = store_->RuleSetHistory(org_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["version"], "");  // newest first: the clear, then the apply
  EXPECT_EQ(history[1]["version"], o1);
  EXPECT_EQ(history[1]["origin"], "rules apply");
  const auto defaults = store_->RuleSetHistory(std::nullopt);
  ASSERT_GE(defaults.size(), 2u);
  EXPECT_EQ(defaults[0]["version"], d2);
  EXPECT_EQ(defaults[1]["version"], d1);
  EXPECT_EQ(*store_->RuleSetFiles(o1), v2);
  EXPECT_EQ(store_->ActiveRuleSetVersions().at(""), d2);

  // Put back what other users of the database had.
  if (before) {
    EXPECT_TRUE(store_->ApplyRuleSet(std::nullopt, before->at("version"), before->at("files"), before->at("settings"), "test restores"));
  } else {
    EXPECT_TRUE(store_->ClearRuleSet(std::nullopt));
    EXPECT_FALSE(store_->ClearRuleSet(std::nullopt));
    EXPECT_FALSE(store_->DefaultRuleSet().has_value());
    EXPECT_EQ(store_->RuleSetHistory(std::nullopt)[0]["version"], "");
  }
  EXPECT_FALSE(store_->RuleSetFiles("nope").has_value());
  EXPECT_FALSE(store_->RuleSetFiles("").has_value());
}

TEST_P(StoreTest, ChangingASettingDecisionsReadMarksTheOrganizationStaleUntilRecomputed) {
  const std::string rules;  // the rule-set version recomputed with does not matter here
  auto stale = [&] {
    long long rev = -1;
    for (const auto& o : store_->StaleDecisions())
      if (store_->FindOrg(o.slug)->id == org_ && o.settings_changed) rev = o.settings_rev;
    return rev;
  };
  EXPECT_EQ(stale(), -1);
  EXPECT_TRUE(store_->WriteSetting(org_, "scim_sync", "off", false));
  EXPECT_EQ(stale(), -1);  // not a decision input
  EXPECT_TRUE(store_->WriteSetting(org_, "default_policy", "deny", true));
  EXPECT_EQ(stale(), 1);
  EXPECT_FALSE(store_->WriteSetting(org_, "default_policy", "deny", true));  // unchanged: no new revision
  EXPECT_TRUE(store_->WriteSetting(org_, "user_group", "Fluid User", true));
  EXPECT_EQ(stale(), 2);
  store_->MarkRecomputed(org_, 1, rules);  // a recompute that started before the second change
  EXPECT_EQ(stale(), 2);
  store_->MarkRecomputed(org_, 2, rules);
  EXPECT_EQ(stale(), -1);
  EXPECT_TRUE(store_->WriteSetting(org_, "user_group", std::nullopt, true));
  EXPECT_FALSE(store_->WriteSetting(org_, "user_group", std::nullopt, true));  // already unset
  EXPECT_EQ(stale(), 3);
  EXPECT_EQ(store_->Settings(org_).count("user_group"), 0u);
  EXPECT_EQ(store_->Settings(org_).at("default_policy"), "deny");
}
