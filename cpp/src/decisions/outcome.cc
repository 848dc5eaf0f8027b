#include "decisions/outcome.h"

#include <algorithm>
#include <string>
#include <vector>

namespace scimitar::decisions {

namespace {

// A units or groups list as a sorted set of its entries' JSON texts (non-arrays are one entry).
std::vector<std::string> AsSet(const nlohmann::json& outcome, const char* key) {
  std::vector<std::string> out;
  auto it = outcome.find(key);
  if (it == outcome.end() || it->is_null()) return out;
  if (!it->is_array()) return {it->dump()};
  for (const auto& e : *it) out.push_back(e.dump());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

nlohmann::json Member(const nlohmann::json& outcome, const char* key) {
  auto it = outcome.find(key);
  return it == outcome.end() ? nlohmann::json() : *it;
}

}  // namespace

nlohmann::json OutcomeOf(bool provisioned, const nlohmann::json& d) {
  return {{"provisioned", provisioned},
          {"role", d.value("role", nlohmann::json())},
          {"units", d.value("units", nlohmann::json::array())},
          {"groups", d.value("groups", nlohmann::json::array())}};
}

bool SameOutcome(const nlohmann::json& a, const nlohmann::json& b) {
  return Member(a, "provisioned") == Member(b, "provisioned") && Member(a, "role") == Member(b, "role") &&
         AsSet(a, "units") == AsSet(b, "units") && AsSet(a, "groups") == AsSet(b, "groups");
}

const char* EventFor(bool was_provisioned, bool now_provisioned, bool same_outcome) {
  if (!was_provisioned && now_provisioned) return "member.provisioned";
  if (was_provisioned && !now_provisioned) return "member.deprovisioned";
  if (was_provisioned && now_provisioned && !same_outcome) return "member.changed";
  return nullptr;
}

}  // namespace scimitar::decisions
