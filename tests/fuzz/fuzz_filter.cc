// A filter (the `filter` query parameter, /.search bodies) through scim::ParseFilter, then SQL
// translation for both backends (store::TranslateFilter), in-memory evaluation against complex
// values (scim::MatchesElement, as PATCH value paths use it) and store::SortExpression for each
// attribute path the filter names.
//
// Input: byte 0 selects the resource type (fuzz::TypeVariant) and case_exact (bit 3); the rest is
// the filter text.
#include <cctype>
#include <functional>

#include "fuzz_common.h"
#include "scim/filter.h"
#include "store/filter_sql.h"

namespace {

using scimitar::scim::FilterNode;

void CheckSql(const scimitar::store::SqlFragment& f) {
  // Values are bound, never spliced: placeholders :f1..:fN appear, no quote is left open.
  for (size_t i = 1; i <= f.binds.size(); ++i) {
    const std::string mark = ":f" + std::to_string(i);
    size_t at = f.sql.find(mark);
    while (at != std::string::npos && at + mark.size() < f.sql.size() && std::isdigit(static_cast<unsigned char>(f.sql[at + mark.size()])))
      at = f.sql.find(mark, at + 1);
    if (at == std::string::npos) fuzz::Fail("a bind has no placeholder", f.sql);
  }
  size_t quotes = 0;
  for (char c : f.sql) quotes += c == '\'';
  if (quotes % 2) fuzz::Fail("unbalanced quote in SQL", f.sql);
}

void Walk(const FilterNode* n, const std::function<void(const FilterNode&)>& visit) {
  if (!n) return;
  visit(*n);
  Walk(n->left.get(), visit);
  Walk(n->right.get(), visit);
}

}  // namespace

static int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& type = fuzz::TypeVariant(sel & 7);
  const bool case_exact = sel & 8;

  scimitar::scim::Filter filter;
  try {
    filter = scimitar::scim::ParseFilter(text);
  } catch (const scimitar::ScimError&) {
    return 0;
  }
  if (!filter) fuzz::Fail("ParseFilter returned null without throwing");

  for (auto backend : {scimitar::store::Backend::Sqlite, scimitar::store::Backend::Postgres}) {
    try {
      CheckSql(scimitar::store::TranslateFilter(*filter, type, backend));
    } catch (const scimitar::ScimError&) {
    }
  }

  static const nlohmann::json elements = [] {
    nlohmann::json user = fuzz::StoredUser();
    nlohmann::json all = nlohmann::json::array();
    for (const char* a : {"emails", "phoneNumbers", "addresses", "roles"})
      for (const auto& e : user[a]) all.push_back(e);
    all.push_back(user["name"]);
    all.push_back({{"value", 12}, {"display", nullptr}, {"primary", "True"}, {"ref", 1.5}});
    all.push_back("a string, not an object");
    all.push_back(nlohmann::json::array({1, 2}));
    return all;
  }();
  for (const auto& e : elements) {
    try {
      (void)scimitar::scim::MatchesElement(*filter, e, case_exact);
    } catch (const scimitar::ScimError&) {
    }
  }

  Walk(filter.get(), [&](const FilterNode& n) {
    if (n.kind != FilterNode::Kind::Compare && n.kind != FilterNode::Kind::ValuePath) return;
    (void)n.path.ToString();
    for (auto backend : {scimitar::store::Backend::Sqlite, scimitar::store::Backend::Postgres}) {
      try {
        CheckSql(scimitar::store::SortExpression(n.path, type, backend));
      } catch (const scimitar::ScimError&) {
      }
    }
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return Run(data, size);
}
