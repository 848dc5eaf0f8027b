#include "scim/patch.h"

#include <gtest/gtest.h>

#include "scim/resource.h"
#include "scimitar/error.h"

using namespace scimitar;
using namespace scimitar::scim;
using json = nlohmann::json;

namespace {

json Ops(json ops) { return {{"schemas", {kPatchOpUrn}}, {"Operations", ops}}; }

json PatchUser(json doc, json ops) {
  PatchOutcome out = ApplyPatch(UserType(), "u1", std::move(doc), Ops(std::move(ops)));
  return Normalize(UserType(), out.doc, false).doc;
}

std::string ScimTypeOf(json doc, json ops, const ResourceTypeDef& type = UserType()) {
  try {
    ApplyPatch(type, "u1", std::move(doc), Ops(std::move(ops)));
  } catch (const ScimError& e) {
    return e.scim_type();
  }
  return "no error";
}

const json kUser = {{"userName", "bjensen"},
                    {"active", true},
                    {"name", {{"givenName", "Barbara"}, {"familyName", "Jensen"}}},
                    {"emails", {{{"type", "work"}, {"value", "b@example.com"}}}}};

}  // namespace

TEST(Patch, EntraReplaceActiveWithStringBooleanAndCapitalizedOp) {
  json doc = PatchUser(kUser, {{{"op", "Replace"}, {"path", "active"}, {"value", "False"}}});
  EXPECT_EQ(doc["active"], false);
}

TEST(Patch, NoPathReplaceWithDottedAndUrnKeys) {
  json doc = PatchUser(kUser, {{{"op", "replace"},
                                {"value",
                                 {{"name.givenName", "Babs"},
                                  {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "R&D"},
                                  {"displayName", "Babs Jensen"}}}}});
  EXPECT_EQ(doc["name"]["givenName"], "Babs");
  EXPECT_EQ(doc["name"]["familyName"], "Jensen");
  EXPECT_EQ(doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "R&D");
  EXPECT_EQ(doc["displayName"], "Babs Jensen");
}

TEST(Patch, ValuePathSubAttributeReplaceAndEntraAddIfAbsent) {
  json doc = PatchUser(kUser, {{{"op", "replace"}, {"path", "emails[type eq \"work\"].value"}, {"value", "new@example.com"}}});
  EXPECT_EQ(doc["emails"].size(), 1u);
  EXPECT_EQ(doc["emails"][0]["value"], "new@example.com");
  doc = PatchUser(kUser, {{{"op", "add"}, {"path", "emails[type eq \"home\"].value"}, {"value", "home@example.com"}}});
  ASSERT_EQ(doc["emails"].size(), 2u);
  EXPECT_EQ(doc["emails"][1], json({{"type", "home"}, {"value", "home@example.com"}}));
}

TEST(Patch, AddressesLocalityThroughValuePath) {
  json doc = PatchUser(kUser, {{{"op", "add"}, {"path", "addresses[type eq \"work\"].locality"}, {"value", "Oslo"}}});
  EXPECT_EQ(doc["addresses"][0]["locality"], "Oslo");
  EXPECT_EQ(doc["addresses"][0]["type"], "work");
}

TEST(Patch, RemoveAttributeAndFilteredValues) {
  json doc = PatchUser(kUser, {{{"op", "remove"}, {"path", "name.givenName"}}});
  EXPECT_FALSE(doc["name"].contains("givenName"));
  doc = PatchUser(kUser, {{{"op", "remove"}, {"path", "emails[type eq \"work\"]"}}});
  EXPECT_FALSE(doc.contains("emails"));
}

TEST(Patch, ReadOnlyAttributesAreRefused) {
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "replace"}, {"path", "meta.created"}, {"value", "2020-01-01T00:00:00Z"}}}), "mutability");
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "replace"}, {"path", "id"}, {"value", "other"}}}), "mutability");
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "add"}, {"path", "groups"}, {"value", {{{"value", "g"}}}}}}), "mutability");
}

TEST(Patch, BadRequestsAreRefusedWithTheirScimType) {
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "remove"}}}), "noTarget");
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "jump"}, {"path", "active"}, {"value", true}}}), "invalidValue");
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "replace"}, {"path", "nosuch"}, {"value", 1}}}), "invalidPath");
  EXPECT_EQ(ScimTypeOf(kUser, {{{"op", "replace"}, {"path", "emails[type eq \"home\"]"}, {"value", 1}}}), "invalidValue");
  EXPECT_THROW(ApplyPatch(UserType(), "u1", kUser, {{"Operations", json::array()}}), ScimError);
}

TEST(Patch, GroupMembersBecomeEdgeChangesNotADocument) {
  json group = {{"displayName", "Admins"}};
  PatchOutcome add = ApplyPatch(GroupType(), "g1", group,
                                Ops({{{"op", "Add"}, {"path", "members"}, {"value", {{{"value", "u1"}}, {{"value", "u2"}}}}}}));
  EXPECT_EQ(add.members.add, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_FALSE(add.members.replace_all);
  EXPECT_FALSE(add.doc.contains("members"));

  // Entra ID removes listed members with path "members" plus a value list: only those go.
  PatchOutcome entra = ApplyPatch(GroupType(), "g1", group,
                                  Ops({{{"op", "Remove"}, {"path", "members"}, {"value", {{{"value", "u1"}}}}}}));
  EXPECT_EQ(entra.members.remove, std::vector<std::string>{"u1"});
  EXPECT_FALSE(entra.members.replace_all);

  PatchOutcome filtered = ApplyPatch(GroupType(), "g1", group,
                                     Ops({{{"op", "remove"}, {"path", "members[value eq \"u2\"]"}}}));
  EXPECT_EQ(filtered.members.remove, std::vector<std::string>{"u2"});

  PatchOutcome all = ApplyPatch(GroupType(), "g1", group, Ops({{{"op", "remove"}, {"path", "members"}}}));
  EXPECT_TRUE(all.members.replace_all);
  EXPECT_TRUE(all.members.add.empty());

  PatchOutcome rename = ApplyPatch(GroupType(), "g1", group,
                                   Ops({{{"op", "replace"}, {"value", {{"id", "g1"}, {"displayName", "Ops"}}}}}));
  EXPECT_EQ(rename.doc["displayName"], "Ops");
  EXPECT_TRUE(rename.members.empty());
}
