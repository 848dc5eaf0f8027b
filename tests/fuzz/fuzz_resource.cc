// A POST/PUT body through validation and normalization (scim::Normalize), for Users and Groups with
// and without the enterprise extension and with declared extensions; the normalized document is
// rendered back (scim::Render) as a read would.
//
// Input: byte 0 selects the variant (bits 0-2: resource type, see fuzz::TypeVariant; bit 3:
// require_schemas; bits 4-5: projection); the rest is the JSON body.
#include "fuzz_common.h"
#include "scim/resource.h"

namespace {

const char* const kProjections[][2] = {
    {"", ""}, {"userName,emails.value,members", ""}, {"", "members,groups,emails"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value,displayName", ""}};

}  // namespace

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& type = fuzz::TypeVariant(sel & 7);
  const bool require_schemas = sel & 8;
  nlohmann::json body;
  try {
    body = scimitar::scim::ParseUntrusted(text, 64);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  scimitar::scim::NormalizedResource n;
  try {
    n = scimitar::scim::Normalize(type, body, require_schemas);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  // Normalizing is idempotent: what PUT stores, a later PATCH normalizes again.
  scimitar::scim::NormalizedResource again;
  try {
    again = scimitar::scim::Normalize(type, n.doc, /*require_schemas=*/false);
  } catch (const scimitar::ScimError& e) {
    fuzz::Fail("Normalize rejects its own output", e.what());
  }
  if (again.doc != n.doc) fuzz::Fail("Normalize is not idempotent", n.doc.dump() + " vs " + again.doc.dump());

  // Render it back as a stored row, the way a read does.
  const auto& p = kProjections[(sel >> 4) & 3];
  scimitar::scim::Projection projection;
  try {
    projection = scimitar::scim::ParseProjection(type, p[0], p[1]);
  } catch (const scimitar::ScimError&) {
    projection = {};
  }
  scimitar::ResourceRow row = fuzz::RowOf("0190d1a2-7b3c-7def-8abc-0123456789ff", n.doc);
  std::vector<scimitar::MemberRef> edges;
  if (n.members)
    for (const auto& m : *n.members) edges.push_back({m, "User", "someone"});
  std::string out;
  try {
    out = scimitar::scim::Render(type, row, "https://scim.example/scim/v2", &edges, projection);
  } catch (const scimitar::ScimError& e) {
    fuzz::Fail("Render of a normalized document throws", e.what());
  }
  try {
    (void)nlohmann::json::parse(out);
  } catch (const nlohmann::json::parse_error& e) {
    fuzz::Fail("Render produced invalid JSON", out);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
