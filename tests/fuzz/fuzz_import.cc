// Import rows (`scimitar import`, Org.import_users): the JSON of one batch,
// [{"line": n, "resource": {...}}, ...], parsed as the binding does (ParseUntrusted, depth 128),
// through ScimService::PrepareImport and CommitImport over the in-memory FakeStore: row mapping,
// validation, key extraction, decide-ahead, matching against stored resources, repeated keys.
//
// Input: byte 0 bit 0: Groups (else Users); bits 1-2: key (externalId, userName/displayName,
// "emails", ""); bit 3: dry run; bit 4: rules installed (decide-ahead path); bit 5: declared
// extensions. The rest is the batch (JSON).
#include "service_harness.h"

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  nlohmann::json rows;
  try {
    rows = scimitar::scim::ParseUntrusted(text, 128);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  // The Python importer always sends an array; Store.import_prepare documents no other shape.
  if (!rows.is_array()) return 0;
  const bool groups = sel & 1;
  const auto kind = groups ? scimitar::scim::ResourceKind::Group : scimitar::scim::ResourceKind::User;
  const char* const keys[] = {"externalId", groups ? "displayName" : "userName", "emails", ""};
  const std::string key = keys[(sel >> 1) & 3];
  const bool dry_run = sel & 8;
  fuzz::Service s = fuzz::MakeService(sel & 32);
  if (sel & 16) s.store->SetRules(std::make_shared<fuzz::NoRules>());
  const size_t n = rows.size();
  std::shared_ptr<scimitar::service::PreparedImport> batch;
  try {
    batch = s.service->PrepareImport(s.tenant, kind, std::move(rows), key, dry_run);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  if (batch->results.size() != n) fuzz::Fail("PrepareImport lost rows");
  scimitar::service::ImportSummary summary;
  try {
    summary = s.service->CommitImport(s.tenant, *batch);
  } catch (const scimitar::ScimError& e) {
    fuzz::Fail("CommitImport threw instead of rejecting rows", e.what());
  }
  if (summary.created + summary.updated + summary.unchanged + summary.rejected.size() != n)
    fuzz::Fail("an import row has no outcome");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
