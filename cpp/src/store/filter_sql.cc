#include "store/filter_sql.h"

#include "scim/datetime.h"

#include "scimitar/error.h"

namespace scimitar::store {

using scim::AttrType;
using scim::CompareOp;
using scim::FilterNode;

std::string NormalizeTimestamp(const std::string& text) {
  auto normalized = scim::NormalizeDateTime(text);
  if (!normalized) throw InvalidFilter("'" + text + "' is not an ISO 8601 dateTime");
  return *normalized;
}

namespace {

// Where JSON values are read from: the row's document, or one element of a multi-valued attribute.
struct JsonBase {
  bool element = false;  // true: inside EXISTS over array elements
};

std::string LikeEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

class Translator {
 public:
  Translator(const scim::ResourceTypeDef& type, Backend b) : type_(type), b_(b) {}

  std::string Node(const FilterNode& n, JsonBase base, const scim::AttributeDef* element_attr) {
    switch (n.kind) {
      case FilterNode::Kind::And:
      case FilterNode::Kind::Or: {
        // Operands are translated in order: placeholders are bound by position.
        const bool top = top_;
        top_ = top && n.kind == FilterNode::Kind::And;
        std::string left = Node(*n.left, base, element_attr);
        std::string right = Node(*n.right, base, element_attr);
        top_ = top;
        return "(" + left + (n.kind == FilterNode::Kind::And ? " AND " : " OR ") + right + ")";
      }
      case FilterNode::Kind::Not: {
        const bool top = top_;
        top_ = false;
        std::string inner = Node(*n.left, base, element_attr);
        top_ = top;
        return "(NOT COALESCE(" + inner + ", FALSE))";
      }
      case FilterNode::Kind::ValuePath:
        if (base.element) throw InvalidFilter("value filters cannot be nested");
        return ValuePath(n);
      case FilterNode::Kind::Compare:
        return base.element ? ElementCompare(n, *element_attr) : RowCompare(n);
    }
    throw InvalidFilter("unsupported filter");
  }

  std::vector<BindValue> binds;
  bool drives = false;

 private:
  // ---- expressions over JSON --------------------------------------------------------------
  std::string DocPath(const std::vector<std::string>& keys, AttrType t, bool element) const {
    if (b_ == Backend::Sqlite) {
      std::string p = "'$";
      for (const auto& k : keys) p += ".\"" + k + "\"";
      p += "'";
      return "json_extract(" + std::string(element ? "e.value" : "r.doc") + ", " + p + ")";
    }
    std::string arr = "'{";
    for (size_t i = 0; i < keys.size(); ++i) arr += (i ? "," : "") + keys[i];
    arr += "}'";
    std::string src = element ? "e.v" : "r.doc";
    if (t == AttrType::Boolean) return "(" + src + " #> " + arr + ")::boolean";
    if (t == AttrType::Decimal || t == AttrType::Integer) return "(" + src + " #>> " + arr + ")::numeric";
    return "(" + src + " #>> " + arr + ")";
  }

  std::string ArrayPath(const std::vector<std::string>& keys) const {
    if (b_ == Backend::Sqlite) {
      std::string p = "'$";
      for (const auto& k : keys) p += ".\"" + k + "\"";
      return "json_each(r.doc, " + p + "') e";
    }
    std::string arr = "'{";
    for (size_t i = 0; i < keys.size(); ++i) arr += (i ? "," : "") + keys[i];
    return "jsonb_array_elements(CASE WHEN jsonb_typeof(r.doc #> " + arr + "}') = 'array' THEN r.doc #> " + arr +
           "}' ELSE '[]'::jsonb END) AS e(v)";
  }

  std::vector<std::string> KeysOf(const scim::ResolvedAttr& r) const {
    std::vector<std::string> keys;
    if (r.extension) keys.push_back(r.schema->id);
    keys.push_back(r.attr->name);
    return keys;
  }

  // ---- comparisons -------------------------------------------------------------------------
  // Placeholders are named ":f<N>" and bound by position, in order of appearance.
  std::string Bind(BindValue v) {
    binds.push_back(std::move(v));
    return ":f" + std::to_string(binds.size());
  }

  // Compares expression `x` of attribute type `t` with the node's operator and value.
  std::string Compare(const std::string& x, const scim::AttributeDef& def, const FilterNode& n, bool folded_column = false) {
    const AttrType t = def.type;
    if (n.op == CompareOp::Pr) {
      if (t == AttrType::String || t == AttrType::Reference || t == AttrType::Binary || t == AttrType::DateTime)
        return "(" + x + " IS NOT NULL AND " + x + " <> '')";
      return "(" + x + " IS NOT NULL)";
    }
    const auto& v = n.value;
    if (v.is_null()) {
      if (n.op == CompareOp::Eq) return "(" + x + " IS NULL)";
      if (n.op == CompareOp::Ne) return "(" + x + " IS NOT NULL)";
      throw InvalidFilter("null can only be compared with eq or ne");
    }
    const std::string op_name = OpName(n.op);
    if (t == AttrType::Boolean) {
      bool bv;
      if (v.is_boolean()) bv = v.get<bool>();
      else if (v.is_string() && (scim::EqualsIgnoreCase(v.get<std::string>(), "true") || scim::EqualsIgnoreCase(v.get<std::string>(), "false")))
        bv = scim::EqualsIgnoreCase(v.get<std::string>(), "true");
      else throw InvalidFilter("'" + n.path.ToString() + "' is boolean; compare it with true or false");
      if (n.op != CompareOp::Eq && n.op != CompareOp::Ne)
        throw InvalidFilter("operator " + op_name + " does not apply to boolean '" + n.path.ToString() + "'");
      std::string rhs = b_ == Backend::Sqlite ? Bind(BindValue::Int(bv ? 1 : 0)) : (bv ? "TRUE" : "FALSE");
      if (n.op == CompareOp::Eq) return "(" + x + " = " + rhs + ")";
      return "(" + x + " IS NULL OR " + x + " <> " + rhs + ")";
    }
    if (t == AttrType::Decimal || t == AttrType::Integer) {
      if (!v.is_number()) throw InvalidFilter("'" + n.path.ToString() + "' is numeric; compare it with a number");
      std::string rhs = Bind(BindValue::Real(v.get<double>()));
      return Ordered(x, n.op, rhs, op_name);
    }
    if (t == AttrType::Complex) throw InvalidFilter("'" + n.path.ToString() + "' is complex; name a sub-attribute");
    if (!v.is_string()) throw InvalidFilter("'" + n.path.ToString() + "' is a string; compare it with a quoted string");
    std::string s = v.get<std::string>();
    if (t == AttrType::DateTime) s = NormalizeTimestamp(s);
    std::string lhs = x;
    if (!def.case_exact && t != AttrType::DateTime) {
      s = scim::ToLower(s);
      if (!folded_column) lhs = "lower(" + x + ")";
    }
    switch (n.op) {
      case CompareOp::Co: return "(" + lhs + " LIKE " + Bind(BindValue::Text("%" + LikeEscape(s) + "%")) + " ESCAPE '\\')";
      case CompareOp::Sw: return "(" + lhs + " LIKE " + Bind(BindValue::Text(LikeEscape(s) + "%")) + " ESCAPE '\\')";
      case CompareOp::Ew: return "(" + lhs + " LIKE " + Bind(BindValue::Text("%" + LikeEscape(s))) + " ESCAPE '\\')";
      default: return Ordered(lhs, n.op, Bind(BindValue::Text(s)), op_name);
    }
  }

  static std::string Ordered(const std::string& x, CompareOp op, const std::string& rhs, const std::string& op_name) {
    switch (op) {
      case CompareOp::Eq: return "(" + x + " = " + rhs + ")";
      case CompareOp::Ne: return "(" + x + " IS NULL OR " + x + " <> " + rhs + ")";
      case CompareOp::Gt: return "(" + x + " > " + rhs + ")";
      case CompareOp::Ge: return "(" + x + " >= " + rhs + ")";
      case CompareOp::Lt: return "(" + x + " < " + rhs + ")";
      case CompareOp::Le: return "(" + x + " <= " + rhs + ")";
      default: throw InvalidFilter("operator " + op_name + " does not apply here");
    }
  }

  static std::string OpName(CompareOp op) {
    static const char* names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"};
    return names[static_cast<int>(op)];
  }

  // A comparison on the row itself.
  std::string RowCompare(const FilterNode& n) {
    scim::ResolvedAttr r = scim::Resolve(type_, n.path.schema, n.path.attr, n.path.sub, "invalidFilter");
    const std::string& name = r.attr->name;
    const bool common = r.schema == &scim::CommonAttributes();
    if (common && name == "id") return Compare("r.id", *r.attr, n);
    if (common && name == "externalId") return Compare("r.external_id", *r.attr, n);
    if (common && name == "meta") {
      if (!r.sub) throw InvalidFilter("name a sub-attribute of meta");
      if (r.sub->name == "created") return Compare("r.created", *r.sub, n);
      if (r.sub->name == "lastModified") return Compare("r.modified", *r.sub, n);
      throw InvalidFilter("meta." + r.sub->name + " cannot be filtered");
    }
    const bool is_name = (type_.kind == scim::ResourceKind::User && name == "userName") ||
                         (type_.kind == scim::ResourceKind::Group && name == "displayName");
    if (!r.extension && is_name) return Compare("r.name_folded", *r.attr, n, /*folded_column=*/true);
    if (!r.extension && type_.kind == scim::ResourceKind::User && name == "active")
      return n.op == CompareOp::Pr ? "(r.active IS NOT NULL)" : Compare(BoolColumn(), *r.attr, n);
    // emails.value eq: the indexed user_emails projection (tenant scoping stays outside, on r.org_id).
    if (!r.extension && type_.kind == scim::ResourceKind::User && name == "emails" && n.op == CompareOp::Eq &&
        n.value.is_string() && (!r.sub || r.sub->name == "value")) {
      drives |= top_;
      return "(r.id IN (SELECT ue.user_id FROM user_emails ue WHERE ue.value_folded = " +
             Bind(BindValue::Text(scim::ToLower(n.value.get<std::string>()))) + "))";
    }
    if (!r.extension && ((type_.kind == scim::ResourceKind::Group && name == "members") ||
                         (type_.kind == scim::ResourceKind::User && name == "groups")))
      return Membership(n, r);
    if (r.attr->multi) {
      if (n.op == CompareOp::Pr && !r.sub) {
        std::string exists = "EXISTS (SELECT 1 FROM " + ArrayPath(KeysOf(r)) + ")";
        return "(" + exists + ")";
      }
      const scim::AttributeDef* target = r.sub ? r.sub : (r.attr->type == AttrType::Complex ? r.attr->Sub("value") : r.attr);
      if (!target) throw InvalidFilter("'" + n.path.ToString() + "' needs a sub-attribute");
      std::vector<std::string> keys;
      if (r.attr->type == AttrType::Complex) keys.push_back(target->name);
      std::string x = keys.empty() ? ElementSelf(target->type) : DocPath(keys, target->type, true);
      return "EXISTS (SELECT 1 FROM " + ArrayPath(KeysOf(r)) + " WHERE " + Compare(x, *target, n) + ")";
    }
    std::vector<std::string> keys = KeysOf(r);
    if (r.sub) {
      keys.push_back(r.sub->name);
      return Compare(DocPath(keys, r.sub->type, false), *r.sub, n);
    }
    if (r.attr->type == AttrType::Complex && n.op == CompareOp::Pr)
      return "(" + DocPath(keys, AttrType::String, false) + " IS NOT NULL)";
    return Compare(DocPath(keys, r.attr->type, false), *r.attr, n);
  }

  std::string BoolColumn() const { return b_ == Backend::Sqlite ? "r.active" : "(r.active = 1)"; }

  std::string ElementSelf(AttrType t) const {
    if (b_ == Backend::Sqlite) return "e.value";
    if (t == AttrType::Boolean) return "(e.v)::boolean";
    if (t == AttrType::Decimal || t == AttrType::Integer) return "(e.v #>> '{}')::numeric";
    return "(e.v #>> '{}')";
  }

  // members.value / groups.value go through the memberships table.
  std::string Membership(const FilterNode& n, const scim::ResolvedAttr& r) {
    const bool group = type_.kind == scim::ResourceKind::Group;
    const std::string self = group ? "m.group_id" : "m.member_id";
    const std::string other = group ? "m.member_id" : "m.group_id";
    if (n.op == CompareOp::Pr && (!r.sub || r.sub->name == "value"))
      return "EXISTS (SELECT 1 FROM memberships m WHERE " + self + " = r.id)";
    if (r.sub && r.sub->name != "value")
      throw InvalidFilter("only " + r.attr->name + ".value can be filtered");
    return "EXISTS (SELECT 1 FROM memberships m WHERE " + self + " = r.id AND " +
           Compare(other, *r.attr->Sub("value"), n) + ")";
  }

  std::string ValuePath(const FilterNode& n) {
    scim::ResolvedAttr r = scim::Resolve(type_, n.path.schema, n.path.attr, "", "invalidFilter");
    if (!r.attr->multi || r.attr->type != AttrType::Complex)
      throw InvalidFilter("'" + n.path.ToString() + "' is not a multi-valued complex attribute");
    const bool group = type_.kind == scim::ResourceKind::Group;
    if (!r.extension && ((group && r.attr->name == "members") || (!group && r.attr->name == "groups"))) {
      // Only value comparisons apply to membership edges.
      membership_ = true;
      std::string inner = Node(*n.left, JsonBase{true}, r.attr);
      membership_ = false;
      const std::string self = group ? "m.group_id" : "m.member_id";
      return "EXISTS (SELECT 1 FROM memberships m WHERE " + self + " = r.id AND " + inner + ")";
    }
    return "EXISTS (SELECT 1 FROM " + ArrayPath(KeysOf(r)) + " WHERE " + Node(*n.left, JsonBase{true}, r.attr) + ")";
  }

  std::string ElementCompare(const FilterNode& n, const scim::AttributeDef& parent) {
    if (!n.path.schema.empty() || !n.path.sub.empty())
      throw InvalidFilter("inside [...] name sub-attributes of " + parent.name + " only");
    const scim::AttributeDef* sub = parent.Sub(n.path.attr);
    if (!sub) throw InvalidFilter("'" + n.path.attr + "' is not a sub-attribute of " + parent.name);
    if (membership_) {
      if (sub->name != "value") throw InvalidFilter("only value can be filtered inside " + parent.name + "[...]");
      return Compare(type_.kind == scim::ResourceKind::Group ? "m.member_id" : "m.group_id", *sub, n);
    }
    return Compare(DocPath({sub->name}, sub->type, true), *sub, n);
  }

  const scim::ResourceTypeDef& type_;
  Backend b_;
  bool membership_ = false;
  bool top_ = true;  // translating the top-level AND chain
};

}  // namespace

SqlFragment TranslateFilter(const scim::FilterNode& filter, const scim::ResourceTypeDef& type, Backend backend) {
  Translator t(type, backend);
  SqlFragment out;
  out.sql = t.Node(filter, JsonBase{}, nullptr);
  out.binds = std::move(t.binds);
  out.drives = t.drives;
  return out;
}

SqlFragment SortExpression(const scim::AttrPath& path, const scim::ResourceTypeDef& type, Backend backend) {
  scim::ResolvedAttr r = scim::Resolve(type, path.schema, path.attr, path.sub, "invalidValue");
  const std::string& name = r.attr->name;
  const bool common = r.schema == &scim::CommonAttributes();
  if (common && name == "id") return {"r.id", {}};
  if (common && name == "externalId") return {"r.external_id", {}};
  if (common && name == "meta" && r.sub && r.sub->name == "created") return {"r.created", {}};
  if (common && name == "meta" && r.sub && r.sub->name == "lastModified") return {"r.modified", {}};
  const bool is_name = (type.kind == scim::ResourceKind::User && name == "userName") ||
                       (type.kind == scim::ResourceKind::Group && name == "displayName");
  if (!r.extension && is_name) return {"r.name_folded", {}};
  if (r.attr->type == AttrType::Complex && !r.sub && !r.attr->multi)
    throw InvalidValue("sortBy '" + path.ToString() + "' names a complex attribute; name a sub-attribute");
  std::vector<std::string> keys;
  if (r.extension) keys.push_back(r.schema->id);
  keys.push_back(name);
  const scim::AttributeDef* leaf = r.sub ? r.sub : r.attr;
  if (r.attr->multi) {
    if (r.attr->type == AttrType::Complex && !r.sub) leaf = r.attr->Sub("value");
    if (!leaf)  // addresses, or a declared complex attribute without "value"
      throw InvalidValue("sortBy '" + path.ToString() + "' names a multi-valued attribute without a 'value'; "
                         "name a sub-attribute");
    keys.push_back("0");
    if (r.attr->type == AttrType::Complex) keys.push_back(leaf->name);
  } else if (r.sub) {
    keys.push_back(r.sub->name);
  }
  std::string expr;
  if (backend == Backend::Sqlite) {
    expr = "json_extract(r.doc, '$";
    for (const auto& k : keys) expr += (k == "0" ? "[0]" : ".\"" + k + "\"");
    expr += "')";
  } else {
    expr = "(r.doc #>> '{";
    for (size_t i = 0; i < keys.size(); ++i) expr += (i ? "," : "") + keys[i];
    expr += "}')";
  }
  if (leaf->type == AttrType::String && !leaf->case_exact) expr = "lower(" + expr + ")";
  return {expr, {}};
}

}  // namespace scimitar::store
