#include "store/filter_sql.h"

#include <gtest/gtest.h>

#include "scimitar/error.h"

using namespace scimitar;
using namespace scimitar::scim;
using store::Backend;

namespace {
store::SqlFragment Sql(const std::string& f, Backend b = Backend::Sqlite, const ResourceTypeDef& t = UserType()) {
  return store::TranslateFilter(*ParseFilter(f), t, b);
}
}  // namespace

TEST(FilterSql, UserNameUsesTheFoldedIndexedColumn) {
  auto s = Sql("userName eq \"BJensen@Example.com\"");
  EXPECT_EQ(s.sql, "(r.name_folded = :f1)");
  ASSERT_EQ(s.binds.size(), 1u);
  EXPECT_EQ(s.binds[0].text, "bjensen@example.com");
}

TEST(FilterSql, ExternalIdIsCaseExact) {
  auto s = Sql("externalId eq \"AbC\"");
  EXPECT_EQ(s.sql, "(r.external_id = :f1)");
  EXPECT_EQ(s.binds[0].text, "AbC");
}

TEST(FilterSql, EmailEqualityUsesTheIndexedProjection) {
  auto s = Sql("emails.value eq \"A@x.com\"");
  EXPECT_EQ(s.sql, "(r.id IN (SELECT ue.user_id FROM user_emails ue WHERE ue.value_folded = :f1))");
  EXPECT_EQ(s.binds[0].text, "a@x.com");
  EXPECT_TRUE(s.drives);
  EXPECT_TRUE(Sql("emails.value eq \"a\" and active eq true").drives);
  EXPECT_FALSE(Sql("emails.value eq \"a\" or active eq true").drives);
  EXPECT_FALSE(Sql("not (emails.value eq \"a\")").drives);
  EXPECT_FALSE(Sql("userName eq \"a\"").drives);
}

TEST(FilterSql, MultiValuedSubAttributeBecomesExists) {
  auto s = Sql("emails.value sw \"A@x.com\"");
  EXPECT_NE(s.sql.find("EXISTS (SELECT 1 FROM json_each(r.doc, '$.\"emails\"') e"), std::string::npos) << s.sql;
  EXPECT_NE(s.sql.find("lower(json_extract(e.value, '$.\"value\"')) LIKE :f1"), std::string::npos) << s.sql;
  EXPECT_EQ(s.binds[0].text, "a@x.com%");
  auto pg = Sql("emails.value sw \"A@x.com\"", Backend::Postgres);
  EXPECT_NE(pg.sql.find("jsonb_array_elements"), std::string::npos) << pg.sql;
}

TEST(FilterSql, ValuePathAndOperatorsBindInOrder) {
  auto s = Sql("emails[type eq \"work\" and value co \"50%\"] or userName sw \"a_\"");
  ASSERT_EQ(s.binds.size(), 3u);
  EXPECT_EQ(s.binds[0].text, "work");
  EXPECT_EQ(s.binds[1].text, "%50\\%%");
  EXPECT_EQ(s.binds[2].text, "a\\_%");
  EXPECT_NE(s.sql.find(":f1"), std::string::npos);
  EXPECT_LT(s.sql.find(":f1"), s.sql.find(":f2"));
  EXPECT_LT(s.sql.find(":f2"), s.sql.find(":f3"));
}

TEST(FilterSql, EnterpriseExtensionPath) {
  auto s = Sql("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"R&D\"");
  EXPECT_NE(s.sql.find("$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"department\""),
            std::string::npos)
      << s.sql;
  auto pg = Sql("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"R&D\"", Backend::Postgres);
  EXPECT_NE(pg.sql.find("r.doc #>> '{urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,department}'"),
            std::string::npos)
      << pg.sql;
}

TEST(FilterSql, BooleansAndDates) {
  EXPECT_EQ(Sql("active eq true").sql, "(r.active = :f1)");
  EXPECT_EQ(Sql("active eq false", Backend::Postgres).sql, "((r.active = 1) = FALSE)");
  auto d = Sql("meta.lastModified gt \"2026-01-01T00:00:00Z\"");
  EXPECT_EQ(d.sql, "(r.modified > :f1)");
  EXPECT_EQ(d.binds[0].text, "2026-01-01T00:00:00.000Z");
}

TEST(FilterSql, GroupMembersGoThroughMemberships) {
  auto s = Sql("members.value eq \"abc\"", Backend::Sqlite, GroupType());
  EXPECT_NE(s.sql.find("FROM memberships m WHERE m.group_id = r.id"), std::string::npos) << s.sql;
  EXPECT_EQ(s.binds[0].text, "abc");
  auto g = Sql("displayName eq \"Admins\"", Backend::Sqlite, GroupType());
  EXPECT_EQ(g.sql, "(r.name_folded = :f1)");
}

TEST(FilterSql, RejectsWhatDoesNotApply) {
  EXPECT_THROW(Sql("nosuch eq \"x\""), ScimError);
  EXPECT_THROW(Sql("active gt true"), ScimError);
  EXPECT_THROW(Sql("name eq \"x\""), ScimError);           // complex without sub-attribute
  EXPECT_THROW(Sql("userName eq 5"), ScimError);           // number against a string
  EXPECT_THROW(Sql("meta.created gt \"yesterday\""), ScimError);
  try {
    Sql("emails[nosuch eq \"x\"]");
    FAIL();
  } catch (const ScimError& e) {
    EXPECT_EQ(e.scim_type(), "invalidFilter");
  }
}
