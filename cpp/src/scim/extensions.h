// Schema extensions an organization declares (RFC 7643 section 3.3), and the resource types that
// include them. Built from stored definitions; immutable once built; thread-safe to share.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scim/schema.h"

namespace scimitar::scim {

// One declared extension as stored: the resource type it extends and its schema document
// ({"id": "urn:...", "name", "description", "attributes": [...]}, the shape /Schemas serves).
struct ExtensionDefinition {
  std::string resource_type;  // "User" or "Group"
  nlohmann::json schema;
};

// Validates a schema document and builds its definition. Attribute fields follow RFC 7643 section 7
// (type, multiValued, required, caseExact, mutability, returned, uniqueness, canonicalValues,
// referenceTypes, subAttributes one level deep); omitted ones take the RFC defaults. Throws
// ScimError 400 invalidValue naming what is wrong: a URN that is not "urn:..." or is a standard
// schema's, a bad attribute name or type, a duplicate name.
SchemaDef ParseExtension(const nlohmann::json& schema);

// The organization's resource types: the standard ones plus its declared extensions.
class TypeSet {
 public:
  // Throws like ParseExtension; also when resource_type is not User or Group or a URN repeats.
  explicit TypeSet(const std::vector<ExtensionDefinition>& extensions);
  TypeSet(const TypeSet&) = delete;
  TypeSet& operator=(const TypeSet&) = delete;

  const ResourceTypeDef& Of(ResourceKind kind) const { return kind == ResourceKind::User ? user_ : group_; }
  // Every schema, for /Schemas: User, EnterpriseUser, Group, then the declared extensions.
  std::vector<const SchemaDef*> Schemas() const;

 private:
  std::vector<std::unique_ptr<SchemaDef>> declared_;  // owned; pointed to by user_/group_
  ResourceTypeDef user_;
  ResourceTypeDef group_;
};

// The types of an organization without declared extensions.
const TypeSet& StandardTypes();

}  // namespace scimitar::scim
