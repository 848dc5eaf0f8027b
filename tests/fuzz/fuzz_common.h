// Shared pieces of the libFuzzer targets: resource types (standard, without the enterprise extension,
// with declared extensions), fixed stored documents, input splitting and Fail. Any exception a target
// does not catch escapes to libFuzzer, which reports it as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "scim/extensions.h"
#include "scim/filter.h"
#include "scim/json_text.h"
#include "scim/schema.h"
#include "scimitar/error.h"
#include "scimitar/store.h"

namespace fuzz {

inline const char* const kAppUserUrn = "urn:okta:scimitar_app:1.0:user:custom";
inline const char* const kAppGroupUrn = "urn:example:params:scim:schemas:extension:app:2.0:Group";

// A declared User extension touching every attribute type and characteristic, as an Okta app
// extension would be declared (tests/python/test_extensions.py), plus a Group extension.
inline std::vector<scimitar::scim::ExtensionDefinition> DeclaredExtensions() {
  using nlohmann::json;
  json user = {
      {"id", kAppUserUrn},
      {"name", "OktaAppUser"},
      {"description", "fuzz"},
      {"attributes",
       json::array({
           {{"name", "role"}, {"type", "string"}, {"canonicalValues", {"admin", "editor", "viewer"}}},
           {{"name", "seats"}, {"type", "integer"}},
           {{"name", "ratio"}, {"type", "decimal"}},
           {{"name", "vip"}, {"type", "boolean"}},
           {{"name", "since"}, {"type", "dateTime"}},
           {{"name", "avatar"}, {"type", "binary"}},
           {{"name", "profile"}, {"type", "reference"}, {"referenceTypes", {"external"}}},
           {{"name", "permissions"}, {"type", "string"}, {"multiValued", true}},
           {{"name", "badge"},
            {"type", "complex"},
            {"subAttributes",
             json::array({{{"name", "number"}, {"type", "string"}, {"caseExact", true}, {"required", true}},
                          {{"name", "issued"}, {"type", "dateTime"}}})}},
           {{"name", "devices"},
            {"type", "complex"},
            {"multiValued", true},
            {"subAttributes",
             json::array({{{"name", "serial"}, {"type", "string"}, {"caseExact", true}},
                          {{"name", "count"}, {"type", "integer"}}})}},
           {{"name", "secret"}, {"type", "string"}, {"returned", "never"}, {"mutability", "writeOnly"}},
           {{"name", "badgeId"}, {"type", "string"}, {"mutability", "immutable"}},
           {{"name", "computed"}, {"type", "string"}, {"mutability", "readOnly"}},
           {{"name", "costCenterCode"}, {"type", "string"}, {"required", true}, {"returned", "always"}},
       })}};
  json group = {{"id", kAppGroupUrn},
                {"name", "AppGroup"},
                {"attributes", json::array({{{"name", "tier"}, {"type", "string"}},
                                            {{"name", "owners"}, {"type", "string"}, {"multiValued", true}}})}};
  return {{"User", user}, {"Group", group}};
}

inline const scimitar::scim::TypeSet& ExtendedTypes() {
  static const scimitar::scim::TypeSet* types = new scimitar::scim::TypeSet(DeclaredExtensions());
  return *types;
}

// User without the enterprise extension.
inline const scimitar::scim::ResourceTypeDef& BareUserType() {
  static const scimitar::scim::ResourceTypeDef* t = new scimitar::scim::ResourceTypeDef{
      scimitar::scim::ResourceKind::User, "User", "/Users", &scimitar::scim::UserSchema(), {}};
  return *t;
}

// 0: standard User (core + enterprise), 1: standard Group, 2: User without enterprise,
// 3: User with enterprise + declared extension, 4: Group with declared extension.
inline const scimitar::scim::ResourceTypeDef& TypeVariant(unsigned v) {
  using scimitar::scim::ResourceKind;
  switch (v % 5) {
    case 0: return scimitar::scim::StandardTypes().Of(ResourceKind::User);
    case 1: return scimitar::scim::StandardTypes().Of(ResourceKind::Group);
    case 2: return BareUserType();
    case 3: return ExtendedTypes().Of(ResourceKind::User);
    default: return ExtendedTypes().Of(ResourceKind::Group);
  }
}

// A stored User as Entra ID leaves it (attributes only: no id/meta, as the store keeps it).
inline nlohmann::json StoredUser() {
  return nlohmann::json::parse(R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
              "urn:okta:scimitar_app:1.0:user:custom"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7b2d0c6a6f11",
  "userName": "Test_User_ab6490ee@contoso.com",
  "active": true,
  "displayName": "Test User",
  "title": "Engineer",
  "preferredLanguage": "en-US",
  "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
  "emails": [{"primary": true, "type": "work", "value": "Test_User_ab6490ee@contoso.com"},
             {"primary": false, "type": "home", "value": "test@example.org"}],
  "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"}],
  "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Seattle", "region": "WA",
                 "postalCode": "98101", "country": "US", "primary": true}],
  "roles": [{"value": "reader", "primary": false}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "1234", "department": "R&D", "costCenter": "42", "organization": "Contoso",
    "division": "Cloud", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
  "urn:okta:scimitar_app:1.0:user:custom": {"role": "admin", "seats": 3, "permissions": ["export"],
    "badge": {"number": "B-1", "issued": "2024-01-02T03:04:05Z"}, "costCenterCode": "CC"}
})");
}

inline nlohmann::json StoredGroup() {
  return nlohmann::json::parse(R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
  "displayName": "Engineering",
  "urn:example:params:scim:schemas:extension:app:2.0:Group": {"tier": "gold", "owners": ["a", "b"]}
})");
}

// The ids the fixed documents carry (members of the Group point at users with these ids).
inline const char* const kUserId = "0190d1a2-7b3c-7def-8abc-0123456789ab";
inline const char* const kGroupId = "0190d1a2-7b3c-7def-8abc-0123456789ac";

inline scimitar::ResourceRow RowOf(const std::string& id, const nlohmann::json& doc, long long version = 3) {
  scimitar::ResourceRow row;
  row.id = id;
  row.doc_text = scimitar::scim::DumpJson(doc);
  row.version = version;
  row.created = "2024-01-02T03:04:05.000Z";
  row.modified = "2024-02-03T04:05:06.000Z";
  return row;
}

// Splits `data` at the first `n - 1` occurrences of `sep` into n fields (missing ones are empty).
inline std::vector<std::string> Fields(std::string_view data, size_t n, char sep = '\n') {
  std::vector<std::string> out;
  while (out.size() + 1 < n) {
    size_t at = data.find(sep);
    if (at == std::string_view::npos) break;
    out.emplace_back(data.substr(0, at));
    data.remove_prefix(at + 1);
  }
  out.emplace_back(data);
  out.resize(n);
  return out;
}

// An invariant of the code under test does not hold: report and abort so libFuzzer saves the input.
[[noreturn]] inline void Fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz invariant failed: %s %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace fuzz
