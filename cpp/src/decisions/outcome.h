// What a decision means to the application, and which event a change of it emits. The one
// implementation: storage calls it when it writes a decision, and dry runs (through the bindings)
// when they compare a candidate rule set with the stored decisions. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

namespace scimitar::decisions {

// The outcome of a decision's detail: {"groups", "provisioned", "role", "units"}.
nlohmann::json OutcomeOf(bool provisioned, const nlohmann::json& detail);

// Whether two outcomes are the same for the application. Units and app groups are sets: the order
// the rules list them in, or a repeated entry, is no change.
bool SameOutcome(const nlohmann::json& a, const nlohmann::json& b);

// "member.provisioned", "member.deprovisioned", "member.changed" (both provisioned, outcomes not the
// same), or nullptr when the application sees no change.
const char* EventFor(bool was_provisioned, bool now_provisioned, bool same_outcome);

}  // namespace scimitar::decisions
