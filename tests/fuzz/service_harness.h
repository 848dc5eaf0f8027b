// ScimService over the in-memory FakeStore, with the fixed User and Group stored, for the targets
// that go through the service (Bulk, List/Get/SearchAll, import).
#pragma once

#include <memory>

#include "fake_store.h"
#include "fuzz_common.h"
#include "service/scim_service.h"

namespace fuzz {

struct Service {
  std::unique_ptr<FakeStore> store;
  std::unique_ptr<scimitar::service::ScimService> service;
  scimitar::Tenant tenant;
};

// with_extensions: the organization declared fuzz::DeclaredExtensions() (schema_rev 1).
inline Service MakeService(bool with_extensions, bool postgres = false, scimitar::service::ServiceOptions o = {}) {
  std::vector<scimitar::SchemaExtension> ext;
  if (with_extensions)
    for (const auto& d : DeclaredExtensions()) ext.push_back({d.schema["id"].get<std::string>(), d.resource_type, d.schema});
  Service s;
  s.store = std::make_unique<FakeStore>(std::move(ext), postgres);
  s.store->Put(scimitar::scim::ResourceKind::User, RowOf(kUserId, StoredUser()));
  nlohmann::json second = StoredUser();
  second["userName"] = "second@contoso.com";
  second["externalId"] = "ext-2";
  second.erase("urn:okta:scimitar_app:1.0:user:custom");
  s.store->Put(scimitar::scim::ResourceKind::User, RowOf("0190d1a2-7b3c-7def-8abc-0123456789ad", second, 7));
  s.store->Put(scimitar::scim::ResourceKind::Group, RowOf(kGroupId, StoredGroup()), {kUserId});
  s.service = std::make_unique<scimitar::service::ScimService>(*s.store, o);
  s.tenant.org_id = 1;
  s.tenant.slug = "acme";
  s.tenant.member_id = 1;
  s.tenant.schema_rev = with_extensions ? 1 : 0;
  return s;
}

inline const char* const kBaseUrl = "https://scim.example/o/acme/scim/v2";

}  // namespace fuzz
