// Opening a database written by an earlier version migrates it and keeps what it holds.
#include <gtest/gtest.h>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "scim/filter.h"
#include "scim/schema.h"
#include "scimitar/error.h"
#include "scimitar/store.h"
#include "store/migrations.h"
#include "test_support.h"

using namespace scimitar;
using scim::ResourceKind;

namespace {

std::vector<std::string> UserNames(Store& store, long long org, const std::string& filter) {
  scim::Filter f = scim::ParseFilter(filter);
  Query q;
  q.filter = f.get();
  std::vector<std::string> out;
  for (const auto& r : store.Find(org, ResourceKind::User, q).rows) out.push_back(r.doc()["userName"]);
  return out;
}

}  // namespace

// Schema 4 kept decisions and email values in rowid tables and every resource name in one index;
// schema 5 keys them by user id and indexes group names apart.
TEST(MigrationTest, ASchema4SqliteDatabaseKeepsItsUsersDecisionsAndGroups) {
  const std::string url = test::UrlFor("sqlite");
  {
    soci::session sql(soci::sqlite3, url.substr(std::string("sqlite:///").size()));
    store::Migrate(sql, store::Backend::Sqlite, 4);
    sql << "INSERT INTO orgs (id, slug, name, created) VALUES (7, 'acme', 'Acme', '2026-01-01T00:00:00.000Z')";
    sql << "INSERT INTO resources (id, org_id, kind, managed, name, name_folded, display, external_id, active, doc, "
           "version, created, modified) VALUES ('u-1', 7, 'User', 1, 'Ann@acme.test', 'ann@acme.test', "
           "'Ann@acme.test', 'E-1', 1, '{\"userName\":\"Ann@acme.test\",\"emails\":[{\"value\":\"Ann@Work.test\"}]}', "
           "3, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')";
    sql << "INSERT INTO resources (id, org_id, kind, managed, name, name_folded, display, external_id, active, doc, "
           "version, created, modified) VALUES ('g-1', 7, 'Group', 1, 'Sales', 'sales', 'Sales', NULL, NULL, "
           "'{\"displayName\":\"Sales\"}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')";
    sql << "INSERT INTO user_emails (user_id, org_id, value_folded) VALUES ('u-1', 7, 'ann@work.test')";
    sql << "INSERT INTO decisions (user_id, org_id, provisioned, detail, error, updated) VALUES ('u-1', 7, 1, "
           "'{\"provisioned\":true,\"role\":\"admin\"}', NULL, '2026-01-01T00:00:00.000Z')";
  }
  auto store = Store::Open({url, 2});

  EXPECT_EQ(UserNames(*store, 7, "emails.value eq \"ANN@work.test\""), std::vector<std::string>{"Ann@acme.test"});
  EXPECT_EQ(UserNames(*store, 7, "userName eq \"ann@ACME.test\""), std::vector<std::string>{"Ann@acme.test"});
  auto decision = store->DecisionFor(7, "ANN@acme.test");
  ASSERT_TRUE(decision.has_value());
  EXPECT_TRUE(decision->provisioned);
  EXPECT_EQ(decision->detail.value("role", ""), "admin");
  auto groups = store->FindByKey(7, ResourceKind::Group, /*by_name=*/true, {"SALES"});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].id, "g-1");

  // The migrated tables take writes: the email projection follows a changed document.
  store->Modify(7, ResourceKind::User, "u-1", 3, [](const ResourceRow&) {
    return std::make_pair(nlohmann::json{{"userName", "Ann@acme.test"}, {"emails", {{{"value", "ann@home.test"}}}}},
                          MemberChanges{});
  });
  EXPECT_TRUE(UserNames(*store, 7, "emails.value eq \"ann@work.test\"").empty());
  EXPECT_EQ(UserNames(*store, 7, "emails.value eq \"ann@home.test\""), std::vector<std::string>{"Ann@acme.test"});
}

// Schema 6 makes managed group names unique; two managed groups that already shared a name keep
// working (found by name, renamed), while a new one with that name is refused.
TEST(MigrationTest, ManagedGroupsSharingANameBeforeSchema6StayUsable) {
  const std::string url = test::UrlFor("sqlite");
  {
    soci::session sql(soci::sqlite3, url.substr(std::string("sqlite:///").size()));
    store::Migrate(sql, store::Backend::Sqlite, 5);
    sql << "INSERT INTO orgs (id, slug, name, created) VALUES (7, 'acme', 'Acme', '2026-01-01T00:00:00.000Z')";
    for (const char* id : {"g-1", "g-2"})
      sql << "INSERT INTO resources (id, org_id, kind, managed, name, name_folded, display, external_id, active, doc, "
             "version, created, modified) VALUES ('" << id << "', 7, 'Group', 1, 'Sales', 'sales', 'Sales', NULL, "
             "NULL, '{\"displayName\":\"Sales\"}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')";
  }
  auto store = Store::Open({url, 2});
  EXPECT_EQ(store->FindByKey(7, ResourceKind::Group, /*by_name=*/true, {"sales"}).size(), 2u);
  try {
    store->Create(7, ResourceKind::Group, nlohmann::json{{"displayName", "SALES"}}, {});
    ADD_FAILURE() << "a third managed group named Sales was stored";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 409);
  }
  store->Modify(7, ResourceKind::Group, "g-2", 1, [](const ResourceRow&) {
    return std::make_pair(nlohmann::json{{"displayName", "Sales EMEA"}}, MemberChanges{});
  });
  EXPECT_EQ(store->FindByKey(7, ResourceKind::Group, /*by_name=*/true, {"sales emea"}).size(), 1u);
}
