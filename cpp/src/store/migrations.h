// Schema creation and migration. Called once per Store::Open; safe against several processes
// migrating at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock).
#pragma once

#include <soci/soci.h>

#include "store/sql.h"

namespace scimitar::store {

// Brings the schema to the latest version; `up_to` stops at an earlier one (tests of a migration).
void Migrate(soci::session& sql, Backend backend, int up_to = -1);

// The schema version the database records (0 for an empty one; throws soci_error when it cannot be
// read), and the one this build migrates to.
int CurrentVersion(soci::session& sql);
int LatestVersion(Backend backend);

}  // namespace scimitar::store
