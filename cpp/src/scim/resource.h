// Validation, normalization and rendering of SCIM resources. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scim/schema.h"
#include "scimitar/store.h"

namespace scimitar::scim {

struct NormalizedResource {
  nlohmann::json doc;                                // canonical attribute names, typed values, no readOnly
  std::optional<std::vector<std::string>> members;   // groups: member ids when "members" was given
};

// Validates a client-supplied resource (POST/PUT body, or a patched document). Attribute names are
// rewritten to their schema spelling; "True"/"False" strings become booleans; readOnly attributes are
// dropped; unknown attributes are dropped. Throws ScimError 400 invalidValue/invalidSyntax naming the
// attribute. With require_schemas, "schemas" must list the core schema. With Values::Text (import
// rows, whose cells are text), integers and decimals may also be given as their decimal text.
enum class Values { Typed, Text };
NormalizedResource Normalize(const ResourceTypeDef& type, const nlohmann::json& body, bool require_schemas,
                             Values values = Values::Typed);

// Normalizes one attribute value per its definition (for PATCH values); `where` names it in errors.
nlohmann::json NormalizeValue(const AttributeDef& def, const nlohmann::json& value, const std::string& where,
                              Values values = Values::Typed);

// Which attributes to return (RFC 7644 section 3.9), parsed once per request.
struct Projection {
  std::vector<ResolvedAttr> include;  // empty = defaults
  std::vector<ResolvedAttr> exclude;
  bool Wants(const ResolvedAttr& attr) const;  // top-level decision for attr (sub ignored)
};
Projection ParseProjection(const ResourceTypeDef& type, const std::string& attributes, const std::string& excluded);

// Renders a stored row as a SCIM resource: its JSON text, keys in nlohmann::json's order. Stored
// values are copied as text; only an attribute whose sub-attributes the projection selects is parsed.
// `edges` are the group's members or the user's groups (nullptr: not loaded, omitted).
std::string Render(const ResourceTypeDef& type, const ResourceRow& row, const std::string& base_url,
                   const std::vector<MemberRef>* edges, const Projection& projection);

std::string ETagOf(long long version);

// Identifiers (userName, externalId, displayName, member values) may not hold C0 control characters
// or DEL: they end up in logs, CSV exports and the application's own lookups. Throws ScimError 400
// invalidValue naming `where` and the character.
void RejectControlCharacters(std::string_view value, const std::string& where);

}  // namespace scimitar::scim
