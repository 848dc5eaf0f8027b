// The schema extensions an organization declares, and the resource types built from them.
#include "scimitar/error.h"
#include "service/scim_service.h"

namespace scimitar::service {

namespace {

std::vector<scim::ExtensionDefinition> Definitions(const std::vector<SchemaExtension>& stored) {
  std::vector<scim::ExtensionDefinition> out;
  for (const auto& e : stored) out.push_back({e.resource_type, e.definition});
  return out;
}

}  // namespace

std::shared_ptr<const scim::TypeSet> ScimService::TypesFor(const Tenant& t) const {
  // An organization that never declared an extension needs no query.
  if (t.schema_rev == 0) return std::shared_ptr<const scim::TypeSet>(std::shared_ptr<void>(), &scim::StandardTypes());
  {
    std::lock_guard<std::mutex> lock(types_->mu);
    auto it = types_->by_org.find(t.org_id);
    if (it != types_->by_org.end() && it->second.first == t.schema_rev) return it->second.second;
  }
  auto types = std::make_shared<const scim::TypeSet>(Definitions(store_.SchemaExtensions(t.org_id)));
  std::lock_guard<std::mutex> lock(types_->mu);
  types_->by_org[t.org_id] = {t.schema_rev, types};
  return types;
}

void ScimService::DeclareExtension(const Tenant& t, const std::string& resource_type, const nlohmann::json& schema) const {
  scim::SchemaDef parsed = scim::ParseExtension(schema);
  std::vector<SchemaExtension> all = store_.SchemaExtensions(t.org_id);
  SchemaExtension declared{parsed.id, resource_type, schema};
  bool replaced = false;
  for (auto& e : all)
    if (scim::EqualsIgnoreCase(e.urn, parsed.id)) e = declared, replaced = true;
  if (!replaced) all.push_back(declared);
  scim::TypeSet check(Definitions(all));  // throws 400 on a bad resource type or a clash
  store_.PutSchemaExtension(t.org_id, declared);
}

}  // namespace scimitar::service
