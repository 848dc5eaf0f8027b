// PATCH (RFC 7644 3.5.2): scim::ParsePatchPath on a path, and scim::ApplyPatch of a PatchOp body to
// a fixed stored User or Group, followed by scim::Normalize of the result and a render, as
// ScimService::Patch does.
//
// Input: byte 0 selects the resource type (bits 0-2, fuzz::TypeVariant) and the mode (bit 3):
//   0: the rest is a PatchOp body (JSON);
//   1: the rest is a path; it is parsed, then applied with op remove, and with op add/replace whose
//      value is the JSON after the first newline (or "x").
#include "fuzz_common.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"

namespace {

void Apply(const scimitar::scim::ResourceTypeDef& type, const nlohmann::json& body) {
  const bool user = type.kind == scimitar::scim::ResourceKind::User;
  const char* id = user ? fuzz::kUserId : fuzz::kGroupId;
  static const nlohmann::json stored_user = fuzz::StoredUser(), stored_group = fuzz::StoredGroup();
  scimitar::scim::PatchOutcome out;
  try {
    out = scimitar::scim::ApplyPatch(type, id, user ? stored_user : stored_group, body, 1000);
  } catch (const scimitar::ScimError&) {
    return;
  }
  if (user && !out.members.empty()) fuzz::Fail("member changes on a User");
  scimitar::scim::NormalizedResource n;
  try {
    n = scimitar::scim::Normalize(type, out.doc, /*require_schemas=*/false);
  } catch (const scimitar::ScimError&) {
    return;
  }
  // The store writes DumpJson(n.doc) and parses it back on the next read.
  scimitar::ResourceRow row = fuzz::RowOf(id, n.doc);
  nlohmann::json back = nlohmann::json::parse(row.doc_text);
  std::vector<scimitar::MemberRef> edges;
  for (const auto& m : out.members.add) edges.push_back({m, "User", ""});
  std::string text;
  try {
    text = scimitar::scim::Render(type, row, "https://scim.example/scim/v2", &edges, scimitar::scim::Projection{});
  } catch (const scimitar::ScimError& e) {
    fuzz::Fail("Render of a patched document throws", e.what());
  }
  (void)nlohmann::json::parse(text);
}

}  // namespace

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& type = fuzz::TypeVariant(sel & 7);
  const char* const patch_urn = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

  if (!(sel & 8)) {
    nlohmann::json body;
    try {
      body = scimitar::scim::ParseUntrusted(rest, 64);
    } catch (const scimitar::ScimError&) {
      return 0;
    }
    Apply(type, body);
    return 0;
  }

  auto fields = fuzz::Fields(rest, 2);
  const std::string& path = fields[0];
  try {
    scimitar::scim::PatchPath parsed = scimitar::scim::ParsePatchPath(path);
    (void)parsed.path.ToString();
  } catch (const scimitar::ScimError&) {
  }
  nlohmann::json value = "x";
  if (!fields[1].empty()) {
    try {
      value = scimitar::scim::ParseUntrusted(fields[1], 64);
    } catch (const scimitar::ScimError&) {
    }
  }
  for (const char* op : {"remove", "Add", "replace"}) {
    nlohmann::json o = {{"op", op}, {"path", path}};
    if (std::string_view(op) != "remove") o["value"] = value;
    Apply(type, {{"schemas", {patch_urn}}, {"Operations", {o}}});
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
