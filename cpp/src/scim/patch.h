// SCIM PATCH (RFC 7644 section 3.5.2) over a stored document. Pure; thread-safe.
// Group membership is never materialized: operations on "members" become MemberChanges that the
// store applies edge by edge.
#pragma once

#include <nlohmann/json.hpp>

#include "scim/schema.h"
#include "scimitar/store.h"

namespace scimitar::scim {

struct PatchOutcome {
  nlohmann::json doc;     // patched document, still to be validated with Normalize()
  MemberChanges members;  // groups only
};

// Applies a PatchOp request body to `doc`. Throws ScimError 400 (invalidSyntax, invalidValue,
// invalidPath, invalidFilter, noTarget, mutability) without side effects.
// More than `max_operations` operations is 400 invalidValue.
PatchOutcome ApplyPatch(const ResourceTypeDef& type, const std::string& id, nlohmann::json doc,
                        const nlohmann::json& body, size_t max_operations = 1000);

}  // namespace scimitar::scim
