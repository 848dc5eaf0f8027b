// JSON text handled without building a tree: splitting a stored object into its members and writing
// objects member by member. Used where a response is assembled from stored documents, so a read
// never parses and re-serializes what the database already holds as JSON. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scimitar::scim {

// The members of a JSON object, in text order: (unescaped key, value text). The values view
// `object`, which must outlive them. Throws std::runtime_error when `object` is not one JSON object
// (whitespace around tokens is allowed: PostgreSQL's jsonb prints some).
std::vector<std::pair<std::string, std::string_view>> ObjectMembers(std::string_view object);

// The elements of a JSON array, in order, as views of `array`'s text. Throws std::runtime_error when
// `array` is not one JSON array.
std::vector<std::string_view> ArrayElements(std::string_view array);

// The value of a JSON string literal (quotes included in `literal`). Throws std::runtime_error when it
// is not one.
std::string Unquoted(std::string_view literal);

// One JSON value's text as a tree; null, booleans, [] and strings without escapes skip the parser.
// Throws nlohmann::json::parse_error when `text` is not one JSON value.
nlohmann::json ParseValue(std::string_view text);

// Parses untrusted JSON text (a request body, an import row) after checking, without recursion, that
// no array or object nests deeper than `max_depth`. Throws ScimError 400 invalidSyntax naming the
// limit, or saying the text is not valid JSON.
nlohmann::json ParseUntrusted(std::string_view text, int max_depth);

// The deepest nesting of arrays and objects in `text`, scanning no further than `stop_above` levels
// (strings are skipped; the text need not be valid JSON).
int NestingDepth(std::string_view text, int stop_above);

// `value` as compact JSON text, invalid UTF-8 replaced by U+FFFD: the one way the core writes JSON.
std::string DumpJson(const nlohmann::json& value);

// Appends `s` as a JSON string literal, escaped as DumpJson escapes it.
void AppendQuoted(std::string& out, std::string_view s);

// Builds one JSON object from members whose values are already JSON text; Finish() writes them in
// key order, as nlohmann::json::dump orders an object's keys.
class ObjectWriter {
 public:
  void Add(std::string key, std::string value_text) { members_.emplace_back(std::move(key), std::move(value_text)); }
  bool empty() const { return members_.empty(); }
  std::string Finish();

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

}  // namespace scimitar::scim
