#include "scim/json_text.h"

#include "scimitar/error.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace scimitar::scim {

namespace {

// A string literal whose characters are printable ASCII without quotes or escapes: its value is the
// text between the quotes. Anything else is left to the JSON parser.
bool IsPlainLiteral(std::string_view literal) {
  if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"') return false;
  const std::string_view inner = literal.substr(1, literal.size() - 2);
  return std::all_of(inner.begin(), inner.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

[[noreturn]] void Malformed(size_t at) {
  throw std::runtime_error("stored JSON is malformed at offset " + std::to_string(at));
}

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

// `i` is at an opening quote; returns the offset just past the closing one: the first quote after
// it that an even number of backslashes precedes. memchr finds the candidates (decisions carry long
// strings, and each is skipped twice on its way to storage).
size_t SkipString(std::string_view s, size_t i) {
  const char* text = s.data();
  for (size_t from = i + 1; from < s.size();) {
    const void* found = std::memchr(text + from, '"', s.size() - from);
    if (!found) break;
    const size_t quote = static_cast<size_t>(static_cast<const char*>(found) - text);
    size_t backslashes = 0;
    while (quote - backslashes > i + 1 && text[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    from = quote + 1;
  }
  Malformed(s.size());
}

// `i` is at the first character of a value; returns the offset just past it.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) Malformed(i);
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      ++i;
    }
    Malformed(i);
  }
  size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
         s[i] != '\t')
    ++i;
  if (i == start) Malformed(i);
  return i;
}

bool Plain(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) return false;
  return true;
}

// Walks the comma-separated entries of the JSON object or array that `text` holds (`open` and
// `close` are its brackets): entry(offset) reads the entry starting there and returns the offset
// just past it.
template <typename Entry>
void ForEachEntry(std::string_view text, char open, char close, Entry entry) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != open) Malformed(i);
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == close) return;
  while (true) {
    i = SkipSpace(text, entry(i));
    if (i < text.size() && text[i] == ',') {
      i = SkipSpace(text, i + 1);
      continue;
    }
    if (i < text.size() && text[i] == close) return;
    Malformed(i);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string_view>> ObjectMembers(std::string_view object) {
  std::vector<std::pair<std::string, std::string_view>> out;
  ForEachEntry(object, '{', '}', [&](size_t i) {
    if (i >= object.size() || object[i] != '"') Malformed(i);
    size_t key_end = SkipString(object, i);
    std::string key = Unquoted(object.substr(i, key_end - i));
    i = SkipSpace(object, key_end);
    if (i >= object.size() || object[i] != ':') Malformed(i);
    i = SkipSpace(object, i + 1);
    size_t value_end = SkipValue(object, i);
    out.emplace_back(std::move(key), object.substr(i, value_end - i));
    return value_end;
  });
  return out;
}

std::vector<std::string_view> ArrayElements(std::string_view array) {
  std::vector<std::string_view> out;
  ForEachEntry(array, '[', ']', [&](size_t i) {
    size_t end = SkipValue(array, i);
    out.push_back(array.substr(i, end - i));
    return end;
  });
  return out;
}

std::string Unquoted(std::string_view literal) {
  if (IsPlainLiteral(literal)) return std::string(literal.substr(1, literal.size() - 2));
  if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"') Malformed(0);
  try {
    return nlohmann::json::parse(literal).get<std::string>();
  } catch (const nlohmann::json::exception&) {  // not one string literal (control characters, bad UTF-8)
    Malformed(0);
  }
}

nlohmann::json ParseValue(std::string_view text) {
  if (text == "null") return nullptr;
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "[]") return nlohmann::json::array();
  if (IsPlainLiteral(text)) return std::string(text.substr(1, text.size() - 2));
  return nlohmann::json::parse(text);
}

int NestingDepth(std::string_view text, int stop_above) {
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stop_above) break;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

nlohmann::json ParseUntrusted(std::string_view text, int max_depth) {
  if (NestingDepth(text, max_depth) > max_depth)
    throw InvalidSyntax("the JSON document nests arrays and objects deeper than " + std::to_string(max_depth) +
                        " levels");
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw InvalidSyntax("the request body is not valid JSON");
  return value;
}

namespace {

// nlohmann's own writer: the reference the fast paths below must match byte for byte.
std::string LibraryDump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AppendJson(std::string& out, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        AppendQuoted(out, key);
        out += ':';
        AppendJson(out, member);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_ref<const nlohmann::json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, element);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::string: AppendQuoted(out, value.get_ref<const std::string&>()); return;
    case nlohmann::json::value_t::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case nlohmann::json::value_t::null: out += "null"; return;
    case nlohmann::json::value_t::number_integer: out += std::to_string(value.get<int64_t>()); return;
    case nlohmann::json::value_t::number_unsigned: out += std::to_string(value.get<uint64_t>()); return;
    default: out += LibraryDump(value); return;  // floating point (its shortest form), binary, discarded
  }
}

}  // namespace

std::string DumpJson(const nlohmann::json& value) {
  std::string out;
  out.reserve(256);
  AppendJson(out, value);
  return out;
}

void AppendQuoted(std::string& out, std::string_view s) {
  if (Plain(s)) {
    out += '"';
    out.append(s.data(), s.size());
    out += '"';
    return;
  }
  out += LibraryDump(std::string(s));
}

std::string ObjectWriter::Finish() {
  std::sort(members_.begin(), members_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t size = 2;
  for (const auto& [k, v] : members_) size += k.size() + v.size() + 4;
  std::string out;
  out.reserve(size);
  out += '{';
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i) out += ',';
    AppendQuoted(out, members_[i].first);
    out += ':';
    out += members_[i].second;
  }
  out += '}';
  return out;
}

}  // namespace scimitar::scim
