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
  ResourceRow row{"id1", {{"userName", "b"}, {"displayName", "B"}, {"name", {{"givenName", "G"}, {"familyName", "F"}}}}, 3,
                  "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"};
  std::vector<MemberRef> groups{{"g1", "Group", "Admins"}};
  json full = Render(UserType(), row, "http://h/scim/v2", &groups, Projection{});
  EXPECT_EQ(full["meta"]["version"], "W/\"3\"");
  EXPECT_EQ(full["meta"]["location"], "http://h/scim/v2/Users/id1");
  EXPECT_EQ(full["groups"][0]["$ref"], "http://h/scim/v2/Groups/g1");
  json some = Render(UserType(), row, "http://h", &groups, ParseProjection(UserType(), "name.givenName", ""));
  EXPECT_EQ(some, json({{"schemas", {kUserUrn}}, {"id", "id1"}, {"name", {{"givenName", "G"}}}}));
  json less = Render(UserType(), row, "http://h", &groups, ParseProjection(UserType(), "", "displayName,meta,groups"));
  EXPECT_FALSE(less.contains("displayName"));
  EXPECT_FALSE(less.contains("meta"));
  EXPECT_FALSE(less.contains("groups"));
  EXPECT_TRUE(less.contains("userName"));
  EXPECT_THROW(ParseProjection(UserType(), "nosuch", ""), ScimError);
}
