// scimitar._core: the only translation unit that includes pybind11. Every call that touches the
// database or joins threads releases the GIL (py::call_guard<py::gil_scoped_release>); ScimError
// becomes scimitar._core.ScimError with .status and .scim_type.
#include <map>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "decisions/combine.h"
#include "decisions/outcome.h"
#include "decisions/settings.h"
#include "py_decision_maker.h"
#include "scim/json_text.h"
#include "scimitar/error.h"
#include "service/import_references.h"
#include "service/scim_service.h"
#include "scimitar/server.h"
#include "scimitar/store.h"

namespace py = pybind11;
using scimitar::Store;

namespace {

long long OrgId(Store& s, const std::string& slug) {
  auto org = s.FindOrg(slug);
  if (!org) throw scimitar::NotFound("no organization '" + slug + "'");
  return org->id;
}

scimitar::Tenant TenantOf(Store& s, const std::string& slug) {
  scimitar::Tenant t;
  t.org_id = OrgId(s, slug);
  t.slug = slug;
  t.schema_rev = s.SchemaRevision(t.org_id);
  return t;
}

scimitar::scim::ResourceKind KindOf(const std::string& kind) {
  if (kind == "User") return scimitar::scim::ResourceKind::User;
  if (kind == "Group") return scimitar::scim::ResourceKind::Group;
  throw scimitar::InvalidValue("resource type must be User or Group");
}


nlohmann::json DecisionJson(const scimitar::StoredDecision& d) {
  return {{"user_id", d.user_id}, {"userName", d.user_name}, {"provisioned", d.provisioned}, {"detail", d.detail},
          {"error", d.error.empty() ? nlohmann::json() : nlohmann::json(d.error)}, {"updated", d.updated}};
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "scimitar native core";
  // Leaked on purpose: exception types must outlive every call, including calls during finalization.
  static PyObject* scim_error_type = py::exception<scimitar::ScimError>(m, "ScimError").release().ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const scimitar::ScimError& e) {
      py::object err = py::reinterpret_borrow<py::object>(scim_error_type)(e.what());
      err.attr("status") = e.status();
      err.attr("scim_type") = e.scim_type();
      PyErr_SetObject(scim_error_type, err.ptr());
    }
  });

  using release = py::call_guard<py::gil_scoped_release>;

  py::class_<scimitar::Member>(m, "Member")
      .def_readonly("id", &scimitar::Member::id)
      .def_readonly("email", &scimitar::Member::email)
      .def_readonly("role", &scimitar::Member::role)
      .def_readonly("active", &scimitar::Member::active)
      .def_readonly("managed", &scimitar::Member::managed)
      .def("__repr__", [](const scimitar::Member& mm) { return "<Member " + mm.email + " role=" + mm.role + ">"; });
  py::class_<scimitar::TokenInfo>(m, "TokenInfo")
      .def_readonly("id", &scimitar::TokenInfo::id)
      .def_readonly("owner", &scimitar::TokenInfo::owner_email)
      .def_readonly("description", &scimitar::TokenInfo::description)
      .def_readonly("created", &scimitar::TokenInfo::created)
      .def_readonly("revoked", &scimitar::TokenInfo::revoked)
      .def_readonly("expires", &scimitar::TokenInfo::expires)
      .def_readonly("last_used", &scimitar::TokenInfo::last_used);

  py::class_<Store, std::shared_ptr<Store>>(m, "Store")
      .def(py::init([](const std::string& url, int pool_size) {
             py::gil_scoped_release nogil;
             return std::shared_ptr<Store>(Store::Open(scimitar::StoreOptions{url, pool_size}));
           }),
           py::arg("url"), py::arg("pool_size") = 8)
      .def_property_readonly("is_postgres", &Store::IsPostgres)
      .def("create_org", [](Store& s, const std::string& slug, const std::string& name) {
             auto org = s.CreateOrg(slug, name);
             return std::make_tuple(org.id, org.slug, org.name);
           }, release())
      .def("find_org", [](Store& s, const std::string& slug) -> std::optional<std::tuple<long long, std::string, std::string>> {
             auto org = s.FindOrg(slug);
             if (!org) return std::nullopt;
             return std::make_tuple(org->id, org->slug, org->name);
           }, release())
      .def("list_orgs", [](Store& s) {
             std::vector<std::tuple<long long, std::string, std::string>> out;
             for (const auto& o : s.ListOrgs()) out.emplace_back(o.id, o.slug, o.name);
             return out;
           }, release())
      // Validated (ScimError 400 naming what the setting accepts); a change of a setting decisions
      // read marks the organization's decisions stale, and a running server recomputes them.
      .def("set_setting", [](Store& s, const std::string& slug, const std::string& k, const std::string& v) {
             const long long org = OrgId(s, slug);
             const std::string value = scimitar::decisions::ValidateSetting(
                 k, v, scimitar::decisions::ParseDeclarations(s.DeclaredSettings(org)));
             return s.WriteSetting(org, k, value, scimitar::decisions::ReadByDecisions(k));
           }, release())
      // What set_setting would store (ScimError 400 if refused): the built-in settings and those the
      // organization's rule set declares are checked; other keys take any text.
      .def("validate_setting", [](Store& s, const std::string& slug, const std::string& k, const std::string& v) {
             return scimitar::decisions::ValidateSetting(
                 k, v, scimitar::decisions::ParseDeclarations(s.DeclaredSettings(OrgId(s, slug))));
           }, release())
      .def("declared_settings_json", [](Store& s, const std::string& slug) {
             return scimitar::scim::DumpJson(s.DeclaredSettings(OrgId(s, slug)));
           }, release())
      .def("unset_setting", [](Store& s, const std::string& slug, const std::string& k) {
             return s.WriteSetting(OrgId(s, slug), k, std::nullopt, scimitar::decisions::ReadByDecisions(k));
           }, release())
      // [(slug, settings revision, active rule-set version, settings changed)] of organizations to recompute.
      .def("stale_decisions", [](Store& s) {
             std::vector<std::tuple<std::string, long long, std::string, bool>> out;
             for (const auto& o : s.StaleDecisions())
               out.emplace_back(o.slug, o.settings_rev, o.rules_version, o.settings_changed);
             return out;
           }, release())
      .def("mark_recomputed", [](Store& s, const std::string& slug, long long revision, const std::string& rules) {
             s.MarkRecomputed(OrgId(s, slug), revision, rules);
           }, release())
      // The core's comparison of two decisions' details (dry runs use it; storage uses it for events):
      // the event a change from `before` to `after` emits, or None. Either may be "null" (no decision).
      .def_static("event_for", [](const std::string& before, const std::string& after) -> std::optional<std::string> {
             const nlohmann::json b = nlohmann::json::parse(before), a = nlohmann::json::parse(after);
             const bool was = b.is_object() && b.value("provisioned", false);
             const bool now = a.is_object() && a.value("provisioned", false);
             const bool same = was && now && scimitar::decisions::SameOutcome(
                 scimitar::decisions::OutcomeOf(true, b), scimitar::decisions::OutcomeOf(true, a));
             const char* type = scimitar::decisions::EventFor(was, now, same);
             return type ? std::optional<std::string>(type) : std::nullopt;
           })
      // The core's combination of what the rules answered (RuleSet.evaluate) into a decision, under
      // the organization's settings: what the server stores (decisions/combine.h).
      .def_static("combine_json", [](const std::string& evaluation, const std::map<std::string, std::string>& settings) {
             return scimitar::decisions::DecisionText(scimitar::decisions::Combine(evaluation, settings));
           })
      // Checks declarations (rules.setting) and returns them as stored: defaults in their stored form.
      .def_static("checked_declarations", [](const std::string& declared) {
             return scimitar::scim::DumpJson(scimitar::decisions::DeclarationsJson(
                 scimitar::decisions::ParseDeclarations(nlohmann::json::parse(declared))));
           })
      .def_static("builtin_settings", [] {
             std::vector<std::tuple<std::string, std::vector<std::string>, std::string, std::string>> out;
             for (const auto& d : scimitar::decisions::BuiltinSettings())
               out.emplace_back(d.key, d.choices, d.default_value, d.description);
             return out;
           })
      .def("settings", [](Store& s, const std::string& slug) { return s.Settings(OrgId(s, slug)); }, release())
      .def("create_member", [](Store& s, const std::string& slug, const std::string& email, const std::string& role) {
             return s.CreateMember(OrgId(s, slug), email, role);
           }, release())
      .def("deactivate_member", [](Store& s, const std::string& slug, const std::string& email) {
             s.DeactivateMember(OrgId(s, slug), email);
           }, release())
      .def("list_members", [](Store& s, const std::string& slug) { return s.ListMembers(OrgId(s, slug)); }, release())
      // expires: ISO 8601 UTC, or "" for never.
      .def("create_token", [](Store& s, const std::string& slug, const std::string& owner, const std::string& desc,
                              const std::string& expires) { return s.CreateToken(OrgId(s, slug), owner, desc, expires); },
           py::arg("slug"), py::arg("owner"), py::arg("description"), py::arg("expires") = "", release())
      .def("expire_token", [](Store& s, const std::string& slug, const std::string& id, const std::string& expires) {
             s.ExpireToken(OrgId(s, slug), id, expires);
           }, release())
      .def("flush_token_use", &Store::FlushTokenUse, release())
      .def("list_tokens", [](Store& s, const std::string& slug) { return s.ListTokens(OrgId(s, slug)); }, release())
      .def("revoke_token", [](Store& s, const std::string& slug, const std::string& id) {
             s.RevokeToken(OrgId(s, slug), id);
           }, release())
      // Rules: `engine` implements decide_many_json / transform_json (scimitar.engine.Engine).
      .def("set_rules", [](Store& s, py::object engine) {
             auto maker = std::make_shared<scimitar::bridge::PyDecisionMaker>(std::move(engine));
             py::gil_scoped_release nogil;
             s.SetDecisionMaker(std::move(maker));
           })
      .def("clear_rules", [](Store& s) { s.SetDecisionMaker(nullptr); }, release())
      .def("recompute_all", [](Store& s, const std::string& slug) { return s.RecomputeAll(OrgId(s, slug)); }, release())
      .def("decision_inputs_json", [](Store& s, const std::string& slug) {
             std::string out = "[";
             for (const auto& in : s.DecisionInputs(OrgId(s, slug))) {
               scimitar::scim::ObjectWriter input;
               input.Add("org", scimitar::scim::DumpJson(in.org));
               input.Add("settings", scimitar::scim::DumpJson(in.settings));
               input.Add("now", scimitar::scim::DumpJson(in.now));
               input.Add("user", scimitar::bridge::UserJson(in));
               out += (out.size() > 1 ? "," : "") + input.Finish();
             }
             return out + "]";
           }, release())
      .def("decisions_json", [](Store& s, const std::string& slug, bool provisioned_only) {
             nlohmann::json out = nlohmann::json::array();
             for (const auto& d : s.Decisions(OrgId(s, slug), provisioned_only)) out.push_back(DecisionJson(d));
             return scimitar::scim::DumpJson(out);
           }, py::arg("slug"), py::arg("provisioned_only") = true, release())
      .def("decision_json", [](Store& s, const std::string& slug, const std::string& user_name) -> std::optional<std::string> {
             auto d = s.DecisionFor(OrgId(s, slug), user_name);
             if (!d) return std::nullopt;
             return scimitar::scim::DumpJson(DecisionJson(*d));
           }, release())
      .def("claim_events_json", [](Store& s, int limit, int retry_after_seconds) {
             nlohmann::json out = nlohmann::json::array();
             for (const auto& e : s.ClaimEvents(limit, retry_after_seconds))
               out.push_back({{"id", e.id}, {"org", e.org}, {"type", e.type}, {"payload", e.payload}, {"attempts", e.attempts}});
             return scimitar::scim::DumpJson(out);
           }, release())
      .def("mark_delivered", &Store::MarkDelivered, release())
      .def("mark_failed", &Store::MarkFailed, release())
      .def("failed_events_json", [](Store& s, const std::string& slug) {
             nlohmann::json out = nlohmann::json::array();
             for (const auto& e : s.FailedEvents(OrgId(s, slug)))
               out.push_back({{"id", e.id}, {"type", e.type}, {"payload", e.payload}, {"attempts", e.attempts}});
             return scimitar::scim::DumpJson(out);
           }, release())
      // slug None: the default set. False when that version was already active.
      .def("apply_rule_set", [](Store& s, const std::optional<std::string>& slug, const std::string& version,
                                const std::string& files, const std::string& declared, const std::string& origin) {
             const auto decls = scimitar::decisions::ParseDeclarations(nlohmann::json::parse(declared));
             return s.ApplyRuleSet(slug ? std::optional<long long>(OrgId(s, *slug)) : std::nullopt, version,
                                   nlohmann::json::parse(files), scimitar::decisions::DeclarationsJson(decls), origin);
           }, release())
      .def("clear_rule_set", [](Store& s, const std::optional<std::string>& slug) {
             return s.ClearRuleSet(slug ? std::optional<long long>(OrgId(s, *slug)) : std::nullopt);
           }, release())
      .def("rule_sets_json", [](Store& s) { return scimitar::scim::DumpJson(s.RuleSets()); }, release())
      .def("default_rule_set_json", [](Store& s) -> std::optional<std::string> {
             auto d = s.DefaultRuleSet();
             return d ? std::optional<std::string>(scimitar::scim::DumpJson(*d)) : std::nullopt;
           }, release())
      .def("active_rule_set_versions", [](Store& s) { return s.ActiveRuleSetVersions(); }, release())
      .def("active_rule_set_json", [](Store& s, const std::string& slug) {
             return scimitar::scim::DumpJson(s.ActiveRuleSet(OrgId(s, slug)));
           }, release())
      .def("rule_set_history_json", [](Store& s, const std::optional<std::string>& slug) {
             return scimitar::scim::DumpJson(
                 s.RuleSetHistory(slug ? std::optional<long long>(OrgId(s, *slug)) : std::nullopt));
           }, release())
      .def("rule_set_files_json", [](Store& s, const std::string& version) -> std::optional<std::string> {
             auto f = s.RuleSetFiles(version);
             return f ? std::optional<std::string>(scimitar::scim::DumpJson(*f)) : std::nullopt;
           }, release())
      // id -> userName of those ids that are users of the organization (exports name managers so).
      .def("user_names", [](Store& s, const std::string& slug, const std::vector<std::string>& ids) {
             const long long org = OrgId(s, slug);
             std::map<std::string, std::string> out;
             for (const auto& id : ids)
               if (auto row = s.Get(org, scimitar::scim::ResourceKind::User, id)) out[id] = row->doc().value("userName", "");
             return out;
           }, release())
      .def("event_count", [](Store& s, const std::string& slug) { return s.EventCount(OrgId(s, slug)); }, release())
      // The same SCIM operations as the HTTP server, for the Python API (locations are relative).
      .def("list_json", [](Store& s, const std::string& slug, const std::string& kind, const std::string& filter,
                           const std::string& sort_by, const std::string& sort_order, long long start, long long count,
                           const std::string& attributes, const std::string& excluded) {
             scimitar::service::ScimService service(s, scimitar::service::ServiceOptions{});
             scimitar::service::ListParams p{filter, sort_by, sort_order, std::to_string(start), std::to_string(count),
                                             attributes, excluded};
             return service.List(TenantOf(s, slug), KindOf(kind), p, "").body;
           }, release())
      .def("declare_schema", [](Store& s, const std::string& slug, const std::string& resource_type,
                                const std::string& schema) {
             scimitar::service::ScimService service(s, scimitar::service::ServiceOptions{});
             service.DeclareExtension(TenantOf(s, slug), resource_type, nlohmann::json::parse(schema));
           }, release())
      .def("remove_schema", [](Store& s, const std::string& slug, const std::string& urn) {
             s.RemoveSchemaExtension(OrgId(s, slug), urn);
           }, release())
      .def("schema_extensions_json", [](Store& s, const std::string& slug) {
             nlohmann::json out = nlohmann::json::array();
             for (const auto& e : s.SchemaExtensions(OrgId(s, slug)))
               out.push_back({{"resourceType", e.resource_type}, {"schema", e.definition}});
             return scimitar::scim::DumpJson(out);
           }, release())
      // Import in two steps (ScimService::PrepareImport / CommitImport): a caller may prepare the next
      // batch while the previous one commits on another thread; batches commit in order. A commit
      // returns (created, updated, unchanged, [(line, reason) of each rejected row]).
      .def("import_prepare", [](Store& s, const std::string& slug, const std::string& kind, const std::string& rows,
                                const std::string& key, bool dry_run, bool replace_members) {
             scimitar::service::ScimService service(s, scimitar::service::ServiceOptions{});
             return service.PrepareImport(TenantOf(s, slug), KindOf(kind), scimitar::scim::ParseUntrusted(rows, 128), key,
                                         dry_run, replace_members);
           }, py::arg("slug"), py::arg("kind"), py::arg("rows"), py::arg("key"), py::arg("dry_run"),
           py::arg("replace_members") = false, release())
      .def("import_commit", [](Store& s, const std::string& slug, scimitar::service::PreparedImport& batch) {
             scimitar::service::ScimService service(s, scimitar::service::ServiceOptions{});
             auto summary = service.CommitImport(TenantOf(s, slug), batch);
             nlohmann::json later = nlohmann::json::array();
             for (const auto& m : summary.managers_later)
               later.push_back({{"line", m.line}, {"key", m.key}, {"manager", m.manager}});
             return std::make_tuple(summary.created, summary.updated, summary.unchanged, std::move(summary.rejected),
                                    summary.members_removed, summary.memberships_added, summary.groups_created,
                                    scimitar::scim::DumpJson(later));
           }, release())
      // Sets the managers import_commit left for later ([{"line", "key", "manager"}], from every batch
      // of a file); returns (line, reason) for each that could not be set.
      .def("import_resolve_managers", [](Store& s, const std::string& slug, const std::string& key,
                                         const std::string& later_json) {
             std::vector<scimitar::service::ManagerLater> later;
             for (const auto& m : nlohmann::json::parse(later_json))
               later.push_back({m.at("line").get<long long>(), m.at("key").get<std::string>(), m.at("manager")});
             return scimitar::service::ResolveManagers(s, OrgId(s, slug), key == "userName", later);
           }, release());

  py::class_<scimitar::service::PreparedImport, std::shared_ptr<scimitar::service::PreparedImport>>(
      m, "PreparedImport", "One validated import batch, waiting for Store.import_commit.");

  py::class_<scimitar::Server>(m, "Server")
      .def(py::init([](std::shared_ptr<Store> store, const std::string& host, int port, int threads,
                       size_t max_body_bytes, const std::map<std::string, long long>& limits,
                       const std::string& log_format, const std::string& log_path) {
             scimitar::ServerOptions o;
             o.log_format = log_format;
             o.log_path = log_path;
             o.host = host;
             o.port = port;
             o.threads = threads;
             o.max_body_bytes = max_body_bytes;
             for (const auto& [name, value] : limits) {
               if (value < 0) throw py::value_error("server limit '" + name + "' must not be negative");
               const auto u = static_cast<size_t>(value);
               if (name == "max_connections") o.max_connections = u;
               else if (name == "max_header_bytes") o.max_header_bytes = u;
               else if (name == "max_headers") o.max_headers = u;
               else if (name == "max_uri_bytes") o.max_uri_bytes = u;
               else if (name == "keep_alive_seconds") o.keep_alive_seconds = static_cast<int>(value);
               else if (name == "request_timeout_ms") o.request_timeout_ms = static_cast<int>(value);
               else if (name == "write_timeout_ms") o.write_timeout_ms = static_cast<int>(value);
               else if (name == "max_bulk_operations") o.max_bulk_operations = value;
               else if (name == "max_patch_operations") o.max_patch_operations = value;
               else if (name == "max_json_depth") o.max_json_depth = static_cast<int>(value);
               else throw py::value_error("unknown server limit '" + name + "'");
             }
             return std::make_unique<scimitar::Server>(std::move(store), o);
           }),
           py::arg("store"), py::arg("host") = "127.0.0.1", py::arg("port") = 8080, py::arg("threads") = 16,
           py::arg("max_body_bytes") = 1 << 20, py::arg("limits") = std::map<std::string, long long>{},
           py::arg("log_format") = "off", py::arg("log_path") = "")
      .def("start", &scimitar::Server::Start, release())
      .def("reopen_log", &scimitar::Server::ReopenLog, release())
      .def("stop", &scimitar::Server::Stop, release())
      .def_property_readonly("port", &scimitar::Server::port)
      .def_property_readonly("host", &scimitar::Server::host)
      .def_property_readonly("open_connections", &scimitar::Server::open_connections);
}
