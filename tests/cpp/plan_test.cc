// Decision planning (decisions/combine.h, decisions/plan.h): pure functions, no store.
#include <gtest/gtest.h>

#include "decisions/combine.h"
#include "decisions/plan.h"

using namespace scimitar;
using namespace scimitar::decisions;
using json = nlohmann::json;

namespace {

// The decision Combine makes of `ev` under `settings`, as one object.
json Combine(const json& ev, const std::map<std::string, std::string>& settings) {
  return json::parse(DecisionText(scimitar::decisions::Combine(ev.dump(), settings)));
}

json Answer(const std::string& rule, json fields) {
  fields["rule"] = rule;
  fields["matched"] = true;
  return fields;
}

}  // namespace

TEST(Combine, TheFirstRuleToSetAFieldWinsIt) {
  const json ev = {{"version", "v1"},
                   {"answers", {{{"rule", "a"}, {"matched", false}},
                                Answer("b", {{"provision", true}, {"reason", "in group"}}),
                                Answer("c", {{"provision", false}, {"role", "admin"}, {"units", {"eu"}}, {"reason", "late"}})}},
                   {"app_groups", {"Ops"}},
                   {"app_groups_rule", "naming"},
                   {"inputs", {{"groups", {"Ops"}}}}};
  const json d = Combine(ev, {});
  EXPECT_EQ(d["provisioned"], true);
  EXPECT_EQ(d["role"], "admin");
  EXPECT_EQ(d["units"], json({"eu"}));
  EXPECT_EQ(d["groups"], json({"Ops"}));
  EXPECT_EQ(d["reason"], "in group");
  EXPECT_EQ(d["sources"], (json{{"provision", "b"}, {"role", "c"}, {"units", "c"}, {"groups", "naming"}}));
  EXPECT_EQ(d["rules"][2]["set"], json({"role", "units"}));  // provision was already set by b
  EXPECT_EQ(d["rules"][0], (json{{"rule", "a"}, {"matched", false}}));
  EXPECT_EQ(d["inputs"], ev["inputs"]);
  EXPECT_TRUE(d["error"].is_null());
}

TEST(Combine, SettingsFillWhatNoRuleSet) {
  const json none = {{"version", "v"}, {"answers", json::array()}, {"app_groups", {"A", "B"}}};
  json d = Combine(none, {});
  EXPECT_EQ(d["provisioned"], true);
  EXPECT_EQ(d["role"], "member");
  EXPECT_EQ(d["sources"]["provision"], "setting default_policy=admit");
  EXPECT_EQ(d["sources"]["role"], "built-in default role");
  EXPECT_EQ(d["sources"]["groups"], "IdP groups, unchanged");
  d = Combine(none, {{"default_role", "viewer"}});
  EXPECT_EQ(d["role"], "viewer");
  EXPECT_EQ(d["sources"]["role"], "setting default_role");
  EXPECT_EQ(Combine(none, {{"default_policy", " Admit "}})["provisioned"], true);
  EXPECT_EQ(Combine(none, {{"default_policy", "maybe"}})["provisioned"], false);  // fails closed
  d = Combine(none, {{"default_policy", "deny"}});
  EXPECT_EQ(d["provisioned"], false);
  EXPECT_TRUE(d["role"].is_null());  // nobody unprovisioned keeps a role, units or groups
  EXPECT_EQ(d["groups"], json::array());
}

TEST(Combine, FailuresAndMalformedAnswersAreErrors) {
  const json trace_then_fail = {{"version", "v"},
                                {"answers", {Answer("a", {{"role", "x"}})}},
                                {"failed", {{"rule", "b"}, {"message", "ValueError: no (line 3)"}}}};
  json d = Combine(trace_then_fail, {});
  EXPECT_EQ(d["error"], "b: ValueError: no (line 3)");
  EXPECT_EQ(d["rules"].size(), 1u);
  EXPECT_EQ(d["version"], "v");
  EXPECT_EQ(Combine(json{{"answers", {Answer("a", {{"units", "eu"}})}}}, {})["error"],
            "a: returned units=\"eu\"; a list of strings is expected");
  EXPECT_EQ(Combine(json{{"answers", {Answer("a", {{"provision", "yes"}})}}}, {})["error"],
            "a: returned provision=\"yes\"; a boolean is expected");
  // A failing group_name rule matters only when no rule set the groups.
  const json groups_failed = {{"answers", json::array()}, {"app_groups_failed", {{"rule", "g"}, {"message", "boom"}}}};
  EXPECT_EQ(Combine(groups_failed, {})["error"], "g: boom");
  json set_groups = groups_failed;
  set_groups["answers"] = {Answer("a", {{"groups", {"X"}}})};
  EXPECT_TRUE(Combine(set_groups, {})["error"].is_null());
  EXPECT_EQ(Combine(json{{"error", "timeout"}, {"version", "v"}}, {})["error"], "timeout");
  EXPECT_FALSE(Combine(json::array(), {})["error"].is_null());
  EXPECT_EQ(DecisionText(scimitar::decisions::Combine(R"({"answers": [], "inputs": {"a": tru}})", {})),
            R"({"error":"rules engine returned malformed inputs","rules":[],"version":""})");
}

TEST(Plan, AChangeOfOutcomePlansItsEventAndAnErrorKeepsThePreviousDecision) {
  DecisionInput in;
  in.user_id = "id-ann";
  in.user_name = "ann@x.test";
  in.settings_revision = 4;
  const std::string admin = R"({"version":"v2","answers":[{"rule":"r","matched":true,"role":"admin","reason":"ok"}]})";
  PlannedDecision first = PlanDecision(in, admin, nullptr, "2026-12-01T00:00:00Z");
  EXPECT_TRUE(first.provisioned);
  EXPECT_EQ(first.event_type, "member.provisioned");
  const json detail = json::parse(first.detail);
  EXPECT_EQ(detail["userName"], "ann@x.test");
  EXPECT_EQ(detail["decided"], "2026-12-01T00:00:00Z");
  EXPECT_EQ(detail["settings_revision"], 4);
  EXPECT_FALSE(detail.contains("error"));
  const json payload = json::parse(first.event_payload);
  EXPECT_EQ(payload["after"]["role"], "admin");
  EXPECT_TRUE(payload["before"].is_null());
  EXPECT_EQ(payload["version"], "v2");

  StoredDecision prev{"id-ann", "ann@x.test", true, detail, "", ""};
  EXPECT_EQ(PlanDecision(in, admin, &prev, "later").event_type, "");  // same outcome: no event
  const PlannedDecision failed = PlanDecision(in, R"({"error":"boom","version":"v3"})", &prev, "later");
  EXPECT_TRUE(failed.provisioned);
  EXPECT_EQ(failed.error, "boom");
  EXPECT_EQ(json::parse(failed.detail)["role"], "admin");
  EXPECT_EQ(failed.event_type, "");
  const std::string denied = R"({"version":"v3","answers":[{"rule":"r","matched":true,"provision":false}]})";
  EXPECT_EQ(PlanDecision(in, denied, &prev, "later").event_type, "member.deprovisioned");
  EXPECT_EQ(*PlanDecision(in, "not json", nullptr, "now").error,
            "rules engine returned a decision that is not a JSON object");
}
