// POST /Bulk: ScimService::Bulk over the in-memory FakeStore, so that request planning (operation
// order, bulkId references in paths and data, cycles, failOnErrors) and each operation (POST, PUT,
// PATCH, DELETE through validation) run as on the server, without a database.
//
// Input: byte 0 bit 0: the organization declared extensions; bits 1-2: maxOperations (1000, 3, 1,
// 0); the rest is the BulkRequest body (JSON).
#include "service_harness.h"

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  nlohmann::json body;
  try {
    body = scimitar::scim::ParseUntrusted(text, 64);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  scimitar::service::ServiceOptions options;
  static const long long kMaxOps[] = {1000, 3, 1, 0};
  options.max_bulk_operations = kMaxOps[(sel >> 1) & 3];
  fuzz::Service s = fuzz::MakeService(sel & 1, false, options);
  scimitar::service::Response r;
  try {
    r = s.service->Bulk(s.tenant, body, fuzz::kBaseUrl);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  nlohmann::json out = nlohmann::json::parse(r.body);
  const nlohmann::json& results = out.at("Operations");
  // Without failOnErrors every operation gets exactly one result.
  const nlohmann::json* ops = nullptr;
  bool fail_on_errors = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (scimitar::scim::EqualsIgnoreCase(it.key(), "Operations")) ops = &it.value();
    if (scimitar::scim::EqualsIgnoreCase(it.key(), "failOnErrors") && !it.value().is_null()) fail_on_errors = true;
  }
  if (!ops) fuzz::Fail("Bulk succeeded without Operations");
  if (results.size() > ops->size()) fuzz::Fail("more Bulk results than operations");
  if (!fail_on_errors && results.size() != ops->size()) fuzz::Fail("a Bulk operation got no result", r.body);
  for (const auto& res : results) {
    const std::string& status = res.at("status").get_ref<const std::string&>();
    if (status.size() != 3) fuzz::Fail("bad Bulk status", status);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
