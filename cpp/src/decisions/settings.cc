#include "decisions/settings.h"

#include <algorithm>
#include <set>

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

void CheckKey(const std::string& key) {
  const bool ok = !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
  if (!ok) throw InvalidValue("setting name '" + key + "' must be 1-64 characters of a-z, 0-9, '_', '.' or '-'");
}

// The stored form of `v` (trimmed, non-empty, without control characters) for the declaration `d`.
std::string Checked(const SettingDecl& d, const std::string& v) {
  if (!d.choices.empty()) {
    for (const auto& c : d.choices)
      if (scim::EqualsIgnoreCase(c, v)) return c;
    throw InvalidValue("setting '" + d.key + "' must be " + Joined(d.choices) + ", not '" + v + "'");
  }
  if (d.type == "integer") {
    const bool digits = v.size() <= 18 && std::all_of(v.begin() + (v[0] == '-' ? 1 : 0), v.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || v == "-") throw InvalidValue("setting '" + d.key + "' must be an integer, not '" + v + "'");
    return std::to_string(std::stoll(v));
  }
  if (d.type == "boolean") {
    const std::string lower = scim::ToLower(v);
    if (lower == "true" || lower == "on" || lower == "yes") return "true";
    if (lower == "false" || lower == "off" || lower == "no") return "false";
    throw InvalidValue("setting '" + d.key + "' must be true or false, not '" + v + "'");
  }
  return v;
}

}  // namespace

const std::vector<SettingDecl>& BuiltinSettings() {
  static const std::vector<SettingDecl> decls = {
      {"default_policy", {"admit", "deny"}, "admit", true, "whether a user no rule decides is provisioned", "text"},
      {"default_role", {}, "member", true, "the role of a provisioned user no rule gives one", "text"},
      {"scim_sync", {"on", "off"}, "on", false, "off: every SCIM request gets 403 and changes nothing", "text"},
  };
  return decls;
}

const SettingDecl* FindBuiltin(const std::string& key) {
  for (const auto& d : BuiltinSettings())
    if (d.key == key) return &d;
  return nullptr;
}

std::vector<SettingDecl> ParseDeclarations(const nlohmann::json& declared) {
  if (!declared.is_array()) throw InvalidValue("setting declarations are a JSON array");
  std::vector<SettingDecl> out;
  std::set<std::string> keys;
  for (const auto& j : declared) {
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
      throw InvalidValue("a setting declaration needs a string 'key'");
    SettingDecl d;
    d.key = j["key"].get<std::string>();
    CheckKey(d.key);
    if (FindBuiltin(d.key)) throw InvalidValue("setting '" + d.key + "' is built in; rules read it, they do not declare it");
    if (!keys.insert(d.key).second) throw InvalidValue("setting '" + d.key + "' is declared twice");
    d.type = j.value("type", "text");
    if (d.type != "text" && d.type != "integer" && d.type != "boolean")
      throw InvalidValue("setting '" + d.key + "' has type '" + d.type + "'; types are text, integer and boolean");
    if (auto c = j.find("choices"); c != j.end() && !c->is_null()) {
      if (!c->is_array() || c->empty()) throw InvalidValue("the choices of setting '" + d.key + "' are a non-empty list");
      for (const auto& v : *c) {
        if (!v.is_string() || Trimmed(v.get<std::string>()).empty())
          throw InvalidValue("the choices of setting '" + d.key + "' are non-empty strings");
        d.choices.push_back(Trimmed(v.get<std::string>()));
      }
    }
    d.description = j.value("description", "");
    if (auto def = j.find("default"); def != j.end() && !def->is_null()) {
      const std::string text = def->is_string() ? def->get<std::string>() : def->dump();
      try {
        d.default_value = ValidateSetting(d.key, def->is_boolean() ? (def->get<bool>() ? "true" : "false") : text, {d});
      } catch (const ScimError& e) {
        throw InvalidValue(std::string("the default of ") + e.what());
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

nlohmann::json DeclarationsJson(const std::vector<SettingDecl>& decls) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : decls) {
    nlohmann::json j = {{"key", d.key}, {"type", d.type}, {"description", d.description}};
    j["choices"] = d.choices.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.choices);
    j["default"] = d.default_value.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.default_value);
    out.push_back(std::move(j));
  }
  return out;
}

std::string ValidateSetting(const std::string& key, const std::string& value, const std::vector<SettingDecl>& declared) {
  CheckKey(key);
  std::string v = Trimmed(value);
  if (v.empty())
    throw InvalidValue("setting '" + key + "' needs a value; to remove it use: scimitar org unset SLUG " + key);
  scim::RejectControlCharacters(v, key);
  if (const SettingDecl* d = FindBuiltin(key)) return Checked(*d, v);
  for (const auto& d : declared)
    if (d.key == key) return Checked(d, v);
  return v;
}

bool ReadByDecisions(const std::string& key) {
  const SettingDecl* d = FindBuiltin(key);
  return !d || d->decision_input;
}

}  // namespace scimitar::decisions
