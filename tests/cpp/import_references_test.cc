// Names in import rows (import_references.h) and text cells for numbers (Normalize with Values::Text).
#include <gtest/gtest.h>

#include "scim/resource.h"
#include "scim/schema.h"
#include "scimitar/error.h"
#include "service/import_references.h"

using namespace scimitar;
using json = nlohmann::json;

TEST(ImportReferences, UserRowsGiveGroupsAndAManagerByName) {
  json body = {{"userName", "ann"},
               {"Groups", {"Engineering", {{"display", "Staff"}}}},
               {scim::kEnterpriseUrn, {{"department", "R&D"}, {"manager", {{"userName", "boss"}, {"displayName", "B"}}}}}};
  auto refs = service::TakeReferences(scim::ResourceKind::User, body);
  EXPECT_EQ(refs.groups, (std::vector<std::string>{"Engineering", "Staff"}));
  EXPECT_EQ(*refs.manager, (json{{"userName", "boss"}, {"displayName", "B"}}));
  EXPECT_FALSE(body.contains("Groups"));
  EXPECT_EQ(body[scim::kEnterpriseUrn], (json{{"department", "R&D"}}));

  service::NameIndex names;
  names.by_user_name["boss"] = "id-boss";
  EXPECT_EQ(*service::ResolvedManager(json{{"userName", "BOSS"}, {"displayName", "B"}}, names),
            (json{{"value", "id-boss"}, {"displayName", "B"}}));
  EXPECT_FALSE(service::ResolvedManager(json{{"userName", "nobody"}}, names).has_value());

  json scim_groups = {{"groups", {{{"display", "Eng"}, {"type", "direct"}}, {{"display", "All"}, {"type", "indirect"}}}}};
  EXPECT_EQ(service::TakeReferences(scim::ResourceKind::User, scim_groups).groups, std::vector<std::string>{"Eng"});
  json null_groups = {{"groups", nullptr}};
  EXPECT_TRUE(service::TakeReferences(scim::ResourceKind::User, null_groups).empty());

  json by_id = {{scim::kEnterpriseUrn, {{"manager", {{"value", "x"}}}}}};
  EXPECT_TRUE(service::TakeReferences(scim::ResourceKind::User, by_id).empty());  // ids pass through
}

TEST(ImportReferences, MalformedNamesAreRefused) {
  for (json body : {json{{"groups", "Engineering"}}, json{{"groups", {""}}}, json{{"groups", {{{"value", "id"}}}}},
                    json{{scim::kEnterpriseUrn, {{"manager", {{"userName", "a"}, {"value", "b"}}}}}}}) {
    EXPECT_THROW(service::TakeReferences(scim::ResourceKind::User, body), ScimError) << body.dump();
  }
  json both = {{"members", {{{"userName", "a"}, {"externalId", "b"}}}}};
  EXPECT_THROW(service::TakeReferences(scim::ResourceKind::Group, both), ScimError);
}

TEST(ImportReferences, GroupRowsNameMembersByUserNameOrExternalId) {
  json body = {{"displayName", "G"},
               {"members", {{{"value", "id-1"}}, {{"userName", "ann"}}, {{"externalId", "E2"}}}}};
  auto refs = service::TakeReferences(scim::ResourceKind::Group, body);
  EXPECT_EQ(refs.members, (std::vector<std::pair<std::string, std::string>>{{"userName", "ann"}, {"externalId", "E2"}}));
  EXPECT_EQ(body["members"], (json{{{"value", "id-1"}}}));
}

TEST(NormalizeTextValues, NumbersWrittenAsTextAreAcceptedOnlyFromImportRows) {
  scim::SchemaDef app;
  app.id = "urn:acme:app";
  scim::AttributeDef seats;
  seats.name = "seats";
  seats.type = scim::AttrType::Integer;
  app.attributes.push_back(seats);
  scim::ResourceTypeDef type = scim::UserType();
  type.extensions.push_back(&app);
  const json body = {{"schemas", {scim::kUserUrn, "urn:acme:app"}}, {"userName", "a"}, {"urn:acme:app", {{"seats", "12"}}}};
  EXPECT_THROW(scim::Normalize(type, body, true), ScimError);  // SCIM requests send JSON numbers
  EXPECT_EQ(scim::Normalize(type, body, true, scim::Values::Text).doc["urn:acme:app"]["seats"], 12);
  for (const char* bad : {"12.5", "twelve", "", "1e400"}) {
    json b = body;
    b["urn:acme:app"]["seats"] = bad;
    EXPECT_THROW(scim::Normalize(type, b, true, scim::Values::Text), ScimError) << bad;
  }
}
