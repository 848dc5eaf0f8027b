// SCIM filter expressions (RFC 7644 section 3.4.2.2) and attribute paths (section 3.5.2).
// Parsing is pure; ASTs are immutable values owned by the caller and safe to share read-only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace scimitar::scim {

// An attribute path as written: optional schema URN, attribute, optional sub-attribute.
struct AttrPath {
  std::string schema;  // "" when not prefixed
  std::string attr;
  std::string sub;     // "" when none
  std::string ToString() const;
};

enum class CompareOp { Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le, Pr };

struct FilterNode {
  enum class Kind { And, Or, Not, Compare, ValuePath };
  Kind kind = Kind::Compare;
  std::unique_ptr<FilterNode> left;   // And/Or: left operand; Not: operand; ValuePath: inner filter
  std::unique_ptr<FilterNode> right;  // And/Or: right operand
  AttrPath path;                      // Compare, ValuePath
  CompareOp op = CompareOp::Eq;       // Compare
  nlohmann::json value;               // Compare: string, number, boolean or null (absent for pr)
};

using Filter = std::unique_ptr<FilterNode>;

struct FilterLimits {
  size_t max_length = 4096;
  int max_depth = 32;
};

// Parses a filter; throws ScimError 400 invalidFilter whose detail names the position of the problem.
Filter ParseFilter(const std::string& text, const FilterLimits& limits = {});

// A PATCH path: attrPath, or valuePath with an optional trailing ".subAttr" (RFC 7644 section 3.5.2).
struct PatchPath {
  AttrPath path;         // attribute (and sub when no filter)
  Filter filter;         // value filter, or null
  std::string sub_after; // sub-attribute after "]", or ""
};
// Throws ScimError 400 invalidPath.
PatchPath ParsePatchPath(const std::string& text);

// Evaluates a filter against one complex value (e.g. one element of "emails"), with sub-attribute
// names resolved case-insensitively. String comparison is case-insensitive unless case_exact.
bool MatchesElement(const FilterNode& node, const nlohmann::json& element, bool case_exact = false);

}  // namespace scimitar::scim
