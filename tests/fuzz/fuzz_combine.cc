// Decision planning (decisions/combine.h, decisions/plan.h) on whatever a rules engine might answer:
// whatever the evaluation text, the decision planned from it is valid JSON (it is stored as the
// user's provenance and read back on every explain and recompute), an error keeps the previous
// decision, and an event payload is valid JSON too.
//
// Input: the first byte picks the settings (default_policy deny, default_role set); the rest is the
// evaluation text.
#include <map>

#include "decisions/combine.h"
#include "decisions/plan.h"
#include "fuzz_common.h"

namespace {

// One JSON value, nothing after it (nlohmann's accept() alone stops at a NUL byte).
bool IsJson(const std::string& text) { return text.find('\0') == std::string::npos && nlohmann::json::accept(text); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string evaluation(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (scimitar::scim::NestingDepth(evaluation, 200) > 200) return 0;  // the reference parser recurses
  std::map<std::string, std::string> settings;
  if (data[0] & 1) settings["default_policy"] = "deny";
  if (data[0] & 2) settings["default_role"] = "viewer";

  const auto combined = scimitar::decisions::Combine(evaluation, settings);
  const std::string text = scimitar::decisions::DecisionText(combined);
  if (!IsJson(text)) fuzz::Fail("DecisionText wrote invalid JSON", text);

  scimitar::DecisionInput in;
  in.user_id = "id";
  in.user_name = "ann@x.test";
  in.settings = settings;
  scimitar::StoredDecision prev{"id", "ann@x.test", true, {{"role", "admin"}, {"units", {"eu"}}}, "", ""};
  const scimitar::StoredDecision* const previous[] = {nullptr, &prev};
  for (const scimitar::StoredDecision* before : previous) {
    const auto planned = scimitar::decisions::PlanDecision(in, evaluation, before, "2026-12-01T00:00:00Z");
    if (!IsJson(planned.detail)) fuzz::Fail("the planned detail is not JSON", planned.detail);
    if (planned.error && before && (!planned.provisioned || !planned.event_type.empty()))
      fuzz::Fail("an error changed the previous decision", evaluation);
    if (!planned.event_type.empty() && !IsJson(planned.event_payload))
      fuzz::Fail("the event payload is not JSON", planned.event_payload);
    if (!combined.error.empty() != planned.error.has_value()) fuzz::Fail("plan and combine disagree", evaluation);
  }
  return 0;
}
