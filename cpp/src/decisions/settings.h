// Per-organization settings: the built-in ones are declared here with their types, rule files
// declare the ones they read (rules.setting, stored with the rule set as JSON), and every write is
// validated against them before it is stored, so a typo ("default_policy=maybe") is refused
// instead of silently admitting everyone. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scimitar::decisions {

struct SettingDecl {
  std::string key;
  std::vector<std::string> choices;  // the accepted values; empty = any value of `type`
  std::string default_value;         // what applies while the setting is not set ("" = none)
  bool decision_input = true;        // whether decisions read it (then changing it recomputes them)
  std::string description;
  std::string type = "text";         // "text" (non-empty), "integer" or "boolean" ("true" | "false")
};

// default_policy (admit | deny), default_role (non-empty), scim_sync (on | off).
const std::vector<SettingDecl>& BuiltinSettings();
const SettingDecl* FindBuiltin(const std::string& key);

// Declarations as rule sets store them: [{"key", "type", "choices", "default", "description"}].
// Throws ScimError 400 invalidValue for a malformed one: a bad key or type, a built-in key, a key
// declared twice, or a default that the declaration itself refuses.
std::vector<SettingDecl> ParseDeclarations(const nlohmann::json& declared);
nlohmann::json DeclarationsJson(const std::vector<SettingDecl>& decls);

// The value to store for `key`: trimmed; for a declared choice, spelled as declared (built-in
// choices are lower case); "true"/"false" for a boolean; the number for an integer. Throws ScimError
// 400 invalidValue naming the key and what it accepts: keys are 1-64 characters of [a-z0-9_.-];
// values are non-empty (a setting is removed with unset, not emptied) without control characters.
// Keys that neither the built-ins nor `declared` know take any such text (rules may read any key).
std::string ValidateSetting(const std::string& key, const std::string& value,
                            const std::vector<SettingDecl>& declared = {});

// Whether a change of `key` can change decisions (every setting but scim_sync: rules read any).
bool ReadByDecisions(const std::string& key);

}  // namespace scimitar::decisions
