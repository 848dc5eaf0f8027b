// Combining what an organization's rules answered for one user into the user's decision, with its
// provenance. The one implementation: storage plans every decision with it (plan.h), and dry runs
// and scimitar.testing reach it through the bindings. It works on JSON text, parsing only the small
// values it must check (so a batch of a million users is not parsed into trees). Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "scim/json_text.h"

namespace scimitar::decisions {

// A combined decision: the JSON texts of its parts.
struct Combined {
  std::string error;  // not empty: a rule failed or answered something malformed (then only rules and version hold)
  bool provisioned = false;
  std::string role = "null", units = "[]", groups = "[]", reason = "null";
  std::string sources = "{}", rules = "[]", inputs = "{}", version = "\"\"";
};

// `evaluation` is what DecisionMaker::DecideMany answers for a user (see decisions.h):
//   {"version", "answers": [{"rule", "matched": false} | {"rule", "matched": true, "provision",
//    "role", "units", "groups", "reason"}], "failed": {"rule", "message"} (a rule raised: the
//    answers stop there), "app_groups": [...] | "app_groups_failed": {"rule", "message"},
//    "app_groups_rule", "inputs"}, or {"error", "version"} when the engine itself failed.
// The first rule that sets a field wins it (provision a boolean, role a string, units and groups
// lists of strings; another type is an error naming the rule); the first non-empty reason is the
// decision's; the organization's settings fill what no rule set (default_policy, default_role; see
// settings.h); app groups come from the group_name rule unless a rule set groups; a user not
// provisioned has no role, units or groups. `sources` names what set each field, `rules` traces each
// rule: {"rule", "matched", "set", "reason"}.
Combined Combine(std::string_view evaluation, const std::map<std::string, std::string>& settings);

// Adds the members of a combined decision without an error (groups ... version) to `out`.
void AddDecision(scim::ObjectWriter& out, const Combined& c);

// The decision as one JSON object: {"error": null, "groups", "inputs", "provisioned", "reason",
// "role", "rules", "sources", "units", "version"}, or {"error", "rules", "version"}.
std::string DecisionText(const Combined& c);

}  // namespace scimitar::decisions
