// An import batch between its two steps (ScimService::PrepareImport and CommitImport, import.cc).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "scim/resource.h"
#include "scimitar/store.h"
#include "service/import_references.h"

namespace scimitar::service {

// How import rows are matched to stored resources.
struct ImportKey {
  std::string attr;       // "externalId", "userName" or "displayName"
  bool by_name = false;   // matched case-insensitively on the name column

  // The key's value in `doc` as matched ("" when absent): externalId as is, names folded.
  std::string Of(const nlohmann::json& doc) const;
};

// What an import did with one row.
enum class ImportOutcome { Pending, Created, Updated, Unchanged, Rejected };

struct ImportRowResult {
  long long line = 0;     // as the caller numbered the row
  ImportOutcome outcome = ImportOutcome::Pending;
  std::string error;      // with Rejected: why
};

// What CommitImport returns for a batch: counts, and each rejected row (line, reason) in row order.
struct ImportSummary {
  size_t created = 0, updated = 0, unchanged = 0;
  size_t members_removed = 0;  // group members dropped by rows that replace a membership
  size_t memberships_added = 0, groups_created = 0;  // by user rows that name their groups
  std::vector<std::pair<long long, std::string>> rejected;
  std::vector<ManagerLater> managers_later;  // for ResolveManagers, once the whole file is imported
};

// One batch of an import between ScimService::PrepareImport and CommitImport. Not thread-safe: one
// thread at a time.
struct PreparedImport {
  struct Row {
    size_t index = 0;        // into the batch and its results
    scim::NormalizedResource n;
    std::string key;         // ImportKey::Of
    std::string name;        // folded userName/displayName
    std::string id;          // assigned ahead for a user decided ahead, else ""
    std::string doc_text;    // with `id`: the document as it will be stored
    ImportReferences refs;   // names resolved at commit (import_references.h)
    bool manager_later = false;  // its manager was not stored yet at commit
  };
  scim::ResourceKind kind{};
  ImportKey key;
  bool dry_run = false;
  // Group rows that list members: false adds the listed members to those the group has (what the
  // IdP pushed stays); true makes the list the whole membership.
  bool replace_members = false;
  size_t members_removed = 0;  // by replacing rows, counted at commit (also in a dry run)
  size_t memberships_added = 0, groups_created = 0;
  std::vector<ManagerLater> managers_later;
  std::vector<ImportRowResult> results;  // one per row; rows rejected by validation are final already
  std::vector<Row> pending;      // the valid rows
  DecidedAhead ahead;
};

}  // namespace scimitar::service
