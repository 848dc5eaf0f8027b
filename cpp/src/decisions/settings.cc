#include "decisions/settings.h"

#include <algorithm>

#include "scim/resource.h"
#include "scim/schema.h"
#include "scimitar/error.h"

namespace scimitar::decisions {

namespace {

std::string Trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " or ") + i;
  return out;
}

}  // namespace

const std::vector<SettingDecl>& BuiltinSettings() {
  static const std::vector<SettingDecl> decls = {
      {"default_policy", {"admit", "deny"}, "admit", true,
       "whether a user no rule decides is provisioned"},
      {"default_role", {}, "member", true, "the role of a provisioned user no rule gives one"},
      {"scim_sync", {"on", "off"}, "on", false, "off: every SCIM request gets 403 and changes nothing"},
  };
  return decls;
}

const SettingDecl* FindBuiltin(const std::string& key) {
  for (const auto& d : BuiltinSettings())
    if (d.key == key) return &d;
  return nullptr;
}

std::string ValidateSetting(const std::string& key, const std::string& value) {
  const bool key_ok = !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
  if (!key_ok)
    throw InvalidValue("setting name '" + key + "' must be 1-64 characters of a-z, 0-9, '_', '.' or '-'");
  std::string v = Trimmed(value);
  if (v.empty())
    throw InvalidValue("setting '" + key + "' needs a value; to remove it use: scimitar org unset SLUG " + key);
  scim::RejectControlCharacters(v, key);
  if (const SettingDecl* d = FindBuiltin(key)) {
    if (!d->choices.empty()) {
      const std::string lower = scim::ToLower(v);
      if (std::find(d->choices.begin(), d->choices.end(), lower) == d->choices.end())
        throw InvalidValue("setting '" + key + "' must be " + Joined(d->choices) + ", not '" + v + "'");
      return lower;
    }
  }
  return v;
}

bool ReadByDecisions(const std::string& key) {
  const SettingDecl* d = FindBuiltin(key);
  return !d || d->decision_input;
}

}  // namespace scimitar::decisions
