// SCIM resource operations for one tenant: validation, optimistic concurrency, rendering.
// Knows nothing of HTTP transport or Python. Thread-safe: holds only a Store (itself thread-safe)
// and immutable options.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "scim/extensions.h"
#include "scim/resource.h"
#include "scim/schema.h"
#include "scimitar/store.h"
#include "service/import.h"
#include "service/response.h"

namespace scimitar::service {

struct ServiceOptions {
  long long max_page_size = 1000;    // advertised as filter.maxResults
  long long default_page_size = 100;
  size_t max_body_bytes = 1 << 20;  // advertised as bulk.maxPayloadSize
  long long max_bulk_operations = 1000;
  long long max_patch_operations = 1000;  // per PATCH request; more is 400 invalidValue
  int max_json_depth = 64;                 // nesting of request bodies; deeper is 400 invalidSyntax
};

struct ListParams {
  std::string filter;
  std::string sort_by;
  std::string sort_order;
  std::string start_index;  // raw query values; validated here
  std::string count;
  std::string attributes;
  std::string excluded_attributes;
};

struct Preconditions {
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
};

class ScimService {
 public:
  ScimService(Store& store, ServiceOptions options) : store_(store), options_(options) {}

  Response List(const Tenant& t, scim::ResourceKind kind, const ListParams& p, const std::string& base_url) const;
  // POST /.search: Users then Groups, paged as one list (RFC 7644 3.4.3).
  Response SearchAll(const Tenant& t, const ListParams& p, const std::string& base_url) const;
  Response Get(const Tenant& t, scim::ResourceKind kind, const std::string& id, const ListParams& p,
               const Preconditions& pre, const std::string& base_url) const;
  Response Create(const Tenant& t, scim::ResourceKind kind, const nlohmann::json& body, const std::string& base_url) const;
  Response Replace(const Tenant& t, scim::ResourceKind kind, const std::string& id, const nlohmann::json& body,
                   const Preconditions& pre, const std::string& base_url) const;
  // Groups answer 204 unless `p` asks for attributes (a member list is never loaded to echo it).
  Response Patch(const Tenant& t, scim::ResourceKind kind, const std::string& id, const nlohmann::json& body,
                 const Preconditions& pre, const ListParams& p, const std::string& base_url) const;
  Response Delete(const Tenant& t, scim::ResourceKind kind, const std::string& id, const Preconditions& pre) const;

  // POST /Bulk (RFC 7644 3.7); each operation is atomic on its own.
  Response Bulk(const Tenant& t, const nlohmann::json& body, const std::string& base_url) const;

  // Imports one batch of rows ([{"line": n, "resource": {...}}]) matched by `key`, in two steps (see
  // import.cc). PrepareImport validates the batch and decides its new users without a transaction;
  // CommitImport writes it (once: new rows together, in one transaction) and returns how many rows
  // were created, updated and unchanged, and each rejected row with its reason. A caller may prepare
  // batch N+1 while batch N commits, but must commit batches in order. With dry_run nothing is written.
  // Group rows that list members add them to the group's members unless replace_members, which
  // makes each listed membership the whole one (ImportSummary::members_removed counts the rest).
  std::shared_ptr<PreparedImport> PrepareImport(const Tenant& t, scim::ResourceKind kind, nlohmann::json rows,
                                                const std::string& key, bool dry_run,
                                                bool replace_members = false) const;
  ImportSummary CommitImport(const Tenant& t, PreparedImport& batch) const;

  Response ServiceProviderConfig(const std::string& base_url) const;
  // The organization's schemas and resource types, its declared extensions included; id "" = list.
  Response Schemas(const Tenant& t, const std::string& base_url, const std::string& id) const;
  Response ResourceTypes(const Tenant& t, const std::string& base_url, const std::string& id) const;

  // Declares (or redeclares) a schema extension of "User" or "Group" after validating it with the
  // organization's other extensions; stored resources are not rewritten. Throws ScimError 400.
  void DeclareExtension(const Tenant& t, const std::string& resource_type, const nlohmann::json& schema) const;
  // The organization's resource types: cached per organization until its schema revision changes.
  std::shared_ptr<const scim::TypeSet> TypesFor(const Tenant& t) const;

 private:
  // Renders `row`; its edges (a group's members, a user's groups) are loaded unless given.
  Response Resource(const scim::ResourceTypeDef& type, const Tenant& t, const ResourceRow& row, int status,
                    const std::string& base_url, const scim::Projection& projection,
                    const std::vector<MemberRef>* loaded_edges = nullptr) const;
  // Whether `projection` returns the edges (members or groups) of resources of `type`.
  static bool WantsEdges(const scim::ResourceTypeDef& type, const scim::Projection& projection);
  // Runs q and appends its rendered rows (JSON texts) to `out` (one membership query for a page of groups).
  QueryResult Page(const Tenant& t, scim::ResourceKind kind, const Query& q, const scim::Projection& projection,
                   const std::string& base_url, std::vector<std::string>& out) const;
  Response RunBulkOperation(const Tenant& t, const std::string& method, const std::string& path,
                            const nlohmann::json& data, const std::optional<std::string>& version,
                            const std::string& base_url) const;
  // The inbound payload after the organization's transform rules (unchanged without rules).
  nlohmann::json Transformed(const Tenant& t, const scim::ResourceTypeDef& type, const nlohmann::json& body) const;
  Response Modify(const Tenant& t, const scim::ResourceTypeDef& type, const std::string& id, const Preconditions& pre,
                  const std::string& base_url, const Store::Mutation& mutate) const;

  struct TypeCache {
    std::mutex mu;
    std::map<long long, std::pair<long long, std::shared_ptr<const scim::TypeSet>>> by_org;  // org -> (rev, types)
  };

  Store& store_;
  ServiceOptions options_;
  std::shared_ptr<TypeCache> types_ = std::make_shared<TypeCache>();
};

// Parses an If-Match value: nullopt for "*" or absent, the version for W/"n"; throws 412 otherwise.
std::optional<long long> ExpectedVersion(const std::optional<std::string>& if_match);

}  // namespace scimitar::service
