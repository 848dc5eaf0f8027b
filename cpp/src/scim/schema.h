// SCIM schema definitions (RFC 7643): the attribute model that drives validation, filter
// translation, PATCH path resolution and the /Schemas document. Built once; immutable; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scimitar::scim {

enum class AttrType { String, Boolean, Decimal, Integer, DateTime, Reference, Complex, Binary };
enum class Mutability { ReadOnly, ReadWrite, Immutable, WriteOnly };
enum class Returned { Always, Never, Default, Request };
enum class Uniqueness { None, Server, Global };

struct AttributeDef {
  std::string name;
  AttrType type = AttrType::String;
  bool multi = false;
  bool required = false;
  bool case_exact = false;
  Mutability mutability = Mutability::ReadWrite;
  Returned returned = Returned::Default;
  Uniqueness uniqueness = Uniqueness::None;
  std::string description;
  std::vector<std::string> canonical;
  std::vector<std::string> reference_types;
  std::vector<AttributeDef> subs;

  // Case-insensitive lookup of a sub-attribute; nullptr when absent.
  const AttributeDef* Sub(const std::string& name) const;
};

struct SchemaDef {
  std::string id;
  std::string name;
  std::string description;
  std::vector<AttributeDef> attributes;

  const AttributeDef* Find(const std::string& name) const;
};

enum class ResourceKind { User, Group };

struct ResourceTypeDef {
  ResourceKind kind;
  std::string name;       // "User"
  std::string endpoint;   // "/Users"
  const SchemaDef* core;  // never null
  std::vector<const SchemaDef*> extensions;

  // The schema whose URN equals `urn` (case-insensitive), core or extension; nullptr when unknown.
  const SchemaDef* SchemaFor(const std::string& urn) const;
};

// Common attributes (id, externalId, meta) apply to every resource type.
const SchemaDef& CommonAttributes();
const SchemaDef& UserSchema();
const SchemaDef& EnterpriseUserSchema();
const SchemaDef& GroupSchema();
const ResourceTypeDef& UserType();
const ResourceTypeDef& GroupType();
const ResourceTypeDef& TypeOf(ResourceKind kind);

extern const char* const kUserUrn;
extern const char* const kEnterpriseUrn;
extern const char* const kGroupUrn;
extern const char* const kListResponseUrn;
extern const char* const kPatchOpUrn;
extern const char* const kErrorUrn;

// A resolved attribute reference: where it lives in a stored document and what it is.
struct ResolvedAttr {
  const SchemaDef* schema = nullptr;    // owning schema; CommonAttributes() for id/externalId/meta
  bool extension = false;              // true: lives under doc[schema->id]
  const AttributeDef* attr = nullptr;  // top-level attribute
  const AttributeDef* sub = nullptr;   // sub-attribute, or nullptr
};

// Resolves "userName", "name.givenName", "urn:...:User:emails.value", "urn:...:enterprise:2.0:User:manager.value"
// against a resource type (case-insensitive, as RFC 7643 section 2.1 requires). Throws
// ScimError(invalid_type) naming the path when it does not resolve.
ResolvedAttr Resolve(const ResourceTypeDef& type, const std::string& schema_urn, const std::string& attr,
                     const std::string& sub, const char* invalid_type);

bool EqualsIgnoreCase(const std::string& a, const std::string& b);
std::string ToLower(std::string s);

// The RFC 7643 section 7 spellings ("string", "readOnly", "default", "server", ...).
const char* TypeName(AttrType t);
const char* MutabilityName(Mutability m);
const char* ReturnedName(Returned r);
const char* UniquenessName(Uniqueness u);

nlohmann::json SchemaToJson(const SchemaDef& schema, const std::string& base_url);
nlohmann::json ResourceTypeToJson(const ResourceTypeDef& type, const std::string& base_url);

}  // namespace scimitar::scim
