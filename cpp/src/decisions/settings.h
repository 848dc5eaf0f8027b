// Per-organization settings: the built-in ones are declared here with their types, and every write
// is validated before it is stored, so a typo ("default_policy=maybe") is refused instead of
// silently admitting everyone. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace scimitar::decisions {

struct SettingDecl {
  std::string key;
  std::vector<std::string> choices;  // the accepted values, lower case; empty = any non-empty text
  std::string default_value;         // what applies while the setting is not set
  bool decision_input = true;        // whether decisions read it (then changing it recomputes them)
  std::string description;
};

// default_policy (admit | deny), default_role (non-empty), scim_sync (on | off).
const std::vector<SettingDecl>& BuiltinSettings();
const SettingDecl* FindBuiltin(const std::string& key);

// The value to store for `key`: trimmed, and lower-cased for a declared choice. Throws ScimError 400
// invalidValue naming the key and what it accepts: keys are 1-64 characters of [a-z0-9_.-]; values
// are non-empty (a setting is removed with unset, not emptied) without control characters.
std::string ValidateSetting(const std::string& key, const std::string& value);

// Whether a change of `key` can change decisions (every setting but scim_sync: rules read any).
bool ReadByDecisions(const std::string& key);

}  // namespace scimitar::decisions
