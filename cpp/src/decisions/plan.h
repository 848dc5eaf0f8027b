// Planning the write of one user's decision: what the rules answered (combine.h) becomes the stored
// decision with its provenance, and the outbox event its change of outcome calls for (outcome.h).
// Pure; needs no connection, so decisions made ahead are planned outside any transaction.
#pragma once

#include <string>

#include "scimitar/decisions.h"
#include "scimitar/store.h"

namespace scimitar::decisions {

// Plans storing `evaluation` (one of DecisionMaker::DecideMany's answers) for `in` over `prev`
// (null: no decision yet), made at `now`. The detail stored is the combined decision without
// "error", with "userName", "decided" and "settings_revision" added: with "version" (the rule set's),
// what the decision was made with. A rule error (or a malformed evaluation) keeps the
// previous decision and records the error, with no event.
PlannedDecision PlanDecision(const DecisionInput& in, const std::string& evaluation, const StoredDecision* prev,
                             const std::string& now);

}  // namespace scimitar::decisions
