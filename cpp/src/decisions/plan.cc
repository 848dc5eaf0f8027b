#include "decisions/plan.h"

#include "decisions/combine.h"
#include "decisions/outcome.h"
#include "scim/json_text.h"

namespace scimitar::decisions {

PlannedDecision PlanDecision(const DecisionInput& in, const std::string& evaluation, const StoredDecision* prev,
                             const std::string& now) {
  const Combined c = Combine(evaluation, in.settings);
  PlannedDecision out;
  out.rules_version = c.version;
  std::string user_name;
  scim::AppendQuoted(user_name, in.user_name);
  if (!c.error.empty()) {
    out.provisioned = prev && prev->provisioned;
    out.detail = prev ? scim::DumpJson(prev->detail) : "{\"userName\":" + user_name + ",\"version\":" + c.version + "}";
    out.error = c.error;
    return out;
  }
  std::string decided;
  scim::AppendQuoted(decided, now);
  scim::ObjectWriter detail;
  AddDecision(detail, c);
  detail.Add("decided", decided);
  detail.Add("settings_revision", std::to_string(in.settings_revision));
  detail.Add("userName", user_name);
  out.detail = detail.Finish();
  out.provisioned = c.provisioned;
  // OutcomeOf as text, with its keys in the order DumpJson writes them.
  const std::string after = "{\"groups\":" + c.groups + ",\"provisioned\":" + (c.provisioned ? "true" : "false") +
                            ",\"role\":" + c.role + ",\"units\":" + c.units + "}";
  const bool was = prev && prev->provisioned;
  const nlohmann::json before = was ? OutcomeOf(true, prev->detail) : nlohmann::json();
  const char* type = EventFor(was, c.provisioned, was && c.provisioned && SameOutcome(before, scim::ParseValue(after)));
  if (!type) return out;
  out.event_type = type;
  std::string user_id;
  scim::AppendQuoted(user_id, in.user_id);
  scim::ObjectWriter payload;
  payload.Add("after", c.provisioned ? after : "null");
  payload.Add("before", was ? scim::DumpJson(before) : "null");
  payload.Add("reason", c.reason);
  payload.Add("userName", user_name);
  payload.Add("user_id", user_id);
  payload.Add("version", c.version);
  out.event_payload = payload.Finish();
  return out;
}

}  // namespace scimitar::decisions
