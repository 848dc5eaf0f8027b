// The tree-less JSON text helpers stored documents pass through (scim/json_text.h): ObjectMembers,
// ArrayElements, Unquoted, ParseValue, NestingDepth, ParseUntrusted, DumpJson, AppendQuoted and
// ObjectWriter, checked against nlohmann::json as the reference parser.
//
// Input: the whole input is the JSON text (PostgreSQL jsonb spacing included).
#include <map>

#include "fuzz_common.h"

namespace {

using nlohmann::json;
using scimitar::scim::ArrayElements;
using scimitar::scim::ObjectMembers;
using scimitar::scim::ParseValue;

// The reference: nlohmann's parser (strict, UTF-8 checked); nullopt when it rejects the text.
std::optional<json> Reference(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {  // parse_error, or out_of_range 406 for numbers like 1e400
    return std::nullopt;
  }
}

void RoundTrip(const json& v) {
  std::string text = scimitar::scim::DumpJson(v);
  std::optional<json> back = Reference(text);
  if (!back) fuzz::Fail("DumpJson wrote text nlohmann cannot parse", text);
  if (*back != v) fuzz::Fail("DumpJson round trip changed the value", text);
  json parsed;
  try {
    parsed = ParseValue(text);
  } catch (const json::parse_error& e) {
    fuzz::Fail("ParseValue rejects DumpJson output", text);
  }
  if (parsed != v) fuzz::Fail("ParseValue(DumpJson(v)) != v", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The reference parser and json's operator== recurse: keep them to sane depths.
  if (scimitar::scim::NestingDepth(text, 200) > 200) return 0;
  const std::optional<json> ref = Reference(text);

  // ObjectMembers: one JSON object, members in text order, values as views.
  try {
    auto members = ObjectMembers(text);
    if (ref) {
      if (!ref->is_object()) fuzz::Fail("ObjectMembers accepted a non-object");
      std::map<std::string, json> last;  // duplicate keys: nlohmann keeps the last
      for (const auto& [key, value] : members) {
        if (value.data() < text.data() || value.data() + value.size() > text.data() + text.size())
          fuzz::Fail("ObjectMembers value is not a view of the input");
        json v;
        try {
          v = ParseValue(value);
        } catch (const json::parse_error&) {
          fuzz::Fail("member value of a valid object does not parse", std::string(value));
        }
        last[key] = v;
      }
      if (last.size() != ref->size()) fuzz::Fail("ObjectMembers member count differs");
      for (const auto& [key, v] : last) {
        auto it = ref->find(key);
        if (it == ref->end()) fuzz::Fail("ObjectMembers key differs", key);
        if (*it != v) fuzz::Fail("ObjectMembers value differs", key);
      }
    }
  } catch (const std::runtime_error&) {
    if (ref && ref->is_object()) fuzz::Fail("ObjectMembers rejected a valid object");
  }

  try {
    auto elements = ArrayElements(text);
    if (ref) {
      if (!ref->is_array()) fuzz::Fail("ArrayElements accepted a non-array");
      if (elements.size() != ref->size()) fuzz::Fail("ArrayElements element count differs");
      for (size_t i = 0; i < elements.size(); ++i) {
        json v;
        try {
          v = ParseValue(elements[i]);
        } catch (const json::parse_error&) {
          fuzz::Fail("element of a valid array does not parse", std::string(elements[i]));
        }
        if (v != (*ref)[i]) fuzz::Fail("ArrayElements element differs", std::string(elements[i]));
      }
    }
  } catch (const std::runtime_error&) {
    if (ref && ref->is_array()) fuzz::Fail("ArrayElements rejected a valid array");
  }

  try {
    std::string s = scimitar::scim::Unquoted(text);
    if (ref) {
      if (!ref->is_string()) fuzz::Fail("Unquoted accepted a non-string");
      if (s != ref->get<std::string>()) fuzz::Fail("Unquoted value differs");
    }
  } catch (const std::runtime_error&) {
    // A literal is exactly the quoted text: whitespace around it is not part of it.
    if (ref && ref->is_string() && text.front() == '"' && text.back() == '"')
      fuzz::Fail("Unquoted rejected a valid string literal");
  }

  // ParseValue: the shortcuts (null, booleans, [], plain strings) agree with the parser.
  try {
    json v = ParseValue(text);
    if (ref && v != *ref) fuzz::Fail("ParseValue differs from nlohmann::json::parse");
    if (!ref) fuzz::Fail("ParseValue accepted text nlohmann rejects");
  } catch (const json::exception&) {  // documented: parse_error; out_of_range 406 for 1e400
    if (ref) fuzz::Fail("ParseValue rejected valid JSON");
  }

  // ParseUntrusted: valid JSON within the depth limit parses to the same tree.
  const int depth = scimitar::scim::NestingDepth(text, 64);
  try {
    json v = scimitar::scim::ParseUntrusted(text, 64);
    if (!ref || v != *ref) fuzz::Fail("ParseUntrusted differs from nlohmann::json::parse");
    if (depth > 64) fuzz::Fail("ParseUntrusted accepted nesting over its limit");
  } catch (const scimitar::ScimError&) {
    if (ref && depth <= 64) fuzz::Fail("ParseUntrusted rejected valid JSON within the limit");
  }

  // DumpJson: any string (invalid UTF-8 replaced) writes valid JSON; valid values round-trip.
  {
    std::string raw(text);
    json s = raw;
    std::string dumped = scimitar::scim::DumpJson(s);
    std::optional<json> back = Reference(dumped);
    if (!back || !back->is_string()) fuzz::Fail("DumpJson of a string is not a JSON string", dumped);
    std::string quoted;
    scimitar::scim::AppendQuoted(quoted, raw);
    if (quoted != dumped) fuzz::Fail("AppendQuoted differs from DumpJson", quoted + " vs " + dumped);
    json obj = {{raw, 1}, {"b", raw}};
    std::string o = scimitar::scim::DumpJson(obj);
    if (!Reference(o)) fuzz::Fail("DumpJson of an object is invalid JSON", o);
  }
  if (ref) {
    RoundTrip(*ref);
    if (ref->is_object()) {
      // ObjectWriter writes members in nlohmann's key order, from value texts.
      scimitar::scim::ObjectWriter w;
      for (auto it = ref->begin(); it != ref->end(); ++it) w.Add(it.key(), scimitar::scim::DumpJson(it.value()));
      std::string out = w.Finish();
      if (out != scimitar::scim::DumpJson(*ref)) fuzz::Fail("ObjectWriter differs from DumpJson", out);
    }
  }
  return 0;
}
