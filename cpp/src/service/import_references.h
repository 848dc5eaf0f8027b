// References by name in import rows, which SCIM requests would give by id (see docs/python-api.md,
// "Import file conventions"): a user row's groups (by displayName; added to them, creating missing
// managed groups), a user's manager by userName, and group members by userName or externalId.
// They are taken out of a row before validation (TakeReferences) and resolved when the row's batch
// is committed, so that rows of earlier batches are stored by then. Not thread-safe: one batch at
// a time, as PreparedImport.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scim/schema.h"
#include "scimitar/store.h"

namespace scimitar::service {

struct ImportReferences {
  std::vector<std::string> groups;        // users: displayNames of the groups to add the user to
  std::optional<nlohmann::json> manager;  // users: {"userName": ..., other sub-attributes}
  std::vector<std::pair<std::string, std::string>> members;  // groups: ("userName" | "externalId", value)

  bool empty() const { return groups.empty() && !manager && members.empty(); }
};

// Removes the name references from `body` (an import row's resource) and returns them. Throws
// ScimError 400 for a malformed one (a group name that is not a non-empty string, say).
ImportReferences TakeReferences(scim::ResourceKind kind, nlohmann::json& body);

// A manager that was not stored when its report's batch was committed (it comes later in the file,
// or in the same batch): set by ResolveManagers once the whole file is imported.
struct ManagerLater {
  long long line = 0;
  std::string key;          // the report's import key value
  nlohmann::json manager;   // as TakeReferences returned it
};

// Looks up, in one query per kind of name, the users that `refs` name; folded userName -> id and
// externalId -> id.
struct NameIndex {
  std::map<std::string, std::string> by_user_name, by_external_id;
};
NameIndex LookUpNames(Store& store, long long org_id, const std::vector<const ImportReferences*>& refs);

// The manager attribute of a resolved reference: the reference's sub-attributes, with "value" the
// manager's id instead of "userName". nullopt when the userName is not a user of the organization.
std::optional<nlohmann::json> ResolvedManager(const nlohmann::json& manager, const NameIndex& names);

// Adds each user (id) to the groups it names, creating the managed groups that do not exist yet.
// Returns {memberships added, groups created}.
std::pair<size_t, size_t> AddToNamedGroups(Store& store, long long org_id,
                                           const std::vector<std::pair<std::string, std::vector<std::string>>>& wanted);

// Sets the managers left for later: `key` matches the reports as the import did. Returns (line,
// reason) for each report whose manager is still not a user of the organization, or that is gone.
std::vector<std::pair<long long, std::string>> ResolveManagers(Store& store, long long org_id, bool key_by_name,
                                                               const std::vector<ManagerLater>& later);

}  // namespace scimitar::service
