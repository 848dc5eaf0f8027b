#include "decisions/combine.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "decisions/settings.h"
#include "scim/json_text.h"
#include "scim/schema.h"

namespace scimitar::decisions {

namespace {

using Members = std::vector<std::pair<std::string, std::string_view>>;

struct Malformed {
  std::string why;
};

std::string_view Member(const Members& members, const char* key, std::string_view absent) {
  for (const auto& [k, v] : members)
    if (k == key) return v;
  return absent;
}

std::string Quoted(std::string_view s) {
  std::string out;
  scim::AppendQuoted(out, s);
  return out;
}

std::string Setting(const std::map<std::string, std::string>& settings, const std::string& key) {
  auto it = settings.find(key);
  if (it != settings.end()) return it->second;
  const SettingDecl* d = FindBuiltin(key);
  return d ? d->default_value : "";
}

// Whether `text` is exactly one valid JSON value (UTF-8 checked, no stray bytes such as NUL): what
// the combination copies into the stored decision as it is must be.
// (nlohmann's lexer takes a NUL byte for the end of input, so NUL is refused first.)
bool Valid(std::string_view text) {
  return text.find('\0') == std::string_view::npos && nlohmann::json::accept(text.begin(), text.end());
}

bool IsStringList(std::string_view text) {
  if (text.empty() || text[0] != '[' || !Valid(text)) return false;
  const nlohmann::json v = scim::ParseValue(text);
  if (!v.is_array()) return false;
  for (const auto& e : v)
    if (!e.is_string()) return false;
  return true;
}

bool IsString(std::string_view text) { return !text.empty() && text[0] == '"' && Valid(text); }

// Checks the type of a field a rule set; throws Malformed naming the rule.
void CheckField(const std::string& rule, const std::string& field, std::string_view v) {
  const bool ok = field == "provision" ? (v == "true" || v == "false") : field == "role" ? IsString(v) : IsStringList(v);
  if (!ok)
    throw Malformed{rule + ": returned " + field + "=" + std::string(v.substr(0, 200)) + "; " +
                    (field == "provision" ? "a boolean" : field == "role" ? "a string" : "a list of strings") +
                    " is expected"};
}

// "rule: message" of a {"rule", "message"} member.
std::string FailureOf(std::string_view failed) {
  const Members m = scim::ObjectMembers(failed);
  const std::string_view rule = Member(m, "rule", "\"?\""), message = Member(m, "message", "\"failed\"");
  return (IsString(rule) ? scim::Unquoted(rule) : "?") + ": " + (IsString(message) ? scim::Unquoted(message) : "failed");
}

std::string JoinedArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i];
  }
  return out + ']';
}

}  // namespace

Combined Combine(std::string_view evaluation, const std::map<std::string, std::string>& settings) {
  Combined c;
  Members top;
  std::vector<std::string> trace;
  try {
    top = scim::ObjectMembers(evaluation);
    const std::string_view version = Member(top, "version", "\"\"");
    if (!Valid(version)) throw Malformed{"rules engine returned a malformed version"};
    c.version = std::string(version);
    if (const std::string_view e = Member(top, "error", "null"); e != "null") {
      c.error = IsString(e) ? scim::Unquoted(e) : "rules engine failed";
      c.rules = std::string(Member(top, "rules", "[]"));
      if (c.rules.empty() || c.rules[0] != '[' || !Valid(c.rules)) c.rules = "[]";
      return c;
    }
    static const char* const kFields[] = {"provision", "role", "units", "groups"};
    std::map<std::string, std::string> chosen, source;  // field -> value text, and the rule that set it
    for (std::string_view answer : scim::ArrayElements(Member(top, "answers", "[]"))) {
      const Members a = scim::ObjectMembers(answer);
      const std::string_view rule_text = Member(a, "rule", "null");
      if (!IsString(rule_text)) throw Malformed{"rules engine returned an answer without its rule"};
      const std::string rule = scim::Unquoted(rule_text);
      if (Member(a, "matched", "false") != "true") {
        trace.push_back("{\"matched\":false,\"rule\":" + std::string(rule_text) + "}");
        continue;
      }
      std::vector<std::string> set_here;
      for (const char* field : kFields) {
        const std::string_view v = Member(a, field, "null");
        if (v == "null") continue;
        CheckField(rule, field, v);
        if (chosen.count(field)) continue;
        chosen[field] = std::string(v);
        source[field] = rule;
        set_here.push_back(Quoted(field));
      }
      const std::string_view r = Member(a, "reason", "null");
      const bool has_reason = r != "\"\"" && IsString(r);
      if (has_reason && c.reason == "null") c.reason = std::string(r);
      trace.push_back("{\"matched\":true,\"reason\":" + std::string(has_reason ? r : "null") +
                      ",\"rule\":" + std::string(rule_text) + ",\"set\":" + JoinedArray(set_here) + "}");
    }
    c.rules = JoinedArray(trace);
    if (const std::string_view f = Member(top, "failed", "null"); f != "null") {
      c.error = FailureOf(f);
      return c;
    }
    if (!chosen.count("provision")) {
      // Fails closed: only "admit" admits (a value stored before settings were validated may be other).
      std::string policy = scim::ToLower(Setting(settings, "default_policy"));
      policy.erase(0, policy.find_first_not_of(" \t"));
      policy.erase(policy.find_last_not_of(" \t") + 1);
      chosen["provision"] = policy == "admit" ? "true" : "false";
      source["provision"] = "setting default_policy=" + policy + (policy == "admit" || policy == "deny" ? "" : " (not admit: denied)");
    }
    if (!chosen.count("role")) {
      chosen["role"] = Quoted(Setting(settings, "default_role"));
      source["role"] = settings.count("default_role") ? "setting default_role" : "built-in default role";
    }
    if (!chosen.count("units")) {
      chosen["units"] = "[]";
      source["units"] = "default (none)";
    }
    if (!chosen.count("groups")) {
      if (const std::string_view f = Member(top, "app_groups_failed", "null"); f != "null") {
        c.error = FailureOf(f);
        return c;
      }
      const std::string_view groups = Member(top, "app_groups", "[]");
      if (!IsStringList(groups)) throw Malformed{"rules engine returned malformed app groups"};
      chosen["groups"] = std::string(groups);
      const std::string_view rule = Member(top, "app_groups_rule", "null");
      source["groups"] = IsString(rule) ? scim::Unquoted(rule) : "IdP groups, unchanged";
    }
    c.inputs = std::string(Member(top, "inputs", "{}"));
    // Stored as it is: checked (without building a tree) to be one JSON object.
    if (c.inputs.empty() || c.inputs[0] != '{' || !Valid(c.inputs))
      throw Malformed{"rules engine returned malformed inputs"};
    c.provisioned = chosen["provision"] == "true";
    if (c.provisioned) {
      c.role = chosen["role"];
      c.units = chosen["units"];
      c.groups = chosen["groups"];
    }
    scim::ObjectWriter sources;
    for (const auto& [field, what] : source) sources.Add(field, Quoted(what));
    c.sources = sources.Finish();
  } catch (const Malformed& m) {
    c.error = m.why;
    c.rules = JoinedArray(trace);
  } catch (const std::exception&) {  // not JSON, or a member of the wrong shape
    c.error = "rules engine returned a decision that is not a JSON object";
    c.rules = JoinedArray(trace);
  }
  return c;
}

void AddDecision(scim::ObjectWriter& out, const Combined& c) {
  out.Add("groups", c.groups);
  out.Add("inputs", c.inputs);
  out.Add("provisioned", c.provisioned ? "true" : "false");
  out.Add("reason", c.reason);
  out.Add("role", c.role);
  out.Add("rules", c.rules);
  out.Add("sources", c.sources);
  out.Add("units", c.units);
  out.Add("version", c.version);
}

std::string DecisionText(const Combined& c) {
  scim::ObjectWriter out;
  if (!c.error.empty()) {
    out.Add("error", Quoted(c.error));
    out.Add("rules", c.rules);
    out.Add("version", c.version);
    return out.Finish();
  }
  out.Add("error", "null");
  AddDecision(out, c);
  return out.Finish();
}

}  // namespace scimitar::decisions
