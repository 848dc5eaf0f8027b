#include "scim/filter.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "scim/schema.h"
#include "scimitar/error.h"

namespace scimitar::scim {

std::string AttrPath::ToString() const {
  return (schema.empty() ? "" : schema + ":") + attr + (sub.empty() ? "" : "." + sub);
}

namespace {

// Recursive-descent parser over the raw text; positions in errors are 1-based characters.
class Parser {
 public:
  Parser(const std::string& text, const char* scim_type, int max_depth)
      : s_(text), scim_type_(scim_type), max_depth_(max_depth) {}

  Filter ParseAll() {
    Filter f = ParseOr(0);
    SkipSpace();
    if (pos_ != s_.size()) Fail("unexpected '" + std::string(1, s_[pos_]) + "'");
    return f;
  }

  AttrPath ParsePathToken() { return ParseAttrPath(); }
  Filter ParseOrAt(int depth) { return ParseOr(depth); }
  size_t pos() const { return pos_; }
  bool AtEnd() { return pos_ >= s_.size(); }
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void Advance() { ++pos_; }
  [[noreturn]] void Fail(const std::string& what) const {
    throw ScimError(400, scim_type_, what + " at position " + std::to_string(pos_ + 1) + " in '" + s_ + "'");
  }
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

 private:
  Filter ParseOr(int depth) {
    Filter left = ParseAnd(depth);
    while (TakeKeyword("or")) {
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::Or;
      n->left = std::move(left);
      n->right = ParseAnd(depth);
      left = std::move(n);
    }
    return left;
  }

  Filter ParseAnd(int depth) {
    Filter left = ParseUnary(depth);
    while (TakeKeyword("and")) {
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::And;
      n->left = std::move(left);
      n->right = ParseUnary(depth);
      left = std::move(n);
    }
    return left;
  }

  Filter ParseUnary(int depth) {
    if (depth >= max_depth_) Fail("filter nested too deeply (limit " + std::to_string(max_depth_) + ")");
    SkipSpace();
    size_t save = pos_;
    if (TakeKeyword("not")) {
      SkipSpace();
      if (Peek() != '(') Fail("expected '(' after 'not'");
      ++pos_;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::Not;
      n->left = ParseOr(depth + 1);
      Expect(')');
      return n;
    }
    pos_ = save;
    if (Peek() == '(') {
      ++pos_;
      Filter inner = ParseOr(depth + 1);
      Expect(')');
      return inner;
    }
    AttrPath path = ParseAttrPath();
    if (Peek() == '[') {
      if (!path.sub.empty()) Fail("a value filter cannot follow a sub-attribute");
      ++pos_;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::ValuePath;
      n->path = path;
      n->left = ParseOr(depth + 1);
      Expect(']');
      // `emails[type eq "work"].value eq "x"` (Entra ID, Microsoft's SCIM tutorial) means
      // `emails[type eq "work" and value eq "x"]`.
      if (Peek() == '.') {
        ++pos_;
        AttrPath sub = ParseAttrPath();
        if (!sub.schema.empty() || !sub.sub.empty()) Fail("malformed sub-attribute after ']'");
        auto both = std::make_unique<FilterNode>();
        both->kind = FilterNode::Kind::And;
        both->left = std::move(n->left);
        both->right = ParseComparison(std::move(sub));
        n->left = std::move(both);
      }
      return n;
    }
    return ParseComparison(std::move(path));
  }

  Filter ParseComparison(AttrPath path) {
    SkipSpace();
    size_t op_at = pos_;
    std::string op = ToLower(Word());
    auto n = std::make_unique<FilterNode>();
    n->path = std::move(path);
    static const std::pair<const char*, CompareOp> ops[] = {
        {"eq", CompareOp::Eq}, {"ne", CompareOp::Ne}, {"co", CompareOp::Co}, {"sw", CompareOp::Sw},
        {"ew", CompareOp::Ew}, {"gt", CompareOp::Gt}, {"ge", CompareOp::Ge}, {"lt", CompareOp::Lt},
        {"le", CompareOp::Le}, {"pr", CompareOp::Pr}};
    bool found = false;
    for (const auto& [name, value] : ops)
      if (op == name) { n->op = value; found = true; }
    if (!found) {
      pos_ = op_at;
      Fail(op.empty() ? "expected a comparison operator" : "unknown operator '" + op + "'");
    }
    if (n->op != CompareOp::Pr) n->value = ParseValue();
    return n;
  }

  nlohmann::json ParseValue() {
    SkipSpace();
    if (Peek() == '"') return ParseString();
    size_t start = pos_;
    std::string w = Word();
    std::string lw = ToLower(w);
    if (lw == "true") return true;
    if (lw == "false") return false;
    if (lw == "null") return nullptr;
    // A JSON number; an integer beyond 64 bits is read as a double. (strtod alone would stop at a
    // NUL inside the word, and take "inf" or hex floats.)
    if (!w.empty() && w.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      long long whole = 0;
      const auto [end_int, ec] = std::from_chars(w.data(), w.data() + w.size(), whole);
      if (ec == std::errc() && end_int == w.data() + w.size()) return whole;
      char* end = nullptr;
      const double d = std::strtod(w.c_str(), &end);
      if (end == w.c_str() + w.size() && std::isfinite(d)) return d;
    }
    pos_ = start;
    Fail("expected a value (quoted string, number, true, false or null)");
  }

  nlohmann::json ParseString() {
    size_t start = pos_;
    ++pos_;
    // Printable ASCII without escapes (the usual userName or email) needs no JSON decoding.
    size_t end = pos_;
    while (end < s_.size() && s_[end] != '"' && s_[end] != '\\' && s_[end] >= 0x20 && s_[end] < 0x7f) ++end;
    if (end < s_.size() && s_[end] == '"') {
      std::string plain = s_.substr(pos_, end - pos_);
      pos_ = end + 1;
      return plain;
    }
    std::string raw = "\"";
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) raw += s_[pos_++];
      raw += s_[pos_++];
    }
    if (pos_ >= s_.size()) {
      pos_ = start;
      Fail("unterminated string");
    }
    ++pos_;
    raw += '"';
    auto v = nlohmann::json::parse(raw, nullptr, false);
    if (v.is_discarded()) {
      pos_ = start;
      Fail("invalid string escape");
    }
    return v;
  }

  AttrPath ParseAttrPath() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '_' || c == '-' || c == '$')
        ++pos_;
      else
        break;
    }
    std::string tok = s_.substr(start, pos_ - start);
    if (tok.empty() || !(std::isalpha(static_cast<unsigned char>(tok[0])) || tok[0] == '$')) {
      pos_ = start;
      Fail("expected an attribute name");
    }
    AttrPath p;
    std::string rest = tok;
    if (ToLower(tok).rfind("urn:", 0) == 0) {
      size_t colon = tok.rfind(':');
      p.schema = tok.substr(0, colon);
      rest = tok.substr(colon + 1);
      // "urn:...:User" followed directly by "[" or end names the extension itself.
      if (rest.empty()) {
        pos_ = start;
        Fail("expected an attribute after the schema URN");
      }
    }
    size_t dot = rest.find('.');
    p.attr = rest.substr(0, dot);
    if (dot != std::string::npos) p.sub = rest.substr(dot + 1);
    if (p.attr.empty() || p.sub.find('.') != std::string::npos || (dot != std::string::npos && p.sub.empty())) {
      pos_ = start;
      Fail("malformed attribute path '" + tok + "'");
    }
    return p;
  }

  std::string Word() {
    size_t start = pos_;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) && s_[pos_] != ')' &&
           s_[pos_] != ']' && s_[pos_] != '(' && s_[pos_] != '[')
      ++pos_;
    return s_.substr(start, pos_ - start);
  }

  bool TakeKeyword(const char* kw) {
    size_t save = pos_;
    SkipSpace();
    size_t n = std::char_traits<char>::length(kw);
    auto same = [&] {
      for (size_t i = 0; i < n; ++i)
        if (std::tolower(static_cast<unsigned char>(s_[pos_ + i])) != kw[i]) return false;
      return true;
    };
    if (pos_ + n <= s_.size() && same() &&
        (pos_ + n == s_.size() || std::isspace(static_cast<unsigned char>(s_[pos_ + n])) || s_[pos_ + n] == '(')) {
      pos_ += n;
      return true;
    }
    pos_ = save;
    return false;
  }

  void Expect(char c) {
    SkipSpace();
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  const std::string& s_;
  const char* scim_type_;
  int max_depth_;
  size_t pos_ = 0;
};

const nlohmann::json* FindKey(const nlohmann::json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (EqualsIgnoreCase(it.key(), key)) return &it.value();
  return nullptr;
}

bool CompareScalar(const nlohmann::json& actual, CompareOp op, const nlohmann::json& expected, bool case_exact) {
  if (op == CompareOp::Pr) return !actual.is_null() && !(actual.is_string() && actual.get_ref<const std::string&>().empty());
  if (actual.is_string() && expected.is_string()) {
    std::string a = actual.get<std::string>(), e = expected.get<std::string>();
    if (!case_exact) {
      a = ToLower(a);
      e = ToLower(e);
    }
    switch (op) {
      case CompareOp::Eq: return a == e;
      case CompareOp::Ne: return a != e;
      case CompareOp::Co: return a.find(e) != std::string::npos;
      case CompareOp::Sw: return a.rfind(e, 0) == 0;
      case CompareOp::Ew: return a.size() >= e.size() && a.compare(a.size() - e.size(), e.size(), e) == 0;
      case CompareOp::Gt: return a > e;
      case CompareOp::Ge: return a >= e;
      case CompareOp::Lt: return a < e;
      case CompareOp::Le: return a <= e;
      case CompareOp::Pr: return true;
    }
  }
  if (actual.is_boolean() && expected.is_boolean()) {
    if (op == CompareOp::Eq) return actual == expected;
    if (op == CompareOp::Ne) return actual != expected;
    return false;
  }
  if (actual.is_number() && expected.is_number()) {
    double a = actual.get<double>(), e = expected.get<double>();
    switch (op) {
      case CompareOp::Eq: return a == e;
      case CompareOp::Ne: return a != e;
      case CompareOp::Gt: return a > e;
      case CompareOp::Ge: return a >= e;
      case CompareOp::Lt: return a < e;
      case CompareOp::Le: return a <= e;
      default: return false;
    }
  }
  if (expected.is_null()) return op == CompareOp::Eq ? actual.is_null() : !actual.is_null();
  return op == CompareOp::Ne;
}

}  // namespace

Filter ParseFilter(const std::string& text, const FilterLimits& limits) {
  if (text.size() > limits.max_length)
    throw InvalidFilter("filter longer than " + std::to_string(limits.max_length) + " characters");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw InvalidFilter("empty filter");
  Parser p(text, "invalidFilter", limits.max_depth);
  return p.ParseAll();
}

PatchPath ParsePatchPath(const std::string& text) {
  if (text.size() > 4096) throw InvalidPath("path too long");
  Parser p(text, "invalidPath", 16);
  PatchPath out;
  out.path = p.ParsePathToken();
  if (p.Peek() == '[') {
    if (!out.path.sub.empty()) p.Fail("a value filter cannot follow a sub-attribute");
    p.Advance();
    out.filter = p.ParseOrAt(1);
    p.SkipSpace();
    if (p.Peek() != ']') p.Fail("expected ']'");
    p.Advance();
    if (p.Peek() == '.') {
      p.Advance();
      AttrPath sub = p.ParsePathToken();
      if (!sub.schema.empty() || !sub.sub.empty()) p.Fail("malformed sub-attribute after ']'");
      out.sub_after = sub.attr;
    }
  }
  p.SkipSpace();
  if (!p.AtEnd()) p.Fail("unexpected text");
  return out;
}

bool MatchesElement(const FilterNode& node, const nlohmann::json& element, bool case_exact) {
  switch (node.kind) {
    case FilterNode::Kind::And:
      return MatchesElement(*node.left, element, case_exact) && MatchesElement(*node.right, element, case_exact);
    case FilterNode::Kind::Or:
      return MatchesElement(*node.left, element, case_exact) || MatchesElement(*node.right, element, case_exact);
    case FilterNode::Kind::Not:
      return !MatchesElement(*node.left, element, case_exact);
    case FilterNode::Kind::ValuePath:
      return false;
    case FilterNode::Kind::Compare: {
      const nlohmann::json* v = element.is_object() ? FindKey(element, node.path.attr) : &element;
      if (v && !node.path.sub.empty()) v = FindKey(*v, node.path.sub);
      static const nlohmann::json null_value;
      return CompareScalar(v ? *v : null_value, node.op, node.value, case_exact);
    }
  }
  return false;
}

}  // namespace scimitar::scim
