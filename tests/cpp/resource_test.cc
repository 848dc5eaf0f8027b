#include "scim/resource.h"

#include <gtest/gtest.h>

#include "scimitar/error.h"

using namespace scimitar;
using namespace scimitar::scim;
using json = nlohmann::json;

namespace {
std::string ErrorOf(const json& body, const ResourceTypeDef& t = UserType()) {
  try {
    Normalize(t, body, true);
  } catch (const ScimError& e) {
    return e.scim_type() + ": " + e.what();
  }
  return "no error";
}
}  // namespace

TEST(Resource, NormalizesNamesTypesAndDropsReadOnly) {
  json in = {{"schemas", {kUserUrn, kEnterpriseUrn}},
             {"USERNAME", "bjensen"},
             {"Active", "True"},
             {"id", "client-chosen"},
             {"meta", {{"created", "x"}}},
             {"groups", {{{"value", "g"}}}},
             {"name", {{"GIVENNAME", "Barbara"}}},
             {"unknownThing", 1},
             {kEnterpriseUrn, {{"Department", "R&D"}}}};
  json doc = Normalize(UserType(), in, true).doc;
  EXPECT_EQ(doc, json({{"userName", "bjensen"},
                       {"active", true},
                       {"name", {{"givenName", "Barbara"}}},
                       {kEnterpriseUrn, {{"department", "R&D"}}}}));
}

TEST(Resource, RefusesBadInputWithInvalidValue) {
  EXPECT_EQ(ErrorOf({{"userName", "a"}}).rfind("invalidValue: 'schemas'", 0), 0u);
  EXPECT_EQ(ErrorOf({{"schemas", {kUserUrn}}}).rfind("invalidValue: 'userName' is required", 0), 0u);
  EXPECT_EQ(ErrorOf({{"schemas", {kUserUrn}}, {"userName", 5}}).rfind("invalidValue", 0), 0u);
  EXPECT_EQ(ErrorOf({{"schemas", {kUserUrn}}, {"userName", "a"}, {"active", "maybe"}}).rfind("invalidValue", 0), 0u);
  EXPECT_EQ(ErrorOf({{"schemas", {kUserUrn}}, {"userName", "a"}, {"emails", {{{"value", 7}}}}}).rfind("invalidValue", 0), 0u);
  EXPECT_EQ(ErrorOf({{"schemas", {kGroupUrn}}, {"displayName", "g"}, {"members", {{{"display", "x"}}}}}, GroupType())
                .rfind("invalidValue", 0),
            0u);
  EXPECT_EQ(ErrorOf(json::array()).rfind("invalidSyntax", 0), 0u);
}

TEST(Resource, GroupMembersAreSeparatedFromTheDocument) {
  NormalizedResource n = Normalize(GroupType(),
                                   {{"schemas", {kGroupUrn}}, {"displayName", "Admins"}, {"members", {{{"value", "u1"}}}}}, true);
  EXPECT_FALSE(n.doc.contains("members"));
  ASSERT_TRUE(n.members);
  EXPECT_EQ(*n.members, std::vector<std::string>{"u1"});
}

TEST(Resource, RenderAddsMetaAndHonoursProjection) {
  ResourceRow row{"id1", json({{"userName", "b"}, {"displayName", "B"}, {"name", {{"givenName", "G"}, {"familyName", "F"}}}}).dump(), 3,
                  "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"};
  std::vector<MemberRef> groups{{"g1", "Group", "Admins"}};
  json full = json::parse(Render(UserType(), row, "http://h/scim/v2", &groups, Projection{}));
  EXPECT_EQ(full["meta"]["version"], "W/\"3\"");
  EXPECT_EQ(full["meta"]["location"], "http://h/scim/v2/Users/id1");
  EXPECT_EQ(full["groups"][0]["$ref"], "http://h/scim/v2/Groups/g1");
  json some = json::parse(Render(UserType(), row, "http://h", &groups, ParseProjection(UserType(), "name.givenName", "")));
  EXPECT_EQ(some, json({{"schemas", {kUserUrn}}, {"id", "id1"}, {"name", {{"givenName", "G"}}}}));
  json less = json::parse(Render(UserType(), row, "http://h", &groups, ParseProjection(UserType(), "", "displayName,meta,groups")));
  EXPECT_FALSE(less.contains("displayName"));
  EXPECT_FALSE(less.contains("meta"));
  EXPECT_FALSE(less.contains("groups"));
  EXPECT_TRUE(less.contains("userName"));
  EXPECT_THROW(ParseProjection(UserType(), "nosuch", ""), ScimError);
}

TEST(Resource, RenderCopiesStoredValuesAndMatchesTheDocument) {
  // As PostgreSQL returns jsonb text: spaced, keys in its own order; with an extension, an undeclared
  // extension kept verbatim, a stale attribute no schema declares, and strings that need escaping.
  const std::string stored =
      R"({"title": "Dr \"Q\"", "userName": "b\u00e9", "stale": 1, "externalId": "x1", "password": "secret",)"
      R"( "name": {"givenName": "G", "familyName": "F"}, "emails": [{"value": "a@x", "type": "work"}],)"
      R"( "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "nosuch": 2},)"
      R"( "urn:okta:app:1.0:user:custom": {"role": "admin"}})";
  ResourceRow row{"id1", stored, 7, "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"};
  std::vector<MemberRef> groups{{"g1", "Group", "Admins \"A\""}};
  json full = json::parse(Render(UserType(), row, "http://h/scim/v2", &groups, Projection{}));
  json expected = {
      {"schemas", {kUserUrn, kEnterpriseUrn, "urn:okta:app:1.0:user:custom"}},
      {"id", "id1"},
      {"externalId", "x1"},
      {"userName", "b\u00e9"},
      {"title", "Dr \"Q\""},
      {"name", {{"givenName", "G"}, {"familyName", "F"}}},
      {"emails", {{{"value", "a@x"}, {"type", "work"}}}},
      {"groups", {{{"value", "g1"}, {"$ref", "http://h/scim/v2/Groups/g1"}, {"display", "Admins \"A\""}, {"type", "direct"}}}},
      {kEnterpriseUrn, {{"department", "D"}}},
      {"urn:okta:app:1.0:user:custom", {{"role", "admin"}}},
      {"meta",
       {{"resourceType", "User"},
        {"created", "2026-01-01T00:00:00.000Z"},
        {"lastModified", "2026-01-02T00:00:00.000Z"},
        {"location", "http://h/scim/v2/Users/id1"},
        {"version", "W/\"7\""}}}};
  EXPECT_EQ(full, expected);
  // Sub-attribute projections trim the value; the rest stays as stored.
  json some = json::parse(Render(UserType(), row, "http://h", &groups,
                                 ParseProjection(UserType(), "emails.type,meta.version," + std::string(kEnterpriseUrn) + ":department", "")));
  EXPECT_EQ(some, json({{"schemas", {kUserUrn, kEnterpriseUrn, "urn:okta:app:1.0:user:custom"}},
                        {"id", "id1"},
                        {"emails", {{{"type", "work"}}}},
                        {kEnterpriseUrn, {{"department", "D"}}},
                        {"urn:okta:app:1.0:user:custom", {{"role", "admin"}}},
                        {"meta", {{"version", "W/\"7\""}}}}));
  json fewer = json::parse(Render(UserType(), row, "http://h", &groups, ParseProjection(UserType(), "", "name.familyName,groups")));
  EXPECT_EQ(fewer["name"], json({{"givenName", "G"}}));
  EXPECT_FALSE(fewer.contains("groups"));
  EXPECT_FALSE(fewer.contains("password"));
}
