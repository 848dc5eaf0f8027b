#include "store/migrations.h"

#include <algorithm>
#include <string>
#include <vector>

namespace scimitar::store {

namespace {

std::vector<std::string> FewerIndexes(Backend b);
std::vector<std::string> UniqueManagedGroupNames();
std::vector<std::string> SettingsRevisions();
std::vector<std::string> RuleSetHistory(const std::string& pk);
std::vector<std::string> TokenLifecycle();

// Each entry is one schema version; never edit a released entry, append a new one.
std::vector<std::vector<std::string>> Steps(Backend b) {
  const std::string pk = b == Backend::Sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
  const std::string json = b == Backend::Sqlite ? "TEXT" : "JSONB";
  return {{
      "CREATE TABLE orgs (id " + pk + ", slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created TEXT NOT NULL)",
      "CREATE TABLE org_settings (org_id BIGINT NOT NULL REFERENCES orgs(id), key TEXT NOT NULL, "
      "value TEXT NOT NULL, PRIMARY KEY (org_id, key))",
      "CREATE TABLE members (id " + pk + ", org_id BIGINT NOT NULL REFERENCES orgs(id), email TEXT NOT NULL, "
      "email_folded TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, "
      "managed INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL)",
      "CREATE UNIQUE INDEX members_email ON members (org_id, managed, email_folded)",
      "CREATE TABLE tokens (id TEXT PRIMARY KEY, org_id BIGINT NOT NULL REFERENCES orgs(id), "
      "member_id BIGINT NOT NULL REFERENCES members(id), secret_hash TEXT NOT NULL, description TEXT NOT NULL, "
      "created TEXT NOT NULL, revoked TEXT)",
      "CREATE TABLE resources (pk " + pk + ", id TEXT NOT NULL UNIQUE, org_id BIGINT NOT NULL REFERENCES orgs(id), "
      "kind TEXT NOT NULL, managed INTEGER NOT NULL, name TEXT NOT NULL, name_folded TEXT NOT NULL, "
      "display TEXT NOT NULL, external_id TEXT, active INTEGER, doc " + json + " NOT NULL, "
      "version BIGINT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL)",
      "CREATE UNIQUE INDEX resources_user_name ON resources (org_id, name_folded) WHERE kind = 'User' AND managed = 1",
      "CREATE INDEX resources_name ON resources (org_id, kind, name_folded)",
      "CREATE INDEX resources_external_id ON resources (org_id, kind, external_id)",
      "CREATE INDEX resources_order ON resources (org_id, kind, pk)",
      "CREATE TABLE memberships (group_id TEXT NOT NULL, member_id TEXT NOT NULL, org_id BIGINT NOT NULL, "
      "PRIMARY KEY (group_id, member_id))",
      "CREATE INDEX memberships_member ON memberships (member_id)",
  }, {
      // Decisions of the rules, the outbox of their changes, and rule sets applied per organization.
      "CREATE TABLE decisions (user_id TEXT PRIMARY KEY, org_id BIGINT NOT NULL REFERENCES orgs(id), "
      "provisioned INTEGER NOT NULL, detail TEXT NOT NULL, error TEXT, updated TEXT NOT NULL)",
      "CREATE INDEX decisions_org ON decisions (org_id, provisioned)",
      "CREATE TABLE outbox (id " + pk + ", org_id BIGINT NOT NULL REFERENCES orgs(id), type TEXT NOT NULL, "
      "payload TEXT NOT NULL, created TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt TEXT NOT NULL, "
      "delivered TEXT, failed TEXT, last_error TEXT)",
      "CREATE INDEX outbox_pending ON outbox (next_attempt) WHERE delivered IS NULL AND failed IS NULL",
      "CREATE TABLE rule_sets (org_id BIGINT PRIMARY KEY REFERENCES orgs(id), version TEXT NOT NULL, "
      "files TEXT NOT NULL, applied TEXT NOT NULL)",
  }, {
      // Users' email values, folded, so that `emails.value eq` lookups use an index.
      "CREATE TABLE user_emails (user_id TEXT NOT NULL, org_id BIGINT NOT NULL, value_folded TEXT NOT NULL)",
      "CREATE INDEX user_emails_value ON user_emails (value_folded)",
      "CREATE INDEX user_emails_user ON user_emails (user_id)",
      b == Backend::Sqlite
          ? "INSERT INTO user_emails (user_id, org_id, value_folded) SELECT r.id, r.org_id, "
            "lower(json_extract(e.value, '$.value')) FROM resources r, json_each(r.doc, '$.emails') e "
            "WHERE r.kind = 'User' AND json_extract(e.value, '$.value') IS NOT NULL"
          : "INSERT INTO user_emails (user_id, org_id, value_folded) SELECT r.id, r.org_id, lower(e.v ->> 'value') "
            "FROM resources r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.doc -> 'emails') = 'array' "
            "THEN r.doc -> 'emails' ELSE '[]'::jsonb END) AS e(v) WHERE r.kind = 'User' AND e.v ->> 'value' IS NOT NULL",
  }, {
      // Schema extensions declared per organization; schema_rev changes with them, so every process
      // notices a change through the token lookup it already makes.
      "CREATE TABLE schema_extensions (org_id BIGINT NOT NULL REFERENCES orgs(id), urn TEXT NOT NULL, "
      "urn_folded TEXT NOT NULL, resource_type TEXT NOT NULL, definition TEXT NOT NULL, created TEXT NOT NULL, "
      "PRIMARY KEY (org_id, urn_folded))",
      "ALTER TABLE orgs ADD COLUMN schema_rev BIGINT NOT NULL DEFAULT 0",
  }, FewerIndexes(b), UniqueManagedGroupNames(), SettingsRevisions(),
          RuleSetHistory(pk), TokenLifecycle()};
}

// Fewer B-trees written for each stored user. Users are found by name through their unique index
// alone, so the name index keeps only groups. On SQLite, decisions and email values are keyed by the
// user's id itself (WITHOUT ROWID) rather than by a rowid plus an index on the id.
std::vector<std::string> FewerIndexes(Backend b) {
  std::vector<std::string> steps = {
      "DROP INDEX resources_name",
      "CREATE INDEX resources_group_name ON resources (org_id, kind, name_folded) WHERE kind = 'Group'",
  };
  if (b != Backend::Sqlite) return steps;
  for (const char* stmt : {
           "CREATE TABLE decisions_keyed (user_id TEXT PRIMARY KEY, org_id BIGINT NOT NULL REFERENCES orgs(id), "
           "provisioned INTEGER NOT NULL, detail TEXT NOT NULL, error TEXT, updated TEXT NOT NULL) WITHOUT ROWID",
           "INSERT INTO decisions_keyed SELECT user_id, org_id, provisioned, detail, error, updated FROM decisions",
           "DROP TABLE decisions",
           "ALTER TABLE decisions_keyed RENAME TO decisions",
           "CREATE INDEX decisions_org ON decisions (org_id, provisioned)",
           "CREATE TABLE user_emails_keyed (user_id TEXT NOT NULL, org_id BIGINT NOT NULL, value_folded TEXT NOT NULL, "
           "PRIMARY KEY (user_id, value_folded)) WITHOUT ROWID",
           "INSERT OR IGNORE INTO user_emails_keyed SELECT user_id, org_id, value_folded FROM user_emails",
           "DROP TABLE user_emails",
           "ALTER TABLE user_emails_keyed RENAME TO user_emails",
           "CREATE INDEX user_emails_value ON user_emails (value_folded)",
       })
    steps.emplace_back(stmt);
  return steps;
}

// Managed groups' displayNames are unique in an organization, case-insensitively (Microsoft's SCIM
// validator expects 409 for a second one); unmanaged groups may still share a name with them.
// Duplicates stored before this step keep working: each later one carries its pk in name_dup, which
// the index includes, while every new row has name_dup = 0.
std::vector<std::string> UniqueManagedGroupNames() {
  return {
      "ALTER TABLE resources ADD COLUMN name_dup BIGINT NOT NULL DEFAULT 0",
      "UPDATE resources SET name_dup = pk WHERE kind = 'Group' AND managed = 1 AND pk NOT IN "
      "(SELECT min(pk) FROM resources WHERE kind = 'Group' AND managed = 1 GROUP BY org_id, name_folded)",
      "CREATE UNIQUE INDEX resources_managed_group_name ON resources (org_id, name_folded, name_dup) "
      "WHERE kind = 'Group' AND managed = 1",
  };
}

// An organization's settings revision counts changes of the settings decisions read; its decisions
// are stale while the revision they were last recomputed with is behind it.
std::vector<std::string> SettingsRevisions() {
  return {
      "ALTER TABLE orgs ADD COLUMN settings_rev BIGINT NOT NULL DEFAULT 0",
      "ALTER TABLE orgs ADD COLUMN recomputed_settings_rev BIGINT NOT NULL DEFAULT 0",
  };
}

// The default rule set (one row, id 1) decides organizations without a set of their own; every set
// made active, for an organization or as the default (org_id NULL), is kept in the history, so it can
// be listed and reverted to. `declared` holds the settings a set's files declare (rules.setting),
// which setting writes are validated against. recomputed_rules is the rule-set version an organization's decisions
// were last recomputed with.
std::vector<std::string> RuleSetHistory(const std::string& pk) {
  return {
      "CREATE TABLE default_rule_set (id INTEGER PRIMARY KEY, version TEXT NOT NULL, files TEXT NOT NULL, "
      "applied TEXT NOT NULL, origin TEXT NOT NULL, declared TEXT NOT NULL DEFAULT '[]')",
      "ALTER TABLE rule_sets ADD COLUMN origin TEXT NOT NULL DEFAULT 'rules apply'",
      "ALTER TABLE rule_sets ADD COLUMN declared TEXT NOT NULL DEFAULT '[]'",
      "CREATE TABLE rule_set_history (seq " + pk + ", org_id BIGINT REFERENCES orgs(id), version TEXT NOT NULL, "
      "files TEXT NOT NULL, applied TEXT NOT NULL, origin TEXT NOT NULL, declared TEXT NOT NULL DEFAULT '[]')",
      "CREATE INDEX rule_set_history_org ON rule_set_history (org_id, seq)",
      "CREATE INDEX rule_set_history_version ON rule_set_history (version)",
      "INSERT INTO rule_set_history (org_id, version, files, applied, origin) "
      "SELECT org_id, version, files, applied, 'rules apply' FROM rule_sets ORDER BY applied",
      // Unknown for existing organizations: each is recomputed once by the next server to start.
      "ALTER TABLE orgs ADD COLUMN recomputed_rules TEXT NOT NULL DEFAULT ''",
  };
}

// Tokens may expire (ISO 8601 UTC; NULL: never), and record when they were last used (written in
// batches, at most once a second per token; see Store::FlushTokenUse).
std::vector<std::string> TokenLifecycle() {
  return {
      "ALTER TABLE tokens ADD COLUMN expires TEXT",
      "ALTER TABLE tokens ADD COLUMN last_used TEXT",
  };
}

}  // namespace

// The schema version recorded in the database; 0 for an empty database.
int CurrentVersion(soci::session& sql) {
  int version = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT max(version) FROM schema_version", soci::into(version, ind);
  return ind == soci::i_ok ? version : 0;
}

int LatestVersion(Backend backend) { return static_cast<int>(Steps(backend).size()); }

void Migrate(soci::session& sql, Backend backend, int up_to) {
  const auto steps = Steps(backend);
  const size_t target = up_to < 0 ? steps.size() : std::min(steps.size(), static_cast<size_t>(up_to));
  // A current schema needs no write lock, so opening a store never waits for a running writer
  // (an import in another process, say).
  try {
    if (CurrentVersion(sql) >= static_cast<int>(target)) return;
  } catch (const soci::soci_error&) {  // no schema_version table yet (the failed read was autocommit)
  }
  sql << (backend == Backend::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  try {
    if (backend == Backend::Postgres) sql << "SELECT pg_advisory_xact_lock(7315001)";
    sql << "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
    const int version = CurrentVersion(sql);
    for (size_t v = static_cast<size_t>(version); v < target; ++v) {
      for (const auto& stmt : steps[v]) sql << stmt;
      int next = static_cast<int>(v + 1);
      sql << "INSERT INTO schema_version (version) VALUES (:v)", soci::use(next);
    }
    sql << "COMMIT";
  } catch (...) {
    try { sql << "ROLLBACK"; } catch (...) {}
    throw;
  }
}

}  // namespace scimitar::store
