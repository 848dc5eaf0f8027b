// SQL fragments with their bind values, and the backend they target. Plain values; no SOCI types.
#pragma once

#include <string>
#include <vector>

namespace scimitar::store {

enum class Backend { Sqlite, Postgres };

struct BindValue {
  enum class Kind { Text, Int, Real } kind = Kind::Text;
  std::string text;
  long long integer = 0;
  double real = 0;
  bool null = false;  // binds SQL NULL (of this kind)

  static BindValue Text(std::string s) { BindValue b; b.text = std::move(s); return b; }
  static BindValue Int(long long i) { BindValue b; b.kind = Kind::Int; b.integer = i; return b; }
  static BindValue Real(double d) { BindValue b; b.kind = Kind::Real; b.real = d; return b; }
  static BindValue NullText() { BindValue b; b.null = true; return b; }
  static BindValue NullInt() { BindValue b; b.kind = Kind::Int; b.null = true; return b; }
};

struct SqlFragment {
  std::string sql;
  std::vector<BindValue> binds;
  // True when the fragment holds, in its top-level AND chain, a lookup through an index of its own
  // (user_emails) that should drive the query instead of the organization's ordered index.
  bool drives = false;
};

}  // namespace scimitar::store
