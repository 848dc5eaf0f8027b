// Persistent storage of organizations, members, tokens and SCIM resources, over SQLite or PostgreSQL.
// Thread-safety: a Store is safe for concurrent use from any number of threads; each call leases one
// pooled connection for its duration. Writes are transactional. Uniqueness (userName per organization,
// case-insensitive) is enforced by the database. Callers must not hold the Python GIL while calling.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <exception>
#include <string>
#include <vector>

#include "scimitar/decisions.h"

namespace scimitar {

namespace scim {
struct FilterNode;
struct AttrPath;
struct ResourceTypeDef;
enum class ResourceKind;
}  // namespace scim

struct StoreOptions {
  std::string url;     // sqlite:///rel.db, sqlite:////abs.db, postgresql://user:pw@host:port/db
  int pool_size = 8;
  int busy_timeout_ms = 5000;  // SQLite: how long a write waits for another writer before 503
};

struct Org {
  long long id = 0;
  std::string slug;
  std::string name;
};

struct Member {
  long long id = 0;
  std::string email;
  std::string role;
  bool active = true;
  bool managed = false;
};

struct TokenInfo {
  std::string id;
  std::string owner_email;
  std::string description;
  std::string created;
  bool revoked = false;
  std::string expires;    // ISO 8601 UTC; "" = never
  std::string last_used;  // ISO 8601 UTC, to the second; "" = never used (or not flushed yet)
};

// Who a request acts for, established from a bearer token.
struct Tenant {
  long long org_id = 0;
  std::string slug;
  long long member_id = 0;
  bool scim_sync = true;  // false when the organization set scim_sync=off
  long long schema_rev = 0;  // changes whenever the organization's schema extensions change
  std::string token_id;      // the bearer token that authenticated (for logs; never the secret)
};

// A schema extension an organization declared: the resource type it extends and its schema document.
struct SchemaExtension {
  std::string urn;
  std::string resource_type;  // "User" or "Group"
  nlohmann::json definition;
};

struct ResourceRow {
  std::string id;
  // The stored attributes (without id, meta and membership) as the database holds them: the text of
  // one JSON object. Reads hand it on unparsed, so a lookup renders it without building a tree.
  std::string doc_text;
  long long version = 0;
  std::string created;
  std::string modified;

  nlohmann::json doc() const { return nlohmann::json::parse(doc_text); }  // parses on every call
};

// A resource for CreateMany. An importer may assign `id` (store::NewResourceId) and `doc_text`
// (scim::DumpJson(doc)) ahead of the write, to decide the new users before it (Store::DecideAhead).
struct NewResource {
  nlohmann::json doc;
  std::string id;        // empty: assigned on insert
  std::string doc_text;  // empty: serialized on insert
};

// A new user's decision as it will be stored, with the outbox event its outcome calls for.
struct PlannedDecision {
  bool provisioned = false;
  std::string detail;                // the decision's provenance: JSON text
  std::optional<std::string> error;  // the rule error it records
  std::string event_type;            // "" when the outcome calls for no event
  std::string event_payload;         // JSON text
  std::string rules_version;         // JSON text: the version of the rule set that answered
};

// Decisions of users not created yet, made and planned outside any transaction (Store::DecideAhead).
struct DecidedAhead {
  long long rules_epoch = 0;                         // the store's rules epoch they were made in
  std::map<std::string, std::string> settings;       // the organization's settings they were made with
  std::string decided;                               // when they were made: ISO 8601 UTC
  std::map<std::string, PlannedDecision> decisions;  // by user id
};

// A new document for a stored resource, replacing the one at `expected_version` (Store::ModifyMany).
struct Replacement {
  std::string id;
  long long expected_version = 0;
  nlohmann::json doc;
};

struct MemberRef {
  std::string id;
  std::string type;     // "User" or "Group"
  std::string display;  // the member's displayName (users: displayName, else userName)
};

// Changes to a group's membership, applied edge by edge (the full list is never loaded or rewritten).
struct MemberChanges {
  bool replace_all = false;          // first remove every member (PUT, PATCH replace)
  std::vector<std::string> add;      // member ids to add (idempotent)
  std::vector<std::string> remove;   // member ids to remove (absent ones are ignored)
  bool empty() const { return !replace_all && add.empty() && remove.empty(); }
};

// A user's stored decision (what the application reads).
struct StoredDecision {
  std::string user_id;
  std::string user_name;
  bool provisioned = false;
  nlohmann::json detail;   // role, units, groups, reason, sources, rules, inputs, version
  std::string error;       // the last evaluation error ("" when the last evaluation succeeded)
  std::string updated;
};

struct OutboxEvent {
  long long id = 0;
  std::string org;
  std::string type;        // member.provisioned | member.deprovisioned | member.changed
  nlohmann::json payload;
  int attempts = 0;
};

struct Query {
  const scim::ResourceTypeDef* type = nullptr;  // not owned; the attributes filters name (null = standard)
  const scim::FilterNode* filter = nullptr;  // not owned; null = all
  const scim::AttrPath* sort_by = nullptr;   // not owned; null = insertion order
  bool descending = false;
  long long offset = 0;
  long long count = 100;                      // 0 = count only
  bool user_groups = false;                   // users: read each row's groups in the same statement
};

struct QueryResult {
  long long total = 0;
  std::vector<ResourceRow> rows;
  std::vector<std::vector<MemberRef>> groups;  // with Query::user_groups: rows[i]'s groups, else empty
};

class Store {
 public:
  // Opens (creating or migrating the schema as needed). Throws std::runtime_error on a bad URL or
  // an unreachable database.
  static std::unique_ptr<Store> Open(const StoreOptions& options);
  virtual ~Store() = default;

  virtual bool IsPostgres() const = 0;

  // Why a failure thrown by this store may succeed if retried: the database cannot be reached, is
  // locked by another writer past the busy timeout, or has no space left (nullopt for any other
  // failure). The callers' one translation point answers these with 503 and Retry-After.
  // Why the store cannot serve now (the database does not answer, or its schema is not the one
  // this build expects), for readiness probes; nullopt when it can. Must not throw.
  virtual std::optional<std::string> NotReady() { return std::nullopt; }

  virtual std::optional<std::string> UnavailableReason(const std::exception& failure) const {
    (void)failure;
    return std::nullopt;
  }

  // ---- organizations, settings, members, tokens (application side) ----
  virtual Org CreateOrg(const std::string& slug, const std::string& name) = 0;      // 409 if taken
  virtual std::optional<Org> FindOrg(const std::string& slug) = 0;
  virtual std::vector<Org> ListOrgs() = 0;
  // Sets (a value) or removes (nullopt) a setting; the caller has validated it. Changing one that
  // decisions read (`decision_input`) also marks the organization's decisions stale, in the same
  // transaction (see StaleDecisions). Returns whether anything changed.
  virtual bool WriteSetting(long long org_id, const std::string& key, const std::optional<std::string>& value,
                            bool decision_input) = 0;
  virtual std::map<std::string, std::string> Settings(long long org_id) = 0;
  // Organizations whose decisions were last recomputed with other inputs than decide them now: an
  // older settings revision, or another rule-set version than the active one (the organization's own
  // set, else the default set, else "" for no rules). Whoever recomputes one calls MarkRecomputed.
  // The settings revision also counts decisions written with a rule set that was no longer the
  // stored one (a process that had not installed it yet), so those are recomputed too.
  struct StaleOrg {
    std::string slug;
    long long settings_rev = 0;
    std::string rules_version;
    bool settings_changed = false;  // the revision moved (settings, or a decision by an outdated set); else the set changed
  };
  virtual std::vector<StaleOrg> StaleDecisions() = 0;
  // Records a recompute made with settings revision `revision` and rule set `rules_version` (a later
  // settings revision stays stale, and so does a rule set applied meanwhile).
  virtual void MarkRecomputed(long long org_id, long long revision, const std::string& rules_version) = 0;
  virtual Member CreateMember(long long org_id, const std::string& email, const std::string& role) = 0;
  virtual void DeactivateMember(long long org_id, const std::string& email) = 0;    // 404 if unknown
  virtual std::vector<Member> ListMembers(long long org_id) = 0;
  // Returns {token id, the token itself}; only a hash of the secret is stored.
  // `expires`: ISO 8601 UTC, or "" for a token that never expires.
  virtual std::pair<std::string, std::string> CreateToken(long long org_id, const std::string& owner_email,
                                                          const std::string& description,
                                                          const std::string& expires) = 0;
  // Makes an active token expire at `expires` (ISO 8601 UTC) unless it expires earlier already
  // (rotation: the old token stays valid for a grace period). 404 if unknown or revoked.
  virtual void ExpireToken(long long org_id, const std::string& token_id, const std::string& expires) = 0;
  // Writes the last uses Authenticate noted since the previous call, in one transaction.
  virtual void FlushTokenUse() = 0;
  virtual std::vector<TokenInfo> ListTokens(long long org_id) = 0;
  virtual void RevokeToken(long long org_id, const std::string& token_id) = 0;     // 404 if unknown
  // Declares (or redeclares) a schema extension; the caller has validated the definition.
  virtual void PutSchemaExtension(long long org_id, const SchemaExtension& extension) = 0;
  virtual void RemoveSchemaExtension(long long org_id, const std::string& urn) = 0;  // 404 if unknown
  virtual std::vector<SchemaExtension> SchemaExtensions(long long org_id) = 0;  // in declaration order
  virtual long long SchemaRevision(long long org_id) = 0;

  // nullopt for an unknown, malformed or revoked token, or one whose owner is deactivated.
  virtual std::optional<Tenant> Authenticate(const std::string& bearer) = 0;

  // ---- SCIM resources (managed) ----
  // Inserts a resource with a new UUID; members (groups only) must exist in the organization.
  virtual ResourceRow Create(long long org_id, scim::ResourceKind kind, const nlohmann::json& doc,
                             const std::vector<std::string>& members) = 0;
  // Inserts many resources without members in one transaction, with their decisions made in one
  // batch: all or nothing (409 naming the first userName already in use). Returns them in order.
  // A user whose decision `ahead` holds keeps it (moved out of `ahead`) if the organization's
  // settings are still those it was made with and neither SetDecisionMaker nor RecomputeAll (which a
  // changed rule set calls for) was called since; any other user is decided inside the transaction.
  virtual std::vector<ResourceRow> CreateMany(long long org_id, scim::ResourceKind kind,
                                              const std::vector<NewResource>& items,
                                              DecidedAhead* ahead = nullptr) = 0;
  // Decides users about to be created (ids and doc_text assigned; in no group, with no decision
  // yet) without holding a transaction, so that a caller can decide one batch while another is
  // being written. Without rules it decides nothing.
  virtual DecidedAhead DecideAhead(long long org_id, const std::vector<NewResource>& users) = 0;
  // Managed resources whose key is one of `values`, each once, in one query: the key is externalId
  // (exact) or, with by_name, userName/displayName (case-insensitive). Values may repeat.
  virtual std::vector<ResourceRow> FindByKey(long long org_id, scim::ResourceKind kind, bool by_name,
                                             const std::vector<std::string>& values) = 0;
  // With `groups` (users only), also fills the groups the user is a direct member of, in the same query.
  virtual std::optional<ResourceRow> Get(long long org_id, scim::ResourceKind kind, const std::string& id,
                                         std::vector<MemberRef>* groups = nullptr) = 0;
  // Read-modify-write under a row lock, in one transaction: reads the resource, calls `mutate` (which
  // must be quick and must not block; it may throw to abort), stores the document it returns and applies
  // its member changes. Concurrent modifications of one resource are serialized, so none is lost.
  // Throws ScimError 404 when absent, 412 when expected_version is given and differs.
  using Mutation = std::function<std::pair<nlohmann::json, MemberChanges>(const ResourceRow& current)>;
  virtual ResourceRow Modify(long long org_id, scim::ResourceKind kind, const std::string& id,
                             std::optional<long long> expected_version, const Mutation& mutate) = 0;
  // Replaces the documents of several resources (their members unchanged) in one transaction, and
  // recomputes the decisions that this changes in chunks of users, as Modify does one by one. All or
  // nothing: throws ScimError (409 for a userName in use, 412 when a resource is gone or no longer
  // at its expected version) and writes nothing when any replacement fails.
  virtual void ModifyMany(long long org_id, scim::ResourceKind kind, const std::vector<Replacement>& items) = 0;
  // Deletes the resource and every membership edge that names it. 404 when absent; 412 on version mismatch.
  virtual void Delete(long long org_id, scim::ResourceKind kind, const std::string& id,
                      std::optional<long long> expected_version) = 0;
  virtual QueryResult Find(long long org_id, scim::ResourceKind kind, const Query& query) = 0;
  // ---- decisions (see decisions.h) ----
  // Installs the rules; null removes them. Affects writes that start afterwards. Thread-safe.
  virtual void SetDecisionMaker(std::shared_ptr<DecisionMaker> maker) = 0;
  virtual std::shared_ptr<DecisionMaker> decision_maker() const = 0;
  // Recomputes every user's decision in the organization (after its rule set changed), in batches.
  // Returns how many decisions changed.
  virtual long long RecomputeAll(long long org_id) = 0;
  // The inputs of every user's decision, for dry runs: same shape as the rules receive.
  virtual std::vector<DecisionInput> DecisionInputs(long long org_id) = 0;
  virtual std::vector<StoredDecision> Decisions(long long org_id, bool provisioned_only) = 0;
  virtual std::optional<StoredDecision> DecisionFor(long long org_id, const std::string& user_name) = 0;

  // ---- outbox: events written with the data change, delivered after commit ----
  // Claims up to `limit` undelivered events whose retry time has come (several processes may claim
  // concurrently; each event goes to one). Claimed events are retried later unless marked.
  virtual std::vector<OutboxEvent> ClaimEvents(int limit, int retry_after_seconds) = 0;
  virtual void MarkDelivered(const std::vector<long long>& event_ids) = 0;  // one transaction
  virtual void MarkFailed(long long event_id, const std::string& error, int max_attempts) = 0;
  virtual std::vector<OutboxEvent> FailedEvents(long long org_id) = 0;
  // How many events the organization's decisions have produced so far.
  virtual long long EventCount(long long org_id) = 0;

  // ---- rule sets: stored, so every process decides an organization with the same rules ----
  // Each organization is decided by its own set if one was applied to it, else by the default set;
  // with neither, by no rules (its settings alone). A set is {"version", "files": {name: text},
  // "settings": [declarations], "applied", "origin"}; its version is the digest of its files.
  // Makes the set active for org_id (nullopt: the default set) and appends it to the history, in one
  // transaction. Returns false, writing nothing, when that version is already the active one.
  // `declared` is what decisions::ParseDeclarations reads (checked by the caller).
  virtual bool ApplyRuleSet(std::optional<long long> org_id, const std::string& version, const nlohmann::json& files,
                            const nlohmann::json& declared, const std::string& origin) = 0;
  // The settings declared by the set that decides the organization ([] when none).
  virtual nlohmann::json DeclaredSettings(long long org_id) = 0;
  // Which set decides the organization now: {"scope": "organization" | "default" | "none",
  // "version" ("" for none), "files", "settings", "applied", "origin"}.
  virtual nlohmann::json ActiveRuleSet(long long org_id) = 0;
  // Removes the organization's own set (the default decides it again), or with nullopt the default
  // set (organizations without their own are decided by their settings alone), recorded in the
  // history as version "". Returns false when there was none.
  virtual bool ClearRuleSet(std::optional<long long> org_id) = 0;
  // org slug -> its own active set.
  virtual std::map<std::string, nlohmann::json> RuleSets() = 0;
  virtual std::optional<nlohmann::json> DefaultRuleSet() = 0;
  // Just the versions of the active sets, cheap enough to poll: org slug -> version, and "" -> the
  // default set's (absent when none is stored).
  virtual std::map<std::string, std::string> ActiveRuleSetVersions() = 0;
  // Sets made active for org_id (nullopt: the default), newest first: {"seq", "version", "applied",
  // "origin"} without files.
  virtual std::vector<nlohmann::json> RuleSetHistory(std::optional<long long> org_id) = 0;
  // The files of `version` as the history recorded them (any organization's, or the default's).
  virtual std::optional<nlohmann::json> RuleSetFiles(const std::string& version) = 0;

  // Direct members of each group in group_ids, in one query.
  virtual std::map<std::string, std::vector<MemberRef>> MembersOf(long long org_id,
                                                                  const std::vector<std::string>& group_ids) = 0;
  // Groups each user in user_ids is a direct member of, in one query.
  virtual std::map<std::string, std::vector<MemberRef>> GroupsOf(long long org_id,
                                                                 const std::vector<std::string>& user_ids) = 0;
};

}  // namespace scimitar
