// Schema creation and migration. Called once per Store::Open; safe against several processes
// migrating at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock).
#pragma once

#include <soci/soci.h>

#include "store/sql.h"

namespace scimitar::store {

void Migrate(soci::session& sql, Backend backend);

}  // namespace scimitar::store
