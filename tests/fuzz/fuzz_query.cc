// The list query parameters (filter, attributes, excludedAttributes, sortBy, sortOrder, startIndex,
// count) through ScimService::List, ::SearchAll and ::Get over the in-memory FakeStore: parsing and
// validation (ParseProjection, the service's sortBy/sortOrder/startIndex/count handling), filter
// and sort translation as the store does it, paging and rendering with the projection.
//
// Input: byte 0 bit 0: Groups (else Users); bit 1: declared extensions; bit 2: PostgreSQL SQL;
// bits 3-4: 0 List, 1 SearchAll, 2 Get, 3 List then Get. The rest: the seven parameters in the
// order above, separated by newlines.
#include "service_harness.h"

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto f = fuzz::Fields(rest, 7);
  scimitar::service::ListParams p;
  p.filter = f[0];
  p.attributes = f[1];
  p.excluded_attributes = f[2];
  p.sort_by = f[3];
  p.sort_order = f[4];
  p.start_index = f[5];
  p.count = f[6];
  const auto kind = sel & 1 ? scimitar::scim::ResourceKind::Group : scimitar::scim::ResourceKind::User;
  fuzz::Service s = fuzz::MakeService(sel & 2, sel & 4);
  const unsigned mode = (sel >> 3) & 3;

  if (mode != 2) {
    try {
      scimitar::service::Response r = mode == 1 ? s.service->SearchAll(s.tenant, p, fuzz::kBaseUrl)
                                                : s.service->List(s.tenant, kind, p, fuzz::kBaseUrl);
      nlohmann::json out = nlohmann::json::parse(r.body);
      if (out.at("startIndex").get<long long>() < 1) fuzz::Fail("startIndex below 1");
      const long long items = out.at("itemsPerPage").get<long long>();
      if (items < 0 || items > 1000 || static_cast<size_t>(items) != out.at("Resources").size())
        fuzz::Fail("bad itemsPerPage", r.body.substr(0, 200));
    } catch (const scimitar::ScimError&) {
    }
  }
  if (mode >= 2) {
    try {
      const char* id = kind == scimitar::scim::ResourceKind::User ? fuzz::kUserId : fuzz::kGroupId;
      scimitar::service::Preconditions pre;
      if (!p.sort_order.empty()) pre.if_none_match = p.sort_order;
      scimitar::service::Response r = s.service->Get(s.tenant, kind, id, p, pre, fuzz::kBaseUrl);
      if (r.status == 200) (void)nlohmann::json::parse(r.body);
    } catch (const scimitar::ScimError&) {
    }
    try {
      (void)scimitar::service::ExpectedVersion(p.start_index);
    } catch (const scimitar::ScimError&) {
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
