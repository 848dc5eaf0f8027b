// Store over a SOCI connection pool. One leased session per call; writes in explicit transactions
// (BEGIN IMMEDIATE on SQLite so that concurrent writers queue on the busy timeout instead of failing).
#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <Poco/Timestamp.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "decisions/outcome.h"
#include "decisions/plan.h"
#include "scim/filter.h"
#include "scim/json_text.h"
#include "scim/schema.h"
#include "scimitar/error.h"
#include "scimitar/store.h"
#include "store/filter_sql.h"
#include "store/ids.h"
#include "store/migrations.h"
#include "store/change_counter.h"
#include "store/writer_lock.h"

namespace scimitar {

namespace {

using store::Backend;
using store::BindValue;

std::string NowIso() { return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%S.%iZ"); }

std::string Sha256Hex(const std::string& s) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(s);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string RandomString(size_t n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;  // getrandom(2) on Linux
  std::uniform_int_distribution<int> pick(0, 61);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += alphabet[pick(rd)];
  return out;
}

const char* KindName(scim::ResourceKind k) { return k == scim::ResourceKind::User ? "User" : "Group"; }

// The kind as it is written in SQL (KindName is for messages). Bound as a parameter instead, SQLite
// matches it against the partial index's `kind = 'User'` at plan time and then re-prepares the
// statement on every execution.
const char* KindLiteral(scim::ResourceKind k) { return k == scim::ResourceKind::User ? "'User'" : "'Group'"; }

bool IsUniqueViolation(const soci::soci_error& e) {
  const std::string m = e.what();
  return e.get_error_category() == soci::soci_error::constraint_violation ||
         m.find("UNIQUE constraint failed") != std::string::npos || m.find("duplicate key") != std::string::npos;
}

// Explicit transaction; rolls back unless committed. On SQLite the writer lock is taken first (see
// store/writer_lock.h), so BEGIN IMMEDIATE finds SQLite's write lock free instead of polling for it.
class Txn {
 public:
  Txn(soci::session& sql, Backend b, store::WriterLock* sqlite_writer) : sql_(sql) {
    if (b == Backend::Sqlite) lock_ = std::unique_lock<store::WriterLock>(*sqlite_writer);
    sql_ << (b == Backend::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  ~Txn() {
    if (!done_) try { sql_ << "ROLLBACK"; } catch (...) {}
  }
  void Commit() {
    sql_ << "COMMIT";
    done_ = true;
  }

 private:
  soci::session& sql_;
  std::unique_lock<store::WriterLock> lock_;  // released after COMMIT or ROLLBACK
  bool done_ = false;
};

// Columns derived from a document for indexing and uniqueness.
struct Projection {
  std::string name, name_folded, display;
  std::string external_id;
  soci::indicator external_ind = soci::i_null;
  int active = 0;
  soci::indicator active_ind = soci::i_null;
};

// The conflict a unique index on names reports: a user's userName, or a managed group's displayName
// (`name` empty: one of a batch).
ScimError NameTaken(scim::ResourceKind kind, const std::string& name) {
  const bool user = kind == scim::ResourceKind::User;
  if (name.empty())
    return Uniqueness(std::string(user ? "a userName" : "a group displayName") +
                      " of the batch is already in use in this organization");
  return Uniqueness(std::string(user ? "userName '" : "a group named '") + name +
                    (user ? "' is already in use in this organization" : "' already exists in this organization"));
}

Projection Project(scim::ResourceKind kind, const nlohmann::json& doc) {
  Projection p;
  const bool user = kind == scim::ResourceKind::User;
  p.name = doc.value(user ? "userName" : "displayName", "");
  p.name_folded = scim::ToLower(p.name);
  p.display = doc.value("displayName", p.name);
  if (doc.contains("externalId") && doc["externalId"].is_string()) {
    p.external_id = doc["externalId"].get<std::string>();
    p.external_ind = soci::i_ok;
  }
  if (user && doc.contains("active") && doc["active"].is_boolean()) {
    p.active = doc["active"].get<bool>() ? 1 : 0;
    p.active_ind = soci::i_ok;
  }
  return p;
}

// Before SQLite initializes: no global memory-statistics mutex (it serializes every allocation of
// every connection), and multi-thread mode (a connection is only ever used by one thread at a time:
// the pool leases it). Has no effect if the process initialized SQLite already.
void ConfigureSqliteOnce() {
  static const bool done = [] {
    sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // soci-sqlite3.h wraps sqlite3.h in sqlite_api
    sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    return true;
  }();
  (void)done;
}

BindValue ExternalIdBind(const Projection& p) {
  return p.external_ind == soci::i_ok ? BindValue::Text(p.external_id) : BindValue::NullText();
}
BindValue ActiveBind(const Projection& p) {
  return p.active_ind == soci::i_ok ? BindValue::Int(p.active) : BindValue::NullInt();
}

// A column that InsertRows fills: from the rows' values, or with the same SQL `constant` on every row.
struct InsertColumn {
  const char* name;
  const char* postgres_type = nullptr;  // the cast of the row's value on PostgreSQL (nullptr: text)
  const char* constant = nullptr;       // SQL, instead of a value from the rows
};
// One value per column of an InsertRows call that is not a constant, in the columns' order.
using InsertRow = std::vector<BindValue>;
const std::vector<InsertColumn> kEmailColumns = {{"user_id"}, {"org_id", "BIGINT"}, {"value_folded"}};

// A statement prepared once per pooled connection and reused. Every output column is read as text
// (both backends return integers as text faithfully), so one shape serves every query. On SQLite it
// runs on the connection's own handle: the caller's values are bound without copies and columns are
// read straight from SQLite. On PostgreSQL it runs through SOCI, with inputs and outputs bound by
// reference at preparation. Used only by the thread that leased the connection. Each run steps to the
// end (or resets on error), so no read snapshot stays open between requests.
class CachedStatement {
 public:
  CachedStatement(soci::session& sql, const std::string& text, const std::vector<BindValue>& binds, size_t columns)
      : out_(columns) {
    if (sql.get_backend_name() == "sqlite3") {
      db_ = static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
      if (sqlite_api::sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size() + 1),
                                         SQLITE_PREPARE_PERSISTENT, &lite_, nullptr) != SQLITE_OK)
        throw soci::soci_error(std::string("sqlite3 prepare failed: ") + sqlite_api::sqlite3_errmsg(db_) + " in: " + text);
      return;
    }
    st_ = std::make_unique<soci::statement>(sql);
    in_ = binds;
    in_ind_.resize(binds.size());
    ind_.resize(columns);
    for (size_t i = 0; i < columns; ++i) st_->exchange(soci::into(out_[i], ind_[i]));
    for (size_t i = 0; i < in_.size(); ++i) {
      auto& b = in_[i];
      switch (b.kind) {
        case BindValue::Kind::Text: st_->exchange(soci::use(b.text, in_ind_[i])); break;
        case BindValue::Kind::Int: st_->exchange(soci::use(b.integer, in_ind_[i])); break;
        case BindValue::Kind::Real: st_->exchange(soci::use(b.real, in_ind_[i])); break;
      }
    }
    st_->alloc();
    st_->prepare(text);
    st_->define_and_bind();
  }
  ~CachedStatement() {
    if (lite_) sqlite_api::sqlite3_finalize(lite_);
  }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;

  // Runs with `binds` (of the kinds it was prepared with); calls row(columns) for each row, where a
  // NULL column reads as "". Returns the number of rows affected (statements without columns).
  // Failures throw soci::soci_error on both backends.
  template <typename Row>
  long long Run(const std::vector<BindValue>& binds, Row&& row) {
    return lite_ ? RunSqlite(binds, row) : RunSoci(binds, row);
  }

 private:
  template <typename Row>
  long long RunSqlite(const std::vector<BindValue>& binds, Row& row) {
    struct Reset {  // also after an exception from a bind, a step or `row`
      sqlite_api::sqlite3_stmt* st;
      ~Reset() { sqlite_api::sqlite3_reset(st); }
    } reset{lite_};
    for (size_t i = 0; i < binds.size(); ++i) {
      const auto& b = binds[i];
      const int at = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      if (b.null) rc = sqlite_api::sqlite3_bind_null(lite_, at);
      else if (b.kind == BindValue::Kind::Text)
        rc = sqlite_api::sqlite3_bind_text64(lite_, at, b.text.data(), b.text.size(), SQLITE_STATIC, SQLITE_UTF8);
      else if (b.kind == BindValue::Kind::Int) rc = sqlite_api::sqlite3_bind_int64(lite_, at, b.integer);
      else rc = sqlite_api::sqlite3_bind_double(lite_, at, b.real);
      if (rc != SQLITE_OK) Fail("bind");
    }
    while (true) {
      const int rc = sqlite_api::sqlite3_step(lite_);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) Fail("step");
      for (size_t i = 0; i < out_.size(); ++i) {
        const int col = static_cast<int>(i);
        const auto* text = reinterpret_cast<const char*>(sqlite_api::sqlite3_column_text(lite_, col));
        if (text) out_[i].assign(text, static_cast<size_t>(sqlite_api::sqlite3_column_bytes(lite_, col)));
        else out_[i].clear();
      }
      row(out_);
    }
    return out_.empty() ? sqlite_api::sqlite3_changes64(db_) : 0;
  }

  template <typename Row>
  long long RunSoci(const std::vector<BindValue>& binds, Row& row) {
    for (size_t i = 0; i < binds.size(); ++i) {
      in_[i] = binds[i];
      in_ind_[i] = binds[i].null ? soci::i_null : soci::i_ok;
    }
    if (out_.empty()) {
      st_->execute(true);
      return st_->get_affected_rows();
    }
    st_->execute(false);
    while (st_->fetch()) {
      for (size_t i = 0; i < out_.size(); ++i)
        if (ind_[i] == soci::i_null) out_[i].clear();
      row(out_);
    }
    return 0;
  }

  [[noreturn]] void Fail(const char* what) const {
    // The message carries SQLite's text ("UNIQUE constraint failed: ..."), which IsUniqueViolation reads.
    throw soci::soci_error(std::string("sqlite3 ") + what + " failed: " + sqlite_api::sqlite3_errmsg(db_));
  }

  std::vector<std::string> out_;
  // SQLite
  sqlite_api::sqlite3* db_ = nullptr;
  sqlite_api::sqlite3_stmt* lite_ = nullptr;
  // PostgreSQL
  std::unique_ptr<soci::statement> st_;
  std::vector<BindValue> in_;
  std::vector<soci::indicator> in_ind_;
  std::vector<soci::indicator> ind_;
};

// The prepared statements of one pooled connection, keyed by SQL text and bind kinds.
struct ConnectionCache {
  static constexpr size_t kMaxStatements = 256;  // distinct filter shapes are unbounded
  std::unordered_map<std::string, std::unique_ptr<CachedStatement>> statements;
  // See Lease: given back during an exception; the store's connection epoch when last checked.
  bool suspect = false;
  uint64_t checked_epoch = 0;
  std::atomic<uint64_t>* epoch = nullptr;  // the store's (PostgreSQL only)

  CachedStatement& Get(soci::session& sql, const std::string& text, const std::vector<BindValue>& binds, size_t columns) {
    std::string key = text;
    key += '#';
    for (const auto& b : binds) key += static_cast<char>('0' + static_cast<int>(b.kind));
    auto it = statements.find(key);
    if (it != statements.end()) return *it->second;
    if (statements.size() >= kMaxStatements) statements.clear();
    auto st = std::make_unique<CachedStatement>(sql, text, binds, columns);
    return *statements.emplace(std::move(key), std::move(st)).first->second;
  }
};

// Leases one pooled connection with its statement cache; gives it back on destruction. A connection
// given back while an exception was propagating is suspect: its next lease checks that it still
// works (a round trip) and reconnects it if not. Finding one broken connection advances the store's
// connection epoch, and every other pooled connection is checked at its next lease too: after a
// PostgreSQL restart, the pool reconnects without failing a request per idle connection.
class Lease {
 public:
  Lease(soci::connection_pool& pool, std::vector<ConnectionCache>& caches)
      : pool_(pool), pos_(pool.lease()), sql_(pool.at(pos_)), cache_(caches[pos_]) {
    const uint64_t epoch = cache_.epoch ? cache_.epoch->load(std::memory_order_acquire) : 0;
    if (!cache_.suspect && cache_.checked_epoch == epoch) return;
    cache_.suspect = false;
    cache_.checked_epoch = epoch;
    if (sql_.is_connected()) return;
    if (cache_.epoch) cache_.checked_epoch = cache_.epoch->fetch_add(1, std::memory_order_acq_rel) + 1;
    cache_.statements.clear();  // prepared on the lost connection; before reconnect() replaces its backend
    try {
      sql_.reconnect();
    } catch (...) {
      cache_.suspect = true;
      pool_.give_back(pos_);
      throw;
    }
  }
  ~Lease() {
    if (std::uncaught_exceptions() > uncaught_) cache_.suspect = true;
    pool_.give_back(pos_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  soci::session& sql() { return sql_; }
  template <typename Row>
  void Select(const std::string& text, const std::vector<BindValue>& binds, size_t columns, Row&& row) {
    cache_.Get(sql_, text, binds, columns).Run(binds, std::forward<Row>(row));
  }

 private:
  soci::connection_pool& pool_;
  size_t pos_;
  soci::session& sql_;
  ConnectionCache& cache_;
  const int uncaught_ = std::uncaught_exceptions();
};

class SociStore final : public Store {
 public:
  SociStore(Backend backend, const std::string& connect, int pool_size, int busy_timeout_ms)
      : backend_(backend), pool_(static_cast<size_t>(pool_size)), caches_(static_cast<size_t>(pool_size)) {
    if (backend_ == Backend::Sqlite) {
      writer_ = std::make_unique<store::WriterLock>(connect, std::chrono::milliseconds(busy_timeout_ms));
      auth_changes_ = std::make_unique<store::ChangeCounter>(connect);
    } else {
      for (auto& cache : caches_) cache.epoch = &connection_epoch_;
    }
    for (int i = 0; i < pool_size; ++i) {
      soci::session& s = pool_.at(static_cast<size_t>(i));
      if (backend_ == Backend::Sqlite) {
        ConfigureSqliteOnce();
        s.open(soci::sqlite3, "db=" + connect + " timeout=" + std::to_string(std::max(1, (busy_timeout_ms + 999) / 1000)));
        s << "PRAGMA journal_mode=WAL";
        s << "PRAGMA synchronous=NORMAL";
        s << "PRAGMA foreign_keys=ON";
        s << "PRAGMA case_sensitive_like=ON";  // LIKE follows caseExact; lower() handles the rest
      } else {
        s.open(soci::postgresql, connect);
      }
    }
    for (int i = 0; i < pool_size; ++i) cache_of_[&pool_.at(static_cast<size_t>(i))] = static_cast<size_t>(i);
    Lease lease(pool_, caches_);
    store::Migrate(lease.sql(), backend_);
  }

  bool IsPostgres() const override { return backend_ == Backend::Postgres; }

  std::optional<std::string> NotReady() override {
    try {
      Lease lease(pool_, caches_);
      const int have = store::CurrentVersion(lease.sql()), want = store::LatestVersion(backend_);
      if (have != want)
        return "the database schema is at version " + std::to_string(have) + "; this server needs " + std::to_string(want);
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string("the database does not answer: ") + UnavailableReason(e).value_or("an error");
    }
  }

  std::optional<std::string> UnavailableReason(const std::exception& failure) const override {
    if (dynamic_cast<const store::WriterBusy*>(&failure)) return "the database is locked by another writer";
    const auto* e = dynamic_cast<const soci::soci_error*>(&failure);
    if (!e) return std::nullopt;
    const std::string m = e->what();
    auto has = [&](const char* text) { return m.find(text) != std::string::npos; };
    if (has("database is locked") || has("database table is locked") || has("database is busy"))
      return "the database is locked by another writer";
    if (has("database or disk is full") || has("No space left on device") || has("could not extend file"))
      return "the database has no space left";
    if (has("disk I/O error") || has("unable to open database file") || has("readonly database"))
      return "the database file cannot be written";
    if (backend_ == Backend::Postgres &&
        (e->get_error_category() == soci::soci_error::connection_error || has("Connection failed") ||
         has("server closed the connection") || has("terminating connection") || has("could not connect") ||
         has("no connection to the server") || has("the database system is") || has("Cannot establish connection") ||
         has("connection not open") || has("Connection refused")))
      return "the database cannot be reached";
    return std::nullopt;
  }

  // ---- organizations -----------------------------------------------------------------------
  Org CreateOrg(const std::string& slug, const std::string& name) override {
    if (slug.empty() || slug.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
      throw InvalidValue("an organization slug uses lowercase letters, digits, '-' and '_' only");
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    std::string created = NowIso();
    try {
      sql << "INSERT INTO orgs (slug, name, created) VALUES (:s, :n, :c)", soci::use(slug), soci::use(name),
          soci::use(created);
    } catch (const soci::soci_error& e) {
      if (IsUniqueViolation(e)) throw Uniqueness("organization '" + slug + "' already exists");
      throw;
    }
    Org org;
    sql << "SELECT id, slug, name FROM orgs WHERE slug = :s", soci::use(slug), soci::into(org.id),
        soci::into(org.slug), soci::into(org.name);
    tx.Commit();
    return org;
  }

  std::optional<Org> FindOrg(const std::string& slug) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Org org;
    sql << "SELECT id, slug, name FROM orgs WHERE slug = :s", soci::use(slug), soci::into(org.id),
        soci::into(org.slug), soci::into(org.name);
    if (!sql.got_data()) return std::nullopt;
    return org;
  }

  std::vector<Org> ListOrgs() override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::vector<Org> out;
    Org org;
    soci::statement st = (sql.prepare << "SELECT id, slug, name FROM orgs ORDER BY slug", soci::into(org.id),
                          soci::into(org.slug), soci::into(org.name));
    st.execute();
    while (st.fetch()) out.push_back(org);
    return out;
  }

  bool WriteSetting(long long org_id, const std::string& key, const std::optional<std::string>& value,
                    bool decision_input) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    long long changed = 0;
    if (value) {
      changed = Exec(sql, "INSERT INTO org_settings (org_id, key, value) VALUES (:o, :k, :v) "
                          "ON CONFLICT (org_id, key) DO UPDATE SET value = excluded.value "
                          "WHERE org_settings.value <> excluded.value",
                     {BindValue::Int(org_id), BindValue::Text(key), BindValue::Text(*value)});
    } else {
      changed = Exec(sql, "DELETE FROM org_settings WHERE org_id = :o AND key = :k",
                     {BindValue::Int(org_id), BindValue::Text(key)});
    }
    if (changed && decision_input)
      Exec(sql, "UPDATE orgs SET settings_rev = settings_rev + 1 WHERE id = :o", {BindValue::Int(org_id)});
    tx.Commit();
    if (changed) AuthChanged();
    return changed > 0;
  }

  std::vector<StaleOrg> StaleDecisions() override {
    Lease lease(pool_, caches_);
    std::vector<StaleOrg> out;
    Rows(lease.sql(),
         "SELECT o.slug, o.settings_rev, COALESCE(s.version, d.version, ''), "
         "CASE WHEN o.settings_rev <> o.recomputed_settings_rev THEN 1 ELSE 0 END FROM orgs o "
         "LEFT JOIN rule_sets s ON s.org_id = o.id LEFT JOIN default_rule_set d ON d.id = 1 "
         "WHERE o.settings_rev <> o.recomputed_settings_rev OR o.recomputed_rules <> COALESCE(s.version, d.version, '') "
         "ORDER BY o.id",
         {}, 4, [&](const std::vector<std::string>& c) { out.push_back({c[0], std::stoll(c[1]), c[2], c[3] == "1"}); });
    return out;
  }

  void MarkRecomputed(long long org_id, long long revision, const std::string& rules_version) override {
    Lease lease(pool_, caches_);
    Exec(lease.sql(),
         "UPDATE orgs SET recomputed_settings_rev = CASE WHEN recomputed_settings_rev < :r THEN :r2 "
         "ELSE recomputed_settings_rev END, recomputed_rules = CASE WHEN COALESCE("
         "(SELECT version FROM rule_sets WHERE org_id = orgs.id), (SELECT version FROM default_rule_set WHERE id = 1), "
         "'') = :v THEN :v2 ELSE '' END WHERE id = :o",
         {BindValue::Int(revision), BindValue::Int(revision), BindValue::Text(rules_version),
          BindValue::Text(rules_version), BindValue::Int(org_id)});
  }

  std::map<std::string, std::string> Settings(long long org_id) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::map<std::string, std::string> out;
    std::string k, v;
    soci::statement st = (sql.prepare << "SELECT key, value FROM org_settings WHERE org_id = :o", soci::use(org_id),
                          soci::into(k), soci::into(v));
    st.execute();
    while (st.fetch()) out[k] = v;
    return out;
  }

  // ---- members ------------------------------------------------------------------------------
  Member CreateMember(long long org_id, const std::string& email, const std::string& role) override {
    if (email.find('@') == std::string::npos) throw InvalidValue("'" + email + "' is not an email address");
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    std::string folded = scim::ToLower(email), created = NowIso();
    try {
      sql << "INSERT INTO members (org_id, email, email_folded, role, active, managed, created) "
             "VALUES (:o, :e, :f, :r, 1, 0, :c)",
          soci::use(org_id), soci::use(email), soci::use(folded), soci::use(role), soci::use(created);
    } catch (const soci::soci_error& e) {
      if (IsUniqueViolation(e)) throw Uniqueness("member '" + email + "' already exists");
      throw;
    }
    Member m = FindMember(sql, org_id, folded);
    tx.Commit();
    return m;
  }

  void DeactivateMember(long long org_id, const std::string& email) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::string folded = scim::ToLower(email);
    soci::statement st = (sql.prepare << "UPDATE members SET active = 0 WHERE org_id = :o AND email_folded = :e "
                                          "AND managed = 0",
                          soci::use(org_id), soci::use(folded));
    st.execute(true);
    if (st.get_affected_rows() == 0) throw NotFound("no member '" + email + "' in this organization");
    AuthChanged();
  }

  std::vector<Member> ListMembers(long long org_id) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::vector<Member> out;
    Member m;
    int active = 0, managed = 0;
    soci::statement st = (sql.prepare << "SELECT id, email, role, active, managed FROM members WHERE org_id = :o "
                                          "ORDER BY email_folded",
                          soci::use(org_id), soci::into(m.id), soci::into(m.email), soci::into(m.role),
                          soci::into(active), soci::into(managed));
    st.execute();
    while (st.fetch()) {
      m.active = active != 0;
      m.managed = managed != 0;
      out.push_back(m);
    }
    return out;
  }

  // ---- tokens -------------------------------------------------------------------------------
  std::pair<std::string, std::string> CreateToken(long long org_id, const std::string& owner_email,
                                                  const std::string& description, const std::string& expires) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    Member owner = FindMember(sql, org_id, scim::ToLower(owner_email));
    if (owner.id == 0) throw NotFound("no member '" + owner_email + "' in this organization");
    if (!owner.active) throw InvalidValue("member '" + owner_email + "' is deactivated");
    std::string id = RandomString(12), secret = RandomString(40);
    std::string hash = Sha256Hex(secret), created = NowIso();
    Exec(sql, "INSERT INTO tokens (id, org_id, member_id, secret_hash, description, created, expires) "
              "VALUES (:i, :o, :m, :h, :d, :c, :e)",
         {BindValue::Text(id), BindValue::Int(org_id), BindValue::Int(owner.id), BindValue::Text(hash),
          BindValue::Text(description), BindValue::Text(created),
          expires.empty() ? BindValue::NullText() : BindValue::Text(expires)});
    tx.Commit();
    return {id, "scim_" + id + "_" + secret};
  }

  void ExpireToken(long long org_id, const std::string& token_id, const std::string& expires) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    bool found = false;
    Rows(sql, "SELECT id FROM tokens WHERE org_id = :o AND id = :i AND revoked IS NULL",
         {BindValue::Int(org_id), BindValue::Text(token_id)}, 1, [&](const std::vector<std::string>&) { found = true; });
    if (!found) throw NotFound("no active token '" + token_id + "' in this organization");
    Exec(sql, "UPDATE tokens SET expires = :e WHERE org_id = :o AND id = :i AND (expires IS NULL OR expires > :e2)",
         {BindValue::Text(expires), BindValue::Int(org_id), BindValue::Text(token_id), BindValue::Text(expires)});
    tx.Commit();
    AuthChanged();
  }

  void FlushTokenUse() override {
    std::map<std::string, long long> uses;
    {
      std::lock_guard<std::mutex> lock(use_mu_);
      uses.swap(token_uses_);
    }
    if (uses.empty()) return;
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    for (const auto& [id, seconds] : uses) {
      const std::string when =
          Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(seconds)),
                                          "%Y-%m-%dT%H:%M:%SZ");
      Exec(sql, "UPDATE tokens SET last_used = :w WHERE id = :i AND (last_used IS NULL OR last_used < :w2)",
           {BindValue::Text(when), BindValue::Text(id), BindValue::Text(when)});
    }
    tx.Commit();
  }

  std::vector<TokenInfo> ListTokens(long long org_id) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::vector<TokenInfo> out;
    TokenInfo t;
    std::string revoked;
    soci::indicator revoked_ind;
    std::string expires, last_used;
    soci::indicator expires_ind, used_ind;
    soci::statement st = (sql.prepare << "SELECT t.id, m.email, t.description, t.created, t.revoked, t.expires, "
                                          "t.last_used FROM tokens t JOIN members m ON m.id = t.member_id "
                                          "WHERE t.org_id = :o ORDER BY t.created",
                          soci::use(org_id), soci::into(t.id), soci::into(t.owner_email), soci::into(t.description),
                          soci::into(t.created), soci::into(revoked, revoked_ind), soci::into(expires, expires_ind),
                          soci::into(last_used, used_ind));
    st.execute();
    while (st.fetch()) {
      t.revoked = revoked_ind == soci::i_ok;
      t.expires = expires_ind == soci::i_ok ? expires : "";
      t.last_used = used_ind == soci::i_ok ? last_used : "";
      out.push_back(t);
    }
    return out;
  }

  void RevokeToken(long long org_id, const std::string& token_id) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    std::string now = NowIso();
    soci::statement st = (sql.prepare << "UPDATE tokens SET revoked = :n WHERE org_id = :o AND id = :i AND revoked IS NULL",
                          soci::use(now), soci::use(org_id), soci::use(token_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) throw NotFound("no active token '" + token_id + "' in this organization");
    AuthChanged();
  }

  void PutSchemaExtension(long long org_id, const SchemaExtension& e) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    Exec(sql, "INSERT INTO schema_extensions (org_id, urn, urn_folded, resource_type, definition, created) "
              "VALUES (:o, :u, :f, :t, :d, :c) ON CONFLICT (org_id, urn_folded) DO UPDATE SET urn = excluded.urn, "
              "resource_type = excluded.resource_type, definition = excluded.definition",
         {BindValue::Int(org_id), BindValue::Text(e.urn), BindValue::Text(scim::ToLower(e.urn)),
          BindValue::Text(e.resource_type), BindValue::Text(scim::DumpJson(e.definition)), BindValue::Text(NowIso())});
    Exec(sql, "UPDATE orgs SET schema_rev = schema_rev + 1 WHERE id = :o", {BindValue::Int(org_id)});
    tx.Commit();
    AuthChanged();  // the tenant carries schema_rev
  }

  void RemoveSchemaExtension(long long org_id, const std::string& urn) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    if (Exec(sql, "DELETE FROM schema_extensions WHERE org_id = :o AND urn_folded = :f",
             {BindValue::Int(org_id), BindValue::Text(scim::ToLower(urn))}) == 0)
      throw NotFound("no schema extension '" + urn + "' in this organization");
    Exec(sql, "UPDATE orgs SET schema_rev = schema_rev + 1 WHERE id = :o", {BindValue::Int(org_id)});
    tx.Commit();
    AuthChanged();  // the tenant carries schema_rev
  }

  std::vector<SchemaExtension> SchemaExtensions(long long org_id) override {
    Lease lease(pool_, caches_);
    std::vector<SchemaExtension> out;
    lease.Select("SELECT urn, resource_type, definition FROM schema_extensions WHERE org_id = :o ORDER BY created, urn",
                 {BindValue::Int(org_id)}, 3, [&](const std::vector<std::string>& c) {
                   out.push_back(SchemaExtension{c[0], c[1], nlohmann::json::parse(c[2])});
                 });
    return out;
  }

  long long SchemaRevision(long long org_id) override {
    return IntegerOf("SELECT schema_rev FROM orgs WHERE id = :o", {BindValue::Int(org_id)});
  }

  // Every method that changes what this reads (a token, a member's active flag, a setting, the schema
  // revision) calls AuthChanged() after its commit.
  std::optional<Tenant> Authenticate(const std::string& bearer) override {
    // Format: scim_<12-char id>_<40-char secret>
    if (bearer.size() != 5 + 12 + 1 + 40 || bearer.compare(0, 5, "scim_") != 0 || bearer[17] != '_')
      return std::nullopt;
    const std::string id = bearer.substr(5, 12), secret = bearer.substr(18);
    const bool cacheable = auth_changes_ && auth_changes_->usable();
    const uint64_t epoch = cacheable ? auth_changes_->Load() : 0;  // before reading the database
    const auto now = std::chrono::steady_clock::now();
    if (cacheable) {
      std::shared_lock lock(auth_mu_);
      auto it = auth_cache_.find(id);
      if (it != auth_cache_.end() && it->second.epoch == epoch && now < it->second.expires &&
          ConstantTimeEquals(it->second.secret, secret)) {
        NoteUse(id);
        return it->second.tenant;
      }
    }
    Lease lease(pool_, caches_);
    std::optional<Tenant> found;
    std::string hash, sync, token_expires;
    bool has_sync = false;
    lease.Select("SELECT t.secret_hash, t.org_id, o.slug, t.member_id, s.value, o.schema_rev, t.expires FROM tokens t "
                 "JOIN orgs o ON o.id = t.org_id JOIN members m ON m.id = t.member_id "
                 "LEFT JOIN org_settings s ON s.org_id = t.org_id AND s.key = 'scim_sync' "
                 "WHERE t.id = :i AND t.revoked IS NULL AND m.active = 1",
                 {BindValue::Text(id)}, 7, [&](const std::vector<std::string>& c) {
                   hash = c[0];
                   found = Tenant{std::stoll(c[1]), c[2], std::stoll(c[3]), true, std::stoll(c[5]), id};
                   sync = c[4];
                   has_sync = !c[4].empty();
                   token_expires = c[6];
                 });
    if (!found || !ConstantTimeEquals(hash, Sha256Hex(secret))) return std::nullopt;
    // A valid secret of an expired token is told so (an IdP admin then knows to rotate it).
    auto lifetime = std::chrono::duration_cast<std::chrono::steady_clock::duration>(kAuthCacheLifetime);
    if (!token_expires.empty()) {
      const long long left_ms = MillisecondsUntil(token_expires);
      if (left_ms <= 0) throw Unauthorized("the bearer token expired at " + token_expires + "; create or rotate one");
      lifetime = std::min(lifetime, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::milliseconds(left_ms)));
    }
    NoteUse(id);
    if (has_sync) {
      std::string v = scim::ToLower(sync);
      found->scim_sync = !(v == "off" || v == "false" || v == "0" || v == "no" || v == "disabled");
    }
    if (cacheable) {
      std::unique_lock lock(auth_mu_);
      if (auth_cache_.size() >= kAuthCacheEntries) auth_cache_.clear();
      auth_cache_[id] = CachedTenant{*found, secret, epoch, now + lifetime};
    }
    return found;
  }

  // ---- resources ----------------------------------------------------------------------------
  ResourceRow Create(long long org_id, scim::ResourceKind kind, const nlohmann::json& doc,
                     const std::vector<std::string>& members) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    const std::vector<NewResource> items{NewResource{doc, "", ""}};
    std::vector<ResourceRow> rows = InsertMany(sql, org_id, kind, items);
    if (!members.empty()) AddMembers(sql, org_id, rows[0].id, members);
    if (kind == scim::ResourceKind::User)
      DecideNew(sql, org_id, rows, items, nullptr);
    else
      Recompute(sql, org_id, {members.begin(), members.end()}, {});
    ResourceRow row = std::move(rows[0]);
    tx.Commit();
    return row;
  }

  std::vector<ResourceRow> CreateMany(long long org_id, scim::ResourceKind kind, const std::vector<NewResource>& items,
                                      DecidedAhead* ahead) override {
    std::vector<ResourceRow> rows;
    if (items.empty()) return rows;
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    rows = InsertMany(sql, org_id, kind, items);
    if (kind == scim::ResourceKind::User) DecideNew(sql, org_id, rows, items, ahead);
    tx.Commit();
    AnalyzeAfterGrowth(sql, rows.size());
    return rows;
  }

  DecidedAhead DecideAhead(long long org_id, const std::vector<NewResource>& users) override {
    DecidedAhead out;
    out.rules_epoch = rules_epoch_.load();
    std::shared_ptr<DecisionMaker> maker = decision_maker();
    if (!maker || users.empty()) return out;
    std::vector<DecisionInput> inputs;
    {
      Lease lease(pool_, caches_);
      DecisionInput base = InputBase(lease.sql(), org_id);
      out.settings = base.settings;
      out.decided = base.now;
      for (const auto& u : users) inputs.push_back(NewUserInput(base, u.id, u.doc, u.doc_text));
    }
    std::vector<std::string> answers = maker->DecideMany(inputs);
    for (size_t i = 0; i < users.size(); ++i)
      out.decisions.emplace(users[i].id, decisions::PlanDecision(inputs[i], answers[i], nullptr, out.decided));
    return out;
  }

  std::vector<ResourceRow> FindByKey(long long org_id, scim::ResourceKind kind, bool by_name,
                                     const std::vector<std::string>& values) override {
    std::vector<ResourceRow> rows;
    if (values.empty()) return rows;
    std::vector<std::string> distinct;
    distinct.reserve(values.size());
    for (const auto& v : values) distinct.push_back(by_name ? scim::ToLower(v) : v);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const BindValue org = BindValue::Int(org_id), list = BindValue::Text(scim::DumpJson(distinct));
    const std::string column = by_name ? "r.name_folded" : "r.external_id";
    const std::string scope = std::string("r.org_id = :o AND r.kind = ") + KindLiteral(kind) + " AND r.managed = 1";
    Lease lease(pool_, caches_);
    const auto add = [&](const std::vector<std::string>& c) { rows.push_back(RowOf(c)); };
    // SQLite, which plans without statistics, would rather walk resources_order for the whole
    // organization than look each value up in the users' two-column name index; the list leads.
    if (backend_ == Backend::Sqlite)
      lease.Select("SELECT r.id, r.doc, r.version, r.created, r.modified FROM json_each(:v) k CROSS JOIN resources r "
                   "WHERE " + column + " = k.value AND " + scope,
                   {list, org}, 5, add);
    else
      lease.Select("SELECT r.id, r.doc, r.version, r.created, r.modified FROM resources r WHERE " + scope + " AND " +
                       InJsonList(column, ":v"),
                   {org, list}, 5, add);
    return rows;
  }

  std::optional<ResourceRow> Get(long long org_id, scim::ResourceKind kind, const std::string& id,
                                 std::vector<MemberRef>* groups) override {
    Lease lease(pool_, caches_);
    std::optional<ResourceRow> row;
    const bool with_groups = groups && kind == scim::ResourceKind::User;
    lease.Select("SELECT r.id, r.doc, r.version, r.created, r.modified, " + GroupsColumn(with_groups) +
                     " FROM resources r WHERE r.org_id = :o AND r.kind = " + KindLiteral(kind) + " AND r.managed = 1 AND r.id = :i",
                 {BindValue::Int(org_id), BindValue::Text(id)}, 6,
                 [&](const std::vector<std::string>& c) {
                   row = RowOf(c);
                   if (with_groups) *groups = ParseGroupsColumn(c[5]);
                 });
    return row;
  }

  ResourceRow Modify(long long org_id, scim::ResourceKind kind, const std::string& id,
                     std::optional<long long> expected_version, const Mutation& mutate) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());  // SQLite: BEGIN IMMEDIATE already holds the write lock
    auto current = GetIn(sql, org_id, kind, id, /*for_update=*/true);
    if (!current) throw NotFound(std::string(KindName(kind)) + " '" + id + "' not found");
    if (expected_version && *expected_version != current->version)
      throw PreconditionFailed("If-Match W/\"" + std::to_string(*expected_version) + "\" is not the current version W/\"" +
                               std::to_string(current->version) + "\"");
    auto [doc, changes] = mutate(*current);
    // Users whose decision inputs this write changes.
    std::set<std::string> affected;
    if (kind == scim::ResourceKind::User) {
      affected.insert(id);
    } else {
      affected.insert(changes.add.begin(), changes.add.end());
      affected.insert(changes.remove.begin(), changes.remove.end());
      const bool renamed = current->doc().value("displayName", "") != doc.value("displayName", "");
      if (changes.replace_all || renamed)
        for (auto& m : MemberIdsIn(sql, org_id, id)) affected.insert(std::move(m));
    }
    const InsertRow replacement = ReplacementRow(kind, id, current->version, doc);
    try {
      UpdateRows(sql, org_id, kind, {replacement});  // the row is locked at this version
    } catch (const soci::soci_error& e) {
      if (IsUniqueViolation(e)) throw NameTaken(kind, replacement[2].text);
      throw;
    }
    if (changes.replace_all)
      sql << "DELETE FROM memberships WHERE org_id = :o AND group_id = :g", soci::use(org_id), soci::use(id);
    if (!changes.remove.empty()) RemoveMembers(sql, org_id, id, changes.remove);
    if (!changes.add.empty()) AddMembers(sql, org_id, id, changes.add);
    if (kind == scim::ResourceKind::User) SyncEmails(sql, org_id, id, doc);
    Recompute(sql, org_id, affected, {});
    auto row = GetIn(sql, org_id, kind, id);
    tx.Commit();
    return *row;
  }

  void ModifyMany(long long org_id, scim::ResourceKind kind, const std::vector<Replacement>& items) override {
    if (items.empty()) return;
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    const bool users = kind == scim::ResourceKind::User;
    std::vector<std::string> ids;
    for (const auto& item : items) ids.push_back(item.id);
    const BindValue id_list = BindValue::Text(scim::DumpJson(nlohmann::json(ids)));
    // Users whose decision inputs this write changes: the users themselves, or the members of
    // renamed groups.
    std::set<std::string> affected;
    std::map<std::string, std::string> display_before;
    if (users) {
      affected.insert(ids.begin(), ids.end());
    } else {
      Rows(sql, "SELECT r.id, r.display FROM resources r WHERE " + InJsonList("r.id", ":ids") +
                    (backend_ == Backend::Sqlite ? " AND +r.org_id = :o" : " AND r.org_id = :o"),
           {id_list, BindValue::Int(org_id)}, 2,
           [&](const std::vector<std::string>& c) { display_before[c[0]] = c[1]; });
    }
    std::vector<std::string> renamed;
    std::vector<InsertRow> emails, updates;
    for (const auto& item : items) {
      updates.push_back(ReplacementRow(kind, item.id, item.expected_version, item.doc));
      if (!users && display_before[item.id] != updates.back()[4].text) renamed.push_back(item.id);
      if (users)
        for (auto& v : EmailValues(item.doc))
          emails.push_back({BindValue::Text(item.id), BindValue::Int(org_id), BindValue::Text(std::move(v))});
    }
    try {
      if (UpdateRows(sql, org_id, kind, updates) != static_cast<long long>(items.size()))
        throw PreconditionFailed("a " + std::string(KindName(kind)) +
                                 " of the batch is gone or no longer at the version it was read at");
    } catch (const soci::soci_error& e) {
      if (IsUniqueViolation(e)) throw NameTaken(kind, "");
      throw;
    }
    if (users) {
      Exec(sql, "DELETE FROM user_emails WHERE " + InJsonList("user_id", ":ids"), {id_list});
      InsertRows(sql, "user_emails", kEmailColumns, emails);
    }
    for (auto& [group, members] : Edges(sql, org_id, renamed, /*of_groups=*/true))
      for (auto& m : members) affected.insert(std::move(m.id));
    Recompute(sql, org_id, affected, {});
    tx.Commit();
  }

  void Delete(long long org_id, scim::ResourceKind kind, const std::string& id,
              std::optional<long long> expected_version) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    auto row = GetIn(sql, org_id, kind, id, /*for_update=*/true);
    if (!row) throw NotFound(std::string(KindName(kind)) + " '" + id + "' not found");
    if (expected_version && *expected_version != row->version)
      throw PreconditionFailed("the resource was modified: version " + std::to_string(*expected_version) +
                               " is no longer current");
    std::vector<std::string> members;
    if (kind == scim::ResourceKind::Group) members = MemberIdsIn(sql, org_id, id);
    sql << "DELETE FROM memberships WHERE org_id = :o AND (group_id = :g OR member_id = :m)", soci::use(org_id),
        soci::use(id), soci::use(id);
    sql << "DELETE FROM resources WHERE org_id = :o AND id = :i", soci::use(org_id), soci::use(id);
    if (kind == scim::ResourceKind::User) SyncEmails(sql, org_id, id, nlohmann::json::object());
    if (kind == scim::ResourceKind::User)
      Recompute(sql, org_id, {}, {id});
    else
      Recompute(sql, org_id, {members.begin(), members.end()}, {});
    tx.Commit();
  }

  QueryResult Find(long long org_id, scim::ResourceKind kind, const Query& q) override {
    const auto& type = q.type ? *q.type : scim::TypeOf(kind);
    store::SqlFragment where;
    if (q.filter) where = store::TranslateFilter(*q.filter, type, backend_);
    std::string order = "r.pk";
    if (q.sort_by) {
      store::SqlFragment s = store::SortExpression(*q.sort_by, type, backend_);
      const char* dir = q.descending ? " DESC" : " ASC";
      order = "(" + s.sql + ") IS NULL, " + s.sql + dir + ", r.pk" + dir;
    }
    // SQLite: unary + keeps the (org_id, kind, pk) index from driving when the filter has a better one.
    const bool unary = where.drives && backend_ == Backend::Sqlite;
    const std::string base = std::string(unary ? " FROM resources r WHERE +r.org_id = :org AND +r.kind = "
                                               : " FROM resources r WHERE r.org_id = :org AND r.kind = ") +
                             KindLiteral(kind) + " AND r.managed = 1" +
                             (where.sql.empty() ? std::string() : " AND " + where.sql);
    std::vector<BindValue> binds{BindValue::Int(org_id)};
    binds.insert(binds.end(), where.binds.begin(), where.binds.end());

    Lease lease(pool_, caches_);
    QueryResult result;
    auto count_all = [&](std::vector<BindValue> b) {
      lease.Select("SELECT count(*)" + base, b, 1, [&](const std::vector<std::string>& c) { result.total = std::stoll(c[0]); });
    };
    if (q.count <= 0) {
      count_all(binds);
      return result;
    }
    std::vector<BindValue> page = binds;
    page.push_back(BindValue::Int(q.count));
    page.push_back(BindValue::Int(q.offset));
    const bool with_groups = q.user_groups && kind == scim::ResourceKind::User;
    lease.Select("SELECT r.id, r.doc, r.version, r.created, r.modified, " + GroupsColumn(with_groups) + base +
                     " ORDER BY " + order + " LIMIT :lim OFFSET :off",
                 page, 6, [&](const std::vector<std::string>& c) {
                   result.rows.push_back(RowOf(c));
                   if (with_groups) result.groups.push_back(ParseGroupsColumn(c[5]));
                 });
    const long long got = static_cast<long long>(result.rows.size());
    // A short page that is not empty (or starts at 0) ends the result: the total needs no count(*).
    if (got < q.count && (got > 0 || q.offset == 0))
      result.total = q.offset + got;
    else
      count_all(binds);
    return result;
  }

  // ---- decisions ----------------------------------------------------------------------------
  void SetDecisionMaker(std::shared_ptr<DecisionMaker> maker) override {
    std::lock_guard<std::mutex> lock(maker_mu_);
    maker_ = std::move(maker);
    ++rules_epoch_;
  }

  std::shared_ptr<DecisionMaker> decision_maker() const override {
    std::lock_guard<std::mutex> lock(maker_mu_);
    return maker_;
  }

  long long RecomputeAll(long long org_id) override {
    ++rules_epoch_;  // decisions made ahead before this call are not used any more (CreateMany)
    std::vector<std::string> ids;
    {
      Lease lease(pool_, caches_);
      Rows(lease.sql(), "SELECT id FROM resources WHERE org_id = :o AND kind = 'User' AND managed = 1 ORDER BY pk",
           {BindValue::Int(org_id)}, 1, [&](const std::vector<std::string>& c) { ids.push_back(c[0]); });
    }
    long long changed = 0;
    for (size_t at = 0; at < ids.size(); at += 500) {
      Lease lease(pool_, caches_);
      soci::session& sql = lease.sql();
      Txn tx(sql, backend_, writer_.get());
      changed += Recompute(sql, org_id, {ids.begin() + static_cast<long>(at),
                                         ids.begin() + static_cast<long>(std::min(ids.size(), at + 500))}, {});
      tx.Commit();
    }
    return changed;
  }

  std::vector<DecisionInput> DecisionInputs(long long org_id) override {
    Lease lease(pool_, caches_);
    DecisionInput base = InputBase(lease.sql(), org_id);
    std::vector<DecisionInput> out;
    std::map<std::string, size_t> index;
    Rows(lease.sql(), "SELECT id, name, doc FROM resources WHERE org_id = :o AND kind = 'User' AND managed = 1 ORDER BY pk",
         {BindValue::Int(org_id)}, 3, [&](const std::vector<std::string>& c) {
           DecisionInput in = base;
           in.user_id = c[0];
           in.user_name = c[1];
           in.user = c[2];
           index[c[0]] = out.size();
           out.push_back(std::move(in));
         });
    Rows(lease.sql(), "SELECT m.member_id, g.id, g.display FROM memberships m JOIN resources g ON g.id = m.group_id "
                      "WHERE m.org_id = :o ORDER BY g.pk",
         {BindValue::Int(org_id)}, 3, [&](const std::vector<std::string>& c) {
           if (auto it = index.find(c[0]); it != index.end())
             out[it->second].groups.push_back({{"id", c[1]}, {"display", c[2]}});
         });
    return out;
  }

  std::vector<StoredDecision> Decisions(long long org_id, bool provisioned_only) override {
    Lease lease(pool_, caches_);
    std::vector<StoredDecision> out;
    Rows(lease.sql(),
         std::string("SELECT d.user_id, r.name, d.provisioned, d.detail, d.error, d.updated FROM decisions d "
                     "JOIN resources r ON r.id = d.user_id WHERE d.org_id = :o") +
             (provisioned_only ? " AND d.provisioned = 1" : "") + " ORDER BY r.name_folded",
         {BindValue::Int(org_id)}, 6, [&](const std::vector<std::string>& c) { out.push_back(DecisionOf(c)); });
    return out;
  }

  std::optional<StoredDecision> DecisionFor(long long org_id, const std::string& user_name) override {
    Lease lease(pool_, caches_);
    std::optional<StoredDecision> out;
    Rows(lease.sql(),
         "SELECT d.user_id, r.name, d.provisioned, d.detail, d.error, d.updated FROM decisions d "
         "JOIN resources r ON r.id = d.user_id WHERE r.org_id = :o AND r.kind = 'User' AND r.managed = 1 "
         "AND r.name_folded = :n",
         {BindValue::Int(org_id), BindValue::Text(scim::ToLower(user_name))}, 6,
         [&](const std::vector<std::string>& c) { out = DecisionOf(c); });
    return out;
  }

  // ---- outbox -------------------------------------------------------------------------------
  std::vector<OutboxEvent> ClaimEvents(int limit, int retry_after_seconds) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    std::string now = NowIso(), lease_until = IsoIn(retry_after_seconds);
    std::vector<OutboxEvent> out;
    Rows(sql,
         std::string("SELECT e.id, o.slug, e.type, e.payload, e.attempts FROM outbox e JOIN orgs o ON o.id = e.org_id "
                     "WHERE e.delivered IS NULL AND e.failed IS NULL AND e.next_attempt <= :now ORDER BY e.next_attempt LIMIT :n") +
             (backend_ == Backend::Postgres ? " FOR UPDATE OF e SKIP LOCKED" : ""),
         {BindValue::Text(now), BindValue::Int(limit)}, 5, [&](const std::vector<std::string>& c) {
           out.push_back(OutboxEvent{std::stoll(c[0]), c[1], c[2], nlohmann::json::parse(c[3]), std::stoi(c[4])});
         });
    for (const auto& e : out)
      sql << "UPDATE outbox SET next_attempt = :t WHERE id = :i", soci::use(lease_until), soci::use(e.id);
    tx.Commit();
    return out;
  }

  void MarkDelivered(const std::vector<long long>& event_ids) override {
    if (event_ids.empty()) return;
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    const std::string now = NowIso();
    for (long long id : event_ids)
      Exec(sql, "UPDATE outbox SET delivered = :d WHERE id = :i", {BindValue::Text(now), BindValue::Int(id)});
    tx.Commit();
  }

  void MarkFailed(long long event_id, const std::string& error, int max_attempts) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    int attempts = 0;
    sql << "SELECT attempts FROM outbox WHERE id = :i", soci::use(event_id), soci::into(attempts);
    ++attempts;
    std::string next = IsoIn(std::min(300, 1 << std::min(attempts, 8)));  // 2 s, 4 s, ... up to 5 min
    std::string failed = NowIso();
    soci::indicator failed_ind = attempts >= max_attempts ? soci::i_ok : soci::i_null;
    sql << "UPDATE outbox SET attempts = :a, last_error = :e, next_attempt = :n, failed = :f WHERE id = :i",
        soci::use(attempts), soci::use(error), soci::use(next), soci::use(failed, failed_ind), soci::use(event_id);
    tx.Commit();
  }

  std::vector<OutboxEvent> FailedEvents(long long org_id) override {
    Lease lease(pool_, caches_);
    std::vector<OutboxEvent> out;
    Rows(lease.sql(),
         "SELECT e.id, o.slug, e.type, e.payload, e.attempts, e.last_error FROM outbox e JOIN orgs o ON o.id = e.org_id "
         "WHERE e.org_id = :o AND e.last_error IS NOT NULL AND e.delivered IS NULL ORDER BY e.id",
         {BindValue::Int(org_id)}, 6, [&](const std::vector<std::string>& c) {
           OutboxEvent e{std::stoll(c[0]), c[1], c[2], nlohmann::json::parse(c[3]), std::stoi(c[4])};
           e.payload["last_error"] = c[5];
           out.push_back(std::move(e));
         });
    return out;
  }

  long long EventCount(long long org_id) override {
    return IntegerOf("SELECT count(*) FROM outbox WHERE org_id = :o", {BindValue::Int(org_id)});
  }

  // ---- rule sets ----------------------------------------------------------------------------
  bool ApplyRuleSet(std::optional<long long> org_id, const std::string& version, const nlohmann::json& files,
                    const nlohmann::json& declared, const std::string& origin) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    const std::string body = scim::DumpJson(files), decls = scim::DumpJson(declared), now = NowIso();
    Txn tx(sql, backend_, writer_.get());
    LockRuleSets(sql);
    if (ActiveVersion(sql, org_id) == version) return false;
    if (org_id) {
      Exec(sql, "INSERT INTO rule_sets (org_id, version, files, applied, origin, declared) VALUES (:o, :v, :f, :a, :g, :d) "
                "ON CONFLICT (org_id) DO UPDATE SET version = excluded.version, files = excluded.files, "
                "applied = excluded.applied, origin = excluded.origin, declared = excluded.declared",
           {BindValue::Int(*org_id), BindValue::Text(version), BindValue::Text(body), BindValue::Text(now),
            BindValue::Text(origin), BindValue::Text(decls)});
    } else {
      Exec(sql, "INSERT INTO default_rule_set (id, version, files, applied, origin, declared) VALUES (1, :v, :f, :a, :g, :d) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, files = excluded.files, "
                "applied = excluded.applied, origin = excluded.origin, declared = excluded.declared",
           {BindValue::Text(version), BindValue::Text(body), BindValue::Text(now), BindValue::Text(origin),
            BindValue::Text(decls)});
    }
    AppendHistory(sql, org_id, version, body, decls, now, origin);
    tx.Commit();
    return true;
  }

  nlohmann::json ActiveRuleSet(long long org_id) override {
    Lease lease(pool_, caches_);
    nlohmann::json out = {{"scope", "none"}, {"version", ""}, {"files", nlohmann::json::object()},
                          {"settings", nlohmann::json::array()}, {"applied", ""}, {"origin", ""}};
    Rows(lease.sql(),
         "SELECT CASE WHEN s.org_id IS NOT NULL THEN 'organization' WHEN d.id IS NOT NULL THEN 'default' ELSE 'none' END, "
         "COALESCE(s.version, d.version, ''), COALESCE(s.files, d.files, '{}'), COALESCE(s.declared, d.declared, '[]'), "
         "COALESCE(s.applied, d.applied, ''), COALESCE(s.origin, d.origin, '') FROM orgs o "
         "LEFT JOIN rule_sets s ON s.org_id = o.id LEFT JOIN default_rule_set d ON d.id = 1 WHERE o.id = :o",
         {BindValue::Int(org_id)}, 6, [&](const std::vector<std::string>& c) {
           out = {{"scope", c[0]}, {"version", c[1]}, {"files", nlohmann::json::parse(c[2])},
                  {"settings", nlohmann::json::parse(c[3])}, {"applied", c[4]}, {"origin", c[5]}};
         });
    return out;
  }

  nlohmann::json DeclaredSettings(long long org_id) override {
    Lease lease(pool_, caches_);
    nlohmann::json out = nlohmann::json::array();
    Rows(lease.sql(),
         "SELECT COALESCE(s.declared, d.declared, '[]') FROM orgs o LEFT JOIN rule_sets s ON s.org_id = o.id "
         "LEFT JOIN default_rule_set d ON d.id = 1 WHERE o.id = :o",
         {BindValue::Int(org_id)}, 1, [&](const std::vector<std::string>& c) { out = nlohmann::json::parse(c[0]); });
    return out;
  }

  bool ClearRuleSet(std::optional<long long> org_id) override {
    Lease lease(pool_, caches_);
    soci::session& sql = lease.sql();
    Txn tx(sql, backend_, writer_.get());
    LockRuleSets(sql);
    const long long removed = org_id ? Exec(sql, "DELETE FROM rule_sets WHERE org_id = :o", {BindValue::Int(*org_id)})
                                     : Exec(sql, "DELETE FROM default_rule_set WHERE id = 1", {});
    if (!removed) return false;
    AppendHistory(sql, org_id, "", "{}", "[]", NowIso(),
                  org_id ? "rules clear: the default set decides" : "rules clear --default: settings alone decide");
    tx.Commit();
    return true;
  }

  std::map<std::string, nlohmann::json> RuleSets() override {
    Lease lease(pool_, caches_);
    std::map<std::string, nlohmann::json> out;
    Rows(lease.sql(),
         "SELECT o.slug, s.version, s.files, s.applied, s.origin, s.declared FROM rule_sets s JOIN orgs o ON o.id = s.org_id",
         {}, 6, [&](const std::vector<std::string>& c) { out[c[0]] = RuleSetOf(c[1], c[2], c[3], c[4], c[5]); });
    return out;
  }

  std::optional<nlohmann::json> DefaultRuleSet() override {
    Lease lease(pool_, caches_);
    std::optional<nlohmann::json> out;
    Rows(lease.sql(), "SELECT version, files, applied, origin, declared FROM default_rule_set WHERE id = 1", {}, 5,
         [&](const std::vector<std::string>& c) { out = RuleSetOf(c[0], c[1], c[2], c[3], c[4]); });
    return out;
  }

  std::map<std::string, std::string> ActiveRuleSetVersions() override {
    Lease lease(pool_, caches_);
    std::map<std::string, std::string> out;
    Rows(lease.sql(),
         "SELECT o.slug, s.version FROM rule_sets s JOIN orgs o ON o.id = s.org_id "
         "UNION ALL SELECT '', version FROM default_rule_set WHERE id = 1",
         {}, 2, [&](const std::vector<std::string>& c) { out[c[0]] = c[1]; });
    return out;
  }

  std::vector<nlohmann::json> RuleSetHistory(std::optional<long long> org_id) override {
    Lease lease(pool_, caches_);
    std::vector<nlohmann::json> out;
    const std::string where = org_id ? "org_id = :o" : "org_id IS NULL";
    std::vector<BindValue> binds;
    if (org_id) binds.push_back(BindValue::Int(*org_id));
    Rows(lease.sql(), "SELECT seq, version, applied, origin FROM rule_set_history WHERE " + where + " ORDER BY seq DESC",
         binds, 4, [&](const std::vector<std::string>& c) {
           out.push_back({{"seq", std::stoll(c[0])}, {"version", c[1]}, {"applied", c[2]}, {"origin", c[3]}});
         });
    return out;
  }

  std::optional<nlohmann::json> RuleSetFiles(const std::string& version) override {
    if (version.empty()) return std::nullopt;
    Lease lease(pool_, caches_);
    std::optional<nlohmann::json> out;
    Rows(lease.sql(), "SELECT files FROM rule_set_history WHERE version = :v ORDER BY seq DESC LIMIT 1",
         {BindValue::Text(version)}, 1, [&](const std::vector<std::string>& c) { out = nlohmann::json::parse(c[0]); });
    return out;
  }

  std::map<std::string, std::vector<MemberRef>> MembersOf(long long org_id,
                                                          const std::vector<std::string>& group_ids) override {
    Lease lease(pool_, caches_);
    return Edges(lease.sql(), org_id, group_ids, /*of_groups=*/true);
  }

  std::map<std::string, std::vector<MemberRef>> GroupsOf(long long org_id,
                                                         const std::vector<std::string>& user_ids) override {
    Lease lease(pool_, caches_);
    return Edges(lease.sql(), org_id, user_ids, /*of_groups=*/false);
  }

 private:
  static nlohmann::json RuleSetOf(const std::string& version, const std::string& files, const std::string& applied,
                                  const std::string& origin, const std::string& declared) {
    return {{"version", version}, {"files", nlohmann::json::parse(files)}, {"applied", applied}, {"origin", origin},
            {"settings", nlohmann::json::parse(declared)}};
  }

  // Serializes rule-set changes (check, write, history) across processes; SQLite's writer lock does.
  void LockRuleSets(soci::session& sql) {
    if (backend_ == Backend::Postgres) sql << "SELECT pg_advisory_xact_lock(7315002)";
  }

  // The version of the set that decides the organization: its own, else the default, else "".
  std::string ActiveRulesOf(soci::session& sql, long long org_id) {
    std::string version;
    Rows(sql,
         "SELECT COALESCE(s.version, d.version, '') FROM orgs o LEFT JOIN rule_sets s ON s.org_id = o.id "
         "LEFT JOIN default_rule_set d ON d.id = 1 WHERE o.id = :o",
         {BindValue::Int(org_id)}, 1, [&](const std::vector<std::string>& c) { version = c[0]; });
    return version;
  }

  // The version of the set active for org_id (nullopt: the default), "" when none is.
  std::string ActiveVersion(soci::session& sql, std::optional<long long> org_id) {
    std::string version;
    if (org_id)
      Rows(sql, "SELECT version FROM rule_sets WHERE org_id = :o", {BindValue::Int(*org_id)}, 1,
           [&](const std::vector<std::string>& c) { version = c[0]; });
    else
      Rows(sql, "SELECT version FROM default_rule_set WHERE id = 1", {}, 1,
           [&](const std::vector<std::string>& c) { version = c[0]; });
    return version;
  }

  void AppendHistory(soci::session& sql, std::optional<long long> org_id, const std::string& version,
                     const std::string& files, const std::string& declared, const std::string& applied,
                     const std::string& origin) {
    Exec(sql, "INSERT INTO rule_set_history (org_id, version, files, declared, applied, origin) "
              "VALUES (:o, :v, :f, :d, :a, :g)",
         {org_id ? BindValue::Int(*org_id) : BindValue::NullInt(), BindValue::Text(version), BindValue::Text(files),
          BindValue::Text(declared), BindValue::Text(applied), BindValue::Text(origin)});
  }

  // The integer in the first column of the query's first row; 0 when there is none.
  long long IntegerOf(const std::string& text, const std::vector<BindValue>& binds) {
    Lease lease(pool_, caches_);
    long long n = 0;
    lease.Select(text, binds, 1, [&](const std::vector<std::string>& c) { n = c[0].empty() ? 0 : std::stoll(c[0]); });
    return n;
  }

  Member FindMember(soci::session& sql, long long org_id, const std::string& folded) {
    Member m;
    int active = 0, managed = 0;
    sql << "SELECT id, email, role, active, managed FROM members WHERE org_id = :o AND email_folded = :e "
           "ORDER BY managed LIMIT 1",
        soci::use(org_id), soci::use(folded), soci::into(m.id), soci::into(m.email), soci::into(m.role),
        soci::into(active), soci::into(managed);
    if (!sql.got_data()) return Member{};
    m.active = active != 0;
    m.managed = managed != 0;
    return m;
  }

  std::optional<ResourceRow> GetIn(soci::session& sql, long long org_id, scim::ResourceKind kind, const std::string& id,
                                   bool for_update = false) {
    std::optional<ResourceRow> row;
    const char* lock = for_update && backend_ == Backend::Postgres ? " FOR UPDATE" : "";
    Rows(sql,
         std::string("SELECT r.id, r.doc, r.version, r.created, r.modified FROM resources r "
                     "WHERE r.org_id = :o AND r.kind = ") + KindLiteral(kind) + " AND r.managed = 1 AND r.id = :i" + lock,
         {BindValue::Int(org_id), BindValue::Text(id)}, 5,
         [&](const std::vector<std::string>& c) { row = RowOf(c); });
    return row;
  }

  // A query on a pooled session already leased (inside transactions), through its statement cache.
  template <typename Row>
  void Rows(soci::session& sql, const std::string& text, const std::vector<BindValue>& binds, size_t columns,
            Row&& row) {
    caches_[cache_of_.at(&sql)].Get(sql, text, binds, columns).Run(binds, std::forward<Row>(row));
  }
  // A statement without result columns; returns the rows affected.
  long long Exec(soci::session& sql, const std::string& text, const std::vector<BindValue>& binds) {
    return caches_[cache_of_.at(&sql)].Get(sql, text, binds, 0).Run(binds, [](const std::vector<std::string>&) {});
  }

  static StoredDecision DecisionOf(const std::vector<std::string>& c) {
    return StoredDecision{c[0], c[1], c[2] == "1", nlohmann::json::parse(c[3]), c[4], c[5]};
  }

  static std::string IsoIn(int seconds) {
    return Poco::DateTimeFormatter::format(Poco::Timestamp() + Poco::Timespan(seconds, 0), "%Y-%m-%dT%H:%M:%S.%iZ");
  }

  // The folded email values of a user document, each once.
  static std::set<std::string> EmailValues(const nlohmann::json& doc) {
    std::set<std::string> values;
    auto emails = doc.find("emails");
    if (emails == doc.end() || !emails->is_array()) return values;
    for (const auto& e : *emails)
      if (e.is_object() && e.contains("value") && e["value"].is_string()) values.insert(scim::ToLower(e["value"].get<std::string>()));
    return values;
  }

  // Keeps user_emails equal to the folded email values of a stored user's `doc` (inside the write
  // transaction; an empty doc removes them).
  void SyncEmails(soci::session& sql, long long org_id, const std::string& user_id, const nlohmann::json& doc) {
    Exec(sql, "DELETE FROM user_emails WHERE user_id = :u", {BindValue::Text(user_id)});
    std::vector<InsertRow> emails;
    for (const auto& v : EmailValues(doc)) emails.push_back({BindValue::Text(user_id), BindValue::Int(org_id), BindValue::Text(v)});
    InsertRows(sql, "user_emails", kEmailColumns, emails);
  }

  // Inserts new managed resources (and their email projections) inside the caller's transaction.
  // Throws 409 when a userName is taken.
  std::vector<ResourceRow> InsertMany(soci::session& sql, long long org_id, scim::ResourceKind kind,
                                      const std::vector<NewResource>& items) {
    std::vector<ResourceRow> rows;
    std::vector<InsertRow> values, emails;
    rows.reserve(items.size());
    values.reserve(items.size());
    const std::string now = NowIso();
    for (const auto& item : items) {
      const nlohmann::json& doc = item.doc;
      ResourceRow row{item.id.empty() ? store::NewResourceId() : item.id,
                      item.doc_text.empty() ? scim::DumpJson(doc) : item.doc_text, 1, now, now};
      Projection p = Project(kind, doc);
      values.push_back({BindValue::Text(row.id), BindValue::Int(org_id), BindValue::Text(std::move(p.name)), BindValue::Text(std::move(p.name_folded)),
                        BindValue::Text(std::move(p.display)), ExternalIdBind(p), ActiveBind(p),
                        BindValue::Text(row.doc_text), BindValue::Text(now), BindValue::Text(now)});
      if (kind == scim::ResourceKind::User)
        for (auto& v : EmailValues(doc))
          emails.push_back({BindValue::Text(row.id), BindValue::Int(org_id), BindValue::Text(std::move(v))});
      rows.push_back(std::move(row));
    }
    try {
      InsertRows(sql, "resources",
                 {{"id"}, {"org_id", "BIGINT"}, {"kind", nullptr, KindLiteral(kind)}, {"managed", nullptr, "1"}, {"name"},
                  {"name_folded"}, {"display"}, {"external_id"}, {"active", "INTEGER"}, {"doc", "JSONB"},
                  {"version", nullptr, "1"}, {"created"}, {"modified"}},
                 values);
    } catch (const soci::soci_error& e) {
      if (!IsUniqueViolation(e)) throw;
      throw NameTaken(kind, items.size() == 1 ? Project(kind, items[0].doc).name : "");
    }
    InsertRows(sql, "user_emails", kEmailColumns, emails);
    return rows;
  }


  // Inserts `rows` into `table` inside the caller's transaction; `tail` follows the values (an ON
  // CONFLICT clause). SQLite runs one prepared statement per row: binding values costs less than
  // encoding all rows as JSON and decoding them again. PostgreSQL gets all rows in one statement, a
  // JSON array of rows, so a batch costs one round trip; the statement has one shape for any number
  // of rows, so it is prepared once.
  void InsertRows(soci::session& sql, const char* table, const std::vector<InsertColumn>& columns,
                  const std::vector<InsertRow>& rows, const std::string& tail = "") {
    if (rows.empty()) return;
    std::string text = std::string("INSERT INTO ") + table + " (";
    for (size_t i = 0; i < columns.size(); ++i) text += (i ? ", " : "") + std::string(columns[i].name);
    if (backend_ == Backend::Sqlite) {
      text += ") VALUES (";
      for (size_t i = 0; i < columns.size(); ++i) text += (i ? ", " : "") + std::string(columns[i].constant ? columns[i].constant : "?");
      text += ") " + tail;
      CachedStatement& st = caches_[cache_of_.at(&sql)].Get(sql, text, rows[0], 0);
      for (const auto& row : rows) st.Run(row, [](const std::vector<std::string>&) {});
      return;
    }
    text += ") SELECT ";
    int value = 0;
    for (size_t i = 0; i < columns.size(); ++i) {
      const InsertColumn& c = columns[i];
      const std::string field = c.constant ? c.constant : "(r.v ->> " + std::to_string(value++) + ")";
      text += (i ? ", " : "") + (c.postgres_type && !c.constant ? "CAST(" + field + " AS " + c.postgres_type + ")" : field);
    }
    text += " FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r(v) WHERE true " + tail;
    Exec(sql, text, {RowsJson(rows)});
  }

  // A row of UpdateRows: `doc` as the new document of resource `id` at `version`.
  static InsertRow ReplacementRow(scim::ResourceKind kind, const std::string& id, long long version,
                                  const nlohmann::json& doc) {
    Projection p = Project(kind, doc);
    return {BindValue::Text(id), BindValue::Int(version), BindValue::Text(std::move(p.name)),
            BindValue::Text(std::move(p.name_folded)), BindValue::Text(std::move(p.display)), ExternalIdBind(p),
            ActiveBind(p), BindValue::Text(scim::DumpJson(doc))};
  }

  // Stores new documents for managed resources of `kind` (rows of ReplacementRow: {id, expected
  // version, name, name_folded, display, external_id, active, doc text}) inside the caller's transaction. A row whose
  // resource is gone or at another version is not written. Returns how many were written. SQLite
  // runs one prepared statement per row; PostgreSQL one statement for all (one round trip).
  long long UpdateRows(soci::session& sql, long long org_id, scim::ResourceKind kind, const std::vector<InsertRow>& rows) {
    const BindValue now = BindValue::Text(NowIso());
    if (backend_ == Backend::Sqlite) {
      long long written = 0;
      for (const auto& r : rows)
        written += Exec(sql,
                        std::string("UPDATE resources SET name = :n, name_folded = :nf, display = :d, external_id = :x, "
                                    "active = :a, doc = :doc, version = version + 1, modified = :m WHERE org_id = :o "
                                    "AND kind = ") + KindLiteral(kind) + " AND managed = 1 AND id = :id AND version = :v",
                        {r[2], r[3], r[4], r[5], r[6], r[7], now, BindValue::Int(org_id), r[0], r[1]});
      return written;
    }
    return Exec(sql,
                std::string("UPDATE resources r SET modified = :m, name = t.v ->> 2, name_folded = t.v ->> 3, "
                            "display = t.v ->> 4, external_id = t.v ->> 5, active = CAST(t.v ->> 6 AS INTEGER), "
                            "doc = CAST(t.v ->> 7 AS JSONB), version = r.version + 1 "
                            "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS t(v) WHERE r.org_id = :o AND r.kind = ") +
                    KindLiteral(kind) + " AND r.managed = 1 AND r.id = t.v ->> 0 AND r.version = CAST(t.v ->> 1 AS BIGINT)",
                {now, RowsJson(rows), BindValue::Int(org_id)});
  }

  // `rows` as one JSON array of arrays, for PostgreSQL statements over jsonb_array_elements.
  static BindValue RowsJson(const std::vector<InsertRow>& rows) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json& values = list.emplace_back(nlohmann::json::array());
      for (const auto& b : row)
        values.push_back(b.null ? nlohmann::json() : b.kind == BindValue::Kind::Int ? nlohmann::json(b.integer)
                                                   : b.kind == BindValue::Kind::Real ? nlohmann::json(b.real)
                                                                                      : nlohmann::json(b.text));
    }
    return BindValue::Text(scim::DumpJson(list));
  }

  // PostgreSQL plans from table statistics, and a bulk load into fresh tables outruns autovacuum's
  // ANALYZE: with statistics of an empty table it picks a scan of the whole organization over the id
  // index. So after this process doubled the rows it wrote since its first ANALYZE (at least 1,000
  // rows), it analyzes the tables bulk writes fill: only the columns that queries select rows by.
  // The planner scales the row counts of statistics by the tables' current size, so statistics that
  // are a few times stale still plan the same; what misleads it is none at all. Documents and
  // decision details are left out: sorting their sampled values (jsonb, long text) was most of the
  // cost of an ANALYZE. SQLite plans without statistics.
  void AnalyzeAfterGrowth(soci::session& sql, size_t inserted) {
    if (backend_ != Backend::Postgres) return;
    {
      std::lock_guard<std::mutex> lock(analyze_mu_);
      inserted_since_analyze_ += static_cast<long long>(inserted);
      if (inserted_since_analyze_ < std::max(1000LL, analyzed_rows_)) return;
      analyzed_rows_ += inserted_since_analyze_;
      inserted_since_analyze_ = 0;
    }
    sql << "ANALYZE resources (pk, id, org_id, kind, managed, name_folded, external_id, active), "
           "user_emails, decisions (user_id, org_id, provisioned), memberships";
  }

  // "`column` is one of the values of the JSON array of strings bound to `placeholder`": one
  // statement shape for any number of values, so it is prepared once. PostgreSQL gets an array
  // (= ANY), which its planner always answers with the column's index.
  std::string InJsonList(const std::string& column, const char* placeholder) const {
    return backend_ == Backend::Sqlite
               ? column + " IN (SELECT value FROM json_each(" + placeholder + "))"
               : column + " = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(" + placeholder + " AS jsonb))))";
  }

  std::vector<std::string> MemberIdsIn(soci::session& sql, long long org_id, const std::string& group_id) {
    std::vector<std::string> ids;
    Rows(sql, "SELECT member_id FROM memberships WHERE org_id = :o AND group_id = :g",
         {BindValue::Int(org_id), BindValue::Text(group_id)}, 1,
         [&](const std::vector<std::string>& c) { ids.push_back(c[0]); });
    return ids;
  }

  DecisionInput InputBase(soci::session& sql, long long org_id) {
    DecisionInput in;
    Rows(sql, "SELECT slug, settings_rev FROM orgs WHERE id = :o", {BindValue::Int(org_id)}, 2,
         [&](const std::vector<std::string>& c) {
           in.org = c[0];
           in.settings_revision = std::stoll(c[1]);
         });
    Rows(sql, "SELECT key, value FROM org_settings WHERE org_id = :o", {BindValue::Int(org_id)}, 2,
         [&](const std::vector<std::string>& c) { in.settings[c[0]] = c[1]; });
    in.now = NowIso();
    return in;
  }

  // Decisions and outbox events of one organization to write, collected over a chunk of users (see Flush).
  struct DecisionWrites {
    long long org_id;
    std::string now = NowIso();             // when these decisions were made
    std::vector<InsertRow> decisions = {};  // see Flush
    std::vector<InsertRow> events = {};     // see Flush
    std::set<std::string> versions = {};    // of the rule sets that answered (JSON texts)
    void Event(const std::string& type, std::string payload, const std::string& when) {
      events.push_back({BindValue::Int(org_id), BindValue::Text(type), BindValue::Text(std::move(payload)),
                        BindValue::Text(when), BindValue::Text(when)});
    }
    // Adds `d`, made at `when`; returns 1 when its outcome changed (it has an event), else 0.
    int Add(const std::string& user_id, PlannedDecision d, const std::string& when) {
      versions.insert(d.rules_version);
      decisions.push_back({BindValue::Text(user_id), BindValue::Int(org_id), BindValue::Int(d.provisioned ? 1 : 0),
                           BindValue::Text(std::move(d.detail)), d.error ? BindValue::Text(*d.error) : BindValue::NullText(),
                           BindValue::Text(when)});
      if (d.event_type.empty()) return 0;
      Event(d.event_type, std::move(d.event_payload), when);
      return 1;
    }
  };

  // Writes planned decisions (insert or replace) and events inside the caller's transaction. A
  // decision made with another rule set than the one stored for the organization (by a process that
  // has not installed a newly applied set yet) bumps the organization's inputs revision in the same
  // transaction: it is stale, and a server recomputes it (see StaleDecisions), even when a recompute
  // for the new set is already under way (its MarkRecomputed is for the older revision).
  void Flush(soci::session& sql, DecisionWrites& w) {
    if (!w.versions.empty()) {
      std::string active;
      scim::AppendQuoted(active, ActiveRulesOf(sql, w.org_id));
      if (w.versions.size() > 1 || *w.versions.begin() != active)
        Exec(sql, "UPDATE orgs SET settings_rev = settings_rev + 1 WHERE id = :o", {BindValue::Int(w.org_id)});
      w.versions.clear();
    }
    InsertRows(sql, "decisions",
               {{"user_id"}, {"org_id", "BIGINT"}, {"provisioned", "INTEGER"}, {"detail"}, {"error"}, {"updated"}},
               w.decisions,
               "ON CONFLICT (user_id) DO UPDATE SET provisioned = excluded.provisioned, detail = excluded.detail, "
               "error = excluded.error, updated = excluded.updated");
    InsertRows(sql, "outbox", {{"org_id", "BIGINT"}, {"type"}, {"payload"}, {"created"}, {"next_attempt"}}, w.events);
    w.decisions.clear();
    w.events.clear();
  }

  // Recomputes the decisions of `user_ids` (ids that are not users are skipped) and drops those of
  // `deleted`, inside the caller's transaction; writes an outbox event for every change of outcome.
  // A rule error keeps the previous decision and records the error. Returns how many changed.
  long long Recompute(soci::session& sql, long long org_id, const std::set<std::string>& user_ids,
                      const std::set<std::string>& deleted) {
    std::shared_ptr<DecisionMaker> maker = decision_maker();
    if (!maker || (user_ids.empty() && deleted.empty())) return 0;
    DecisionInput base = InputBase(sql, org_id);
    long long changed = 0;
    DecisionWrites gone{org_id};
    for (const auto& id : deleted) {
      std::optional<StoredDecision> prev;
      Rows(sql, "SELECT d.user_id, '', d.provisioned, d.detail, d.error, d.updated FROM decisions d WHERE d.user_id = :u",
           {BindValue::Text(id)}, 6, [&](const std::vector<std::string>& c) { prev = DecisionOf(c); });
      if (!prev) continue;
      Exec(sql, "DELETE FROM decisions WHERE user_id = :u", {BindValue::Text(id)});
      if (!prev->provisioned) continue;
      nlohmann::json payload = {{"user_id", id}, {"userName", prev->detail.value("userName", "")},
                                {"before", decisions::OutcomeOf(true, prev->detail)}, {"after", nullptr}, {"reason", "user deleted"}};
      gone.Event("member.deprovisioned", scim::DumpJson(payload), gone.now);
      ++changed;
    }
    Flush(sql, gone);
    // In chunks: three queries read the chunk's users, groups and previous decisions; one call decides.
    constexpr size_t kChunk = 500;
    std::vector<std::string> ids(user_ids.begin(), user_ids.end());
    for (size_t at = 0; at < ids.size(); at += kChunk) {
      const size_t end = std::min(ids.size(), at + kChunk);
      nlohmann::json chunk = nlohmann::json::array();
      for (size_t i = at; i < end; ++i) chunk.push_back(ids[i]);
      const BindValue list = BindValue::Text(scim::DumpJson(chunk));
      std::map<std::string, std::pair<std::string, std::string>> users;  // id -> (userName, doc)
      // SQLite: unary + keeps the (org_id, kind) index from driving instead of the id index.
      Rows(sql, "SELECT r.id, r.name, r.doc FROM resources r WHERE " + InJsonList("r.id", ":ids") +
                    (backend_ == Backend::Sqlite ? " AND +r.org_id = :o AND +r.kind = 'User'"
                                                 : " AND r.org_id = :o AND r.kind = 'User'") + " AND r.managed = 1",
           {list, BindValue::Int(org_id)}, 3,
           [&](const std::vector<std::string>& c) { users[c[0]] = {c[1], c[2]}; });
      auto groups = Edges(sql, org_id, {ids.begin() + static_cast<long>(at), ids.begin() + static_cast<long>(end)},
                          /*of_groups=*/false);
      std::map<std::string, StoredDecision> before;
      // On PostgreSQL the previous decisions are locked (in id order), so that two processes
      // recomputing the same users (two servers catching up with one change) take turns, and the
      // second sees the first's decisions: one event per change of outcome, not two.
      Rows(sql, "SELECT d.user_id, '', d.provisioned, d.detail, d.error, d.updated FROM decisions d "
                "WHERE " + InJsonList("d.user_id", ":ids") +
                (backend_ == Backend::Postgres ? " ORDER BY d.user_id FOR UPDATE" : ""),
           {list}, 6, [&](const std::vector<std::string>& c) { before.emplace(c[0], DecisionOf(c)); });
      std::vector<DecisionInput> inputs;
      for (size_t i = at; i < end; ++i) {
        auto user = users.find(ids[i]);
        if (user == users.end()) continue;  // not a user
        DecisionInput& in = inputs.emplace_back(base);
        in.user_id = ids[i];
        in.user_name = std::move(user->second.first);
        in.user = std::move(user->second.second);
        if (auto g = groups.find(ids[i]); g != groups.end())
          for (const auto& ref : g->second) in.groups.push_back({{"id", ref.id}, {"display", ref.display}});
      }
      changed += WriteDecisions(sql, org_id, inputs, maker->DecideMany(inputs), before);
    }
    return changed;
  }

  // Decides users just inserted (`rows`, made from `items`) inside the caller's transaction. They are
  // in no group and have no decision yet, so nothing is read back. A decision `ahead` holds is kept
  // when the settings it saw are still the organization's and the rules epoch has not moved since.
  // Returns how many changed.
  long long DecideNew(soci::session& sql, long long org_id, const std::vector<ResourceRow>& rows,
                      const std::vector<NewResource>& items, DecidedAhead* ahead) {
    std::shared_ptr<DecisionMaker> maker = decision_maker();
    if (!maker || rows.empty()) return 0;
    DecisionInput base = InputBase(sql, org_id);
    if (ahead && (ahead->settings != base.settings || ahead->rules_epoch != rules_epoch_.load())) ahead = nullptr;
    long long changed = 0;
    constexpr size_t kChunk = 500;  // as Recompute's
    for (size_t at = 0; at < rows.size(); at += kChunk) {
      const size_t end = std::min(rows.size(), at + kChunk);
      std::vector<PlannedDecision> planned(end - at);
      std::vector<bool> made_ahead(end - at, false);
      std::vector<DecisionInput> undecided;
      std::vector<size_t> undecided_at;
      for (size_t i = at; i < end; ++i) {
        auto found = ahead ? ahead->decisions.find(rows[i].id) : std::map<std::string, PlannedDecision>::iterator{};
        if (ahead && found != ahead->decisions.end()) {
          planned[i - at] = std::move(found->second);
          made_ahead[i - at] = true;
        } else {
          undecided.push_back(NewUserInput(base, rows[i].id, items[i].doc, rows[i].doc_text));
          undecided_at.push_back(i - at);
        }
      }
      if (!undecided.empty()) {
        std::vector<std::string> answers = maker->DecideMany(undecided);
        for (size_t k = 0; k < undecided.size(); ++k)
          planned[undecided_at[k]] = decisions::PlanDecision(undecided[k], answers[k], nullptr, base.now);
      }
      DecisionWrites writes{org_id, base.now};
      for (size_t i = at; i < end; ++i)
        changed += writes.Add(rows[i].id, std::move(planned[i - at]), made_ahead[i - at] ? ahead->decided : base.now);
      Flush(sql, writes);
    }
    return changed;
  }

  // The decision input of a user about to be created or just created (`doc` stored as `doc_text`):
  // in no group.
  static DecisionInput NewUserInput(const DecisionInput& base, const std::string& id, const nlohmann::json& doc,
                                    const std::string& doc_text) {
    DecisionInput in = base;
    in.user_id = id;
    in.user_name = doc.value("userName", "");
    in.user = doc_text;
    return in;
  }

  // Writes the rules' `answers` for `inputs` as their decisions, and the events of the changes over
  // `before` (previous decisions by user id), inside the caller's transaction. Returns how many changed.
  long long WriteDecisions(soci::session& sql, long long org_id, const std::vector<DecisionInput>& inputs,
                           const std::vector<std::string>& answers, const std::map<std::string, StoredDecision>& before) {
    DecisionWrites writes{org_id};
    long long changed = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto prev = before.find(inputs[i].user_id);
      changed += writes.Add(inputs[i].user_id,
                            decisions::PlanDecision(inputs[i], answers[i], prev == before.end() ? nullptr : &prev->second, writes.now),
                            writes.now);
    }
    Flush(sql, writes);
    return changed;
  }

  static ResourceRow RowOf(const std::vector<std::string>& c) { return ResourceRow{c[0], c[1], std::stoll(c[2]), c[3], c[4]}; }

  void AddMembers(soci::session& sql, long long org_id, const std::string& group_id, const std::vector<std::string>& ids) {
    std::set<std::string> wanted(ids.begin(), ids.end());
    std::set<std::string> found;
    // SQLite: unary + keeps an org_id index from driving instead of the id index.
    Rows(sql, "SELECT id FROM resources WHERE " + InJsonList("id", ":ids") +
                  (backend_ == Backend::Sqlite ? " AND +org_id = :o" : " AND org_id = :o") + " AND managed = 1",
         {BindValue::Text(scim::DumpJson(nlohmann::json(wanted))), BindValue::Int(org_id)}, 1,
         [&](const std::vector<std::string>& c) { found.insert(c[0]); });
    if (found.size() != wanted.size()) {
      std::string missing;
      for (const auto& id : wanted)
        if (!found.count(id)) missing += (missing.empty() ? "" : ", ") + id;
      throw InvalidValue("no such member in this organization: " + missing);
    }
    if (wanted.count(group_id)) throw InvalidValue("a group cannot be a member of itself");
    for (const auto& id : wanted)
      Exec(sql, "INSERT INTO memberships (group_id, member_id, org_id) VALUES (:g, :m, :o) "
                "ON CONFLICT (group_id, member_id) DO NOTHING",
           {BindValue::Text(group_id), BindValue::Text(id), BindValue::Int(org_id)});
  }

  void RemoveMembers(soci::session& sql, long long org_id, const std::string& group_id,
                     const std::vector<std::string>& ids) {
    for (const auto& id : ids)
      Exec(sql, "DELETE FROM memberships WHERE org_id = :o AND group_id = :g AND member_id = :m",
           {BindValue::Int(org_id), BindValue::Text(group_id), BindValue::Text(id)});
  }

  // A select-list column holding the groups of user row `r` as a JSON array of [pk, id, kind, display]
  // (NULL when not wanted). Unordered in SQL: a sorter per row costs more than GroupsOf's sort.
  std::string GroupsColumn(bool wanted) const {
    if (!wanted) return "NULL";
    const char* aggregate = backend_ == Backend::Sqlite ? "json_group_array(json_array(g.pk, g.id, g.kind, g.display))"
                                                        : "json_agg(json_build_array(g.pk, g.id, g.kind, g.display))";
    return std::string("(SELECT ") + aggregate +
           " FROM memberships m JOIN resources g ON g.id = m.group_id WHERE m.org_id = r.org_id AND m.member_id = r.id)";
  }

  // Parses a GroupsColumn value into the user's groups in membership order (the groups' creation order).
  static std::vector<MemberRef> ParseGroupsColumn(const std::string& column) {
    std::vector<MemberRef> out;
    if (column.empty()) return out;
    std::vector<std::pair<long long, MemberRef>> ordered;
    for (std::string_view group : scim::ArrayElements(column)) {
      const auto g = scim::ArrayElements(group);
      if (g.size() != 4) throw std::runtime_error("malformed groups column: " + column);
      ordered.emplace_back(std::stoll(std::string(g[0])),
                           MemberRef{scim::Unquoted(g[1]), scim::Unquoted(g[2]), scim::Unquoted(g[3])});
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out.reserve(ordered.size());
    for (auto& [pk, ref] : ordered) out.push_back(std::move(ref));
    return out;
  }

  // The members of groups `ids` (of_groups) or the groups of users `ids`, in creation order, read
  // on `sql` (inside the caller's transaction when there is one).
  std::map<std::string, std::vector<MemberRef>> Edges(soci::session& sql, long long org_id,
                                                      const std::vector<std::string>& ids, bool of_groups) {
    std::map<std::string, std::vector<MemberRef>> out;
    if (ids.empty()) return out;
    const std::string key = of_groups ? "m.group_id" : "m.member_id";
    const std::string other = of_groups ? "m.member_id" : "m.group_id";
    Rows(sql, "SELECT " + key + ", r.id, r.kind, r.display FROM memberships m JOIN resources r ON r.id = " + other +
                  " WHERE m.org_id = :o AND " + InJsonList(key, ":ids") + " ORDER BY r.pk",
         {BindValue::Int(org_id), BindValue::Text(scim::DumpJson(nlohmann::json(ids)))}, 4,
         [&](const std::vector<std::string>& c) { out[c[0]].push_back(MemberRef{c[1], c[2], c[3]}); });
    return out;
  }

  // Tells every process sharing the database (and this one) that cached authentications are stale.
  void AuthChanged() {
    if (auth_changes_) auth_changes_->Increment();
  }

  // Successful authentications, by token id. An entry is used only for the secret it was verified
  // with (compared in constant time, so no hash is computed on a hit), and only while the
  // shared change counter still has the value it was read under (SQLite only: on PostgreSQL every
  // request asks the database). The lifetime bounds staleness after changes made outside scimitar
  // (SQL typed into the database by hand).
  struct CachedTenant {
    Tenant tenant;
    std::string secret;  // as presented and verified against the stored hash
    uint64_t epoch = 0;
    std::chrono::steady_clock::time_point expires;
  };
  // Notes that token `id` was used now; FlushTokenUse writes it. At most one lock a second per token.
  void NoteUse(const std::string& id) {
    const long long seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
    thread_local std::string last_id;
    thread_local long long last_seconds = 0;
    if (seconds == last_seconds && id == last_id) return;
    last_id = id;
    last_seconds = seconds;
    std::lock_guard<std::mutex> lock(use_mu_);
    long long& at = token_uses_[id];
    at = std::max(at, seconds);
  }

  // Milliseconds from now until an ISO 8601 UTC time (negative once past; 0 if it does not parse).
  static long long MillisecondsUntil(const std::string& iso) {
    int tz = 0;
    Poco::DateTime when;
    if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, iso, when, tz)) return 0;
    return (when.timestamp() - Poco::Timestamp()) / 1000;
  }

  static constexpr size_t kAuthCacheEntries = 4096;
  static constexpr std::chrono::seconds kAuthCacheLifetime{10};

  Backend backend_;
  std::unique_ptr<store::ChangeCounter> auth_changes_;  // SQLite only
  std::shared_mutex auth_mu_;                           // guards auth_cache_
  std::mutex use_mu_;                                   // guards token_uses_
  std::map<std::string, long long> token_uses_;         // token id -> last use (epoch seconds), not flushed yet
  std::unordered_map<std::string, CachedTenant> auth_cache_;
  soci::connection_pool pool_;
  std::vector<ConnectionCache> caches_;  // one per pooled connection; destroyed before the pool
  std::atomic<uint64_t> connection_epoch_{0};  // see Lease
  std::unordered_map<const soci::session*, size_t> cache_of_;  // pooled session -> its cache; fixed at start
  std::unique_ptr<store::WriterLock> writer_;  // SQLite only: writers queue on it (see Txn)
  std::mutex analyze_mu_;                // guards the two counters below (PostgreSQL only)
  long long inserted_since_analyze_ = 0;
  long long analyzed_rows_ = 0;
  mutable std::mutex maker_mu_;
  std::shared_ptr<DecisionMaker> maker_;  // guarded by maker_mu_
  // Changes when the rules may decide differently: a new decision maker, or a RecomputeAll (which a
  // changed rule set calls for). Decisions made ahead under another value are made again.
  std::atomic<long long> rules_epoch_{0};
};

// SOCI reads a "postgresql://" prefix as its own backend selector, so the URL is turned into libpq's
// keyword/value form: postgresql://user:pw@host:port/db?sslmode=require -> user='user' password='pw' ...
std::string LibpqConnectString(const std::string& url) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("malformed PostgreSQL URL '" + url + "': " + e.displayText());
  }
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\\' || c == '\'') out += '\\';
      out += c;
    }
    return out + "'";
  };
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) out += (out.empty() ? "" : " ") + k + "=" + quote(v);
  };
  std::string user = uri.getUserInfo(), password;
  if (size_t colon = user.find(':'); colon != std::string::npos) {
    password = user.substr(colon + 1);
    user = user.substr(0, colon);
  }
  std::string decoded_user, decoded_password;
  Poco::URI::decode(user, decoded_user);
  Poco::URI::decode(password, decoded_password);
  add("host", uri.getHost());
  if (uri.getPort() != 0) add("port", std::to_string(uri.getPort()));
  add("user", decoded_user);
  add("password", decoded_password);
  std::string db = uri.getPath();
  if (!db.empty() && db[0] == '/') db = db.substr(1);
  add("dbname", db);
  for (const auto& [k, v] : uri.getQueryParameters()) add(k, v);
  return out;
}

}  // namespace

std::unique_ptr<Store> Store::Open(const StoreOptions& options) {
  const std::string& url = options.url;
  if (url.rfind("sqlite:///", 0) == 0) {
    std::string path = url.substr(10);
    if (path.empty()) throw std::runtime_error("sqlite URL names no file: " + url);
    return std::make_unique<SociStore>(Backend::Sqlite, path, options.pool_size, options.busy_timeout_ms);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return std::make_unique<SociStore>(Backend::Postgres, LibpqConnectString(url), options.pool_size,
                                       options.busy_timeout_ms);
  throw std::runtime_error("unsupported database URL '" + url +
                           "' (use sqlite:///file.db, sqlite:////abs/file.db or postgresql://user@host/db)");
}

}  // namespace scimitar
