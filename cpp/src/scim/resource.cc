#include "scim/resource.h"

#include "scim/datetime.h"
#include "scim/json_text.h"

#include "scimitar/error.h"

namespace scimitar::scim {

void RejectControlCharacters(std::string_view value, const std::string& where) {
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) {
      static const char* const kHex = "0123456789ABCDEF";
      const char code[] = {'U', '+', '0', '0', kHex[c >> 4], kHex[c & 15], '\0'};
      throw InvalidValue("'" + where + "' must not contain control characters (found " + code + ")");
    }
}

namespace {

bool IsMembershipAttr(const ResourceTypeDef& type, const std::string& name) {
  return (type.kind == ResourceKind::Group && name == "members") || (type.kind == ResourceKind::User && name == "groups");
}

// The number a text cell holds, written in full as JSON writes numbers ("12", "-3", "2.5"); else null.
nlohmann::json NumberOfText(const nlohmann::json& v, bool integer) {
  if (!v.is_string()) return nullptr;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 40) return nullptr;
  nlohmann::json n = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (integer ? !n.is_number_integer() : !n.is_number()) return nullptr;
  return n;
}

nlohmann::json Scalar(const AttributeDef& def, const nlohmann::json& v, const std::string& where, Values values) {
  switch (def.type) {
    case AttrType::Boolean:
      if (v.is_boolean()) return v;
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (EqualsIgnoreCase(s, "true")) return true;
        if (EqualsIgnoreCase(s, "false")) return false;
      }
      throw InvalidValue("'" + where + "' must be a boolean");
    case AttrType::Integer:
      if (v.is_number_integer()) return v;
      if (values == Values::Text)
        if (auto n = NumberOfText(v, true); !n.is_null()) return n;
      throw InvalidValue("'" + where + "' must be an integer");
    case AttrType::Decimal:
      if (v.is_number()) return v;
      if (values == Values::Text)
        if (auto n = NumberOfText(v, false); !n.is_null()) return n;
      throw InvalidValue("'" + where + "' must be a number");
    case AttrType::DateTime:
      if (v.is_string() && NormalizeDateTime(v.get<std::string>())) return v;
      throw InvalidValue("'" + where + "' must be an ISO 8601 dateTime string");
    case AttrType::Complex:
      break;
    default:
      if (v.is_string()) return v;
      throw InvalidValue("'" + where + "' must be a string");
  }
  return v;
}

nlohmann::json Single(const AttributeDef& def, const nlohmann::json& v, const std::string& where, Values values) {
  if (def.type != AttrType::Complex) return Scalar(def, v, where, values);
  // Entra ID's default mapping sends the enterprise manager as the manager's id alone.
  if (v.is_string() && def.name == "manager" && def.Sub("value"))
    return nlohmann::json{{"value", v.get<std::string>()}};
  if (!v.is_object()) throw InvalidValue("'" + where + "' must be an object");
  nlohmann::json out = nlohmann::json::object();
  for (auto it = v.begin(); it != v.end(); ++it) {
    const AttributeDef* sub = def.Sub(it.key());
    if (!sub || sub->mutability == Mutability::ReadOnly || it.value().is_null()) continue;
    out[sub->name] = Scalar(*sub, it.value(), where + "." + sub->name, values);
  }
  for (const auto& sub : def.subs)
    if (sub.required && !out.contains(sub.name)) throw InvalidValue("'" + where + "." + sub.name + "' is required");
  return out;
}

}  // namespace

nlohmann::json NormalizeValue(const AttributeDef& def, const nlohmann::json& value, const std::string& where,
                              Values values) {
  if (!def.multi) return Single(def, value, where, values);
  nlohmann::json out = nlohmann::json::array();
  if (value.is_array()) {
    for (const auto& e : value)
      if (!e.is_null()) out.push_back(Single(def, e, where, values));
  } else {
    out.push_back(Single(def, value, where, values));
  }
  return out;
}

namespace {

void NormalizeAttributes(const ResourceTypeDef& type, const SchemaDef& schema, const nlohmann::json& in,
                         nlohmann::json& out, NormalizedResource& result, const std::string& prefix, Values values) {
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& key = it.key();
    const AttributeDef* def = schema.Find(key);
    if (!def && &schema == type.core) {
      def = CommonAttributes().Find(key);
      if (def && def->mutability == Mutability::ReadOnly) continue;  // id, meta
    }
    if (!def) continue;  // unknown attributes are ignored (RFC 7644 3.3)
    const std::string where = prefix + def->name;
    if (&schema == type.core && IsMembershipAttr(type, def->name)) {
      if (type.kind != ResourceKind::Group || it.value().is_null()) continue;
      const auto& list = it.value();
      if (!list.is_array()) throw InvalidValue("'members' must be an array");
      std::vector<std::string> ids;
      for (const auto& m : list) {
        if (!m.is_object() || !m.contains("value") || !m["value"].is_string())
          throw InvalidValue("each entry of 'members' needs a string 'value'");
        ids.push_back(m["value"].get<std::string>());
        RejectControlCharacters(ids.back(), "members.value");
      }
      result.members = std::move(ids);
      continue;
    }
    if (def->mutability == Mutability::ReadOnly || def->mutability == Mutability::WriteOnly) continue;
    if (it.value().is_null()) continue;
    nlohmann::json v = NormalizeValue(*def, it.value(), where, values);
    if ((v.is_array() || v.is_object()) && v.empty()) continue;
    out[def->name] = std::move(v);
  }
}

}  // namespace

NormalizedResource Normalize(const ResourceTypeDef& type, const nlohmann::json& body, bool require_schemas,
                             Values values) {
  if (!body.is_object()) throw InvalidSyntax("the request body must be a JSON object");
  NormalizedResource result;
  result.doc = nlohmann::json::object();
  const nlohmann::json* schemas = nullptr;
  for (auto it = body.begin(); it != body.end(); ++it)
    if (EqualsIgnoreCase(it.key(), "schemas")) schemas = &it.value();
  if (require_schemas) {
    bool has_core = false;
    if (schemas && schemas->is_array())
      for (const auto& s : *schemas)
        if (s.is_string() && EqualsIgnoreCase(s.get<std::string>(), type.core->id)) has_core = true;
    if (!has_core) throw InvalidValue("'schemas' must list " + type.core->id);
  }
  NormalizeAttributes(type, *type.core, body, result.doc, result, "", values);
  for (const SchemaDef* ext : type.extensions) {
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!EqualsIgnoreCase(it.key(), ext->id) || it.value().is_null()) continue;
      if (!it.value().is_object()) throw InvalidValue("'" + ext->id + "' must be an object");
      nlohmann::json ext_doc = nlohmann::json::object();
      NormalizeAttributes(type, *ext, it.value(), ext_doc, result, ext->id + ":", values);
      for (const auto& attr : ext->attributes)  // an extension's required attributes, when it is present
        if (attr.required && !ext_doc.contains(attr.name))
          throw InvalidValue("'" + ext->id + ":" + attr.name + "' is required");
      if (!ext_doc.empty()) result.doc[ext->id] = std::move(ext_doc);
    }
  }
  // Undeclared extensions (e.g. an Okta app namespace carrying "role") are kept verbatim when the
  // body lists them in "schemas": stored, returned and visible to rules, but not validated.
  // A stored document being re-validated (after PATCH) keeps the ones it has.
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (!it.value().is_object() || ToLower(key).rfind("urn:", 0) != 0 || type.SchemaFor(key)) continue;
    bool listed = !require_schemas;
    if (schemas && schemas->is_array())
      for (const auto& urn : *schemas) listed |= urn.is_string() && EqualsIgnoreCase(urn.get<std::string>(), key);
    if (listed) result.doc[key] = it.value();
  }
  for (const char* name : {"userName", "displayName", "externalId"})
    if (auto it = result.doc.find(name); it != result.doc.end() && it->is_string())
      RejectControlCharacters(it->get_ref<const std::string&>(), name);
  for (const auto& attr : type.core->attributes) {
    if (!attr.required) continue;
    auto it = result.doc.find(attr.name);
    if (it == result.doc.end() || (it->is_string() && it->get_ref<const std::string&>().empty()))
      throw InvalidValue("'" + attr.name + "' is required");
  }
  return result;
}

bool Projection::Wants(const ResolvedAttr& a) const {
  if (a.attr->returned == Returned::Always) return true;
  if (a.attr->returned == Returned::Never) return false;
  auto same = [&](const ResolvedAttr& x) { return x.attr == a.attr; };
  if (!include.empty()) return std::any_of(include.begin(), include.end(), same);
  if (a.attr->returned == Returned::Request) return false;
  return std::none_of(exclude.begin(), exclude.end(), [&](const ResolvedAttr& x) { return same(x) && !x.sub; });
}

namespace {
std::vector<ResolvedAttr> ParseList(const ResourceTypeDef& type, const std::string& list) {
  std::vector<ResolvedAttr> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      std::string schema, rest = item;
      if (ToLower(item).rfind("urn:", 0) == 0) {
        // Either a whole extension ("urn:...:User") or an attribute in it ("urn:...:User:department").
        if (type.SchemaFor(item)) {
          for (const auto* ext : type.extensions)
            if (EqualsIgnoreCase(ext->id, item))
              for (const auto& attr : ext->attributes) out.push_back(ResolvedAttr{ext, true, &attr, nullptr});
          rest.clear();
        } else {
          size_t colon = item.rfind(':');
          schema = item.substr(0, colon);
          rest = item.substr(colon + 1);
        }
      }
      if (!rest.empty()) {
        size_t dot = rest.find('.');
        std::string attr = rest.substr(0, dot), sub = dot == std::string::npos ? "" : rest.substr(dot + 1);
        out.push_back(Resolve(type, schema, attr, sub, "invalidValue"));
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void FilterSubs(nlohmann::json& value, const ResolvedAttr& a, const Projection& p) {
  // With "attributes=name.givenName", keep only the listed sub-attributes of that attribute.
  std::vector<const AttributeDef*> wanted;
  for (const auto& x : p.include)
    if (x.attr == a.attr && x.sub) wanted.push_back(x.sub);
  bool whole = std::any_of(p.include.begin(), p.include.end(), [&](const ResolvedAttr& x) { return x.attr == a.attr && !x.sub; });
  std::vector<const AttributeDef*> dropped;
  for (const auto& x : p.exclude)
    if (x.attr == a.attr && x.sub) dropped.push_back(x.sub);
  auto trim = [&](nlohmann::json& obj) {
    if (!obj.is_object()) return;
    for (auto it = obj.begin(); it != obj.end();) {
      const AttributeDef* sub = a.attr->Sub(it.key());
      bool keep = (wanted.empty() || whole || std::find(wanted.begin(), wanted.end(), sub) != wanted.end()) &&
                  std::find(dropped.begin(), dropped.end(), sub) == dropped.end();
      it = keep ? std::next(it) : obj.erase(it);
    }
  };
  if (value.is_array())
    for (auto& e : value) trim(e);
  else
    trim(value);
}
}  // namespace

Projection ParseProjection(const ResourceTypeDef& type, const std::string& attributes, const std::string& excluded) {
  Projection p;
  p.include = ParseList(type, attributes);
  if (p.include.empty()) p.exclude = ParseList(type, excluded);
  return p;
}

std::string ETagOf(long long version) { return "W/\"" + std::to_string(version) + "\""; }

namespace {

// Whether the projection names sub-attributes of `a` (then its value must be trimmed).
bool SelectsSubs(const ResolvedAttr& a, const Projection& p) {
  auto sub_of_a = [&](const ResolvedAttr& x) { return x.attr == a.attr && x.sub; };
  return std::any_of(p.include.begin(), p.include.end(), sub_of_a) ||
         std::any_of(p.exclude.begin(), p.exclude.end(), sub_of_a);
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

// The membership list: the group's members, or the user's groups (type "direct").
std::string EdgesText(const ResourceTypeDef& type, const std::vector<MemberRef>& edges, const std::string& base_url) {
  std::string out = "[";
  for (const auto& e : edges) {
    if (out.size() > 1) out += ',';
    out += "{\"$ref\":";
    AppendQuoted(out, base_url + (e.type == "User" ? "/Users/" : "/Groups/") + e.id);
    out += ",\"display\":";
    AppendQuoted(out, e.display);
    out += ",\"type\":";
    AppendQuoted(out, type.kind == ResourceKind::Group ? e.type : std::string("direct"));
    out += ",\"value\":";
    AppendQuoted(out, e.id);
    out += '}';
  }
  return out + ']';
}

}  // namespace

std::string Render(const ResourceTypeDef& type, const ResourceRow& row, const std::string& base_url,
                   const std::vector<MemberRef>* edges, const Projection& projection) {
  const SchemaDef& common = CommonAttributes();
  const auto members = ObjectMembers(row.doc_text);
  auto find = [](const auto& in, const std::string& key) -> const std::string_view* {
    for (const auto& [k, v] : in)
      if (k == key) return &v;
    return nullptr;
  };
  auto emit = [&](const SchemaDef& schema, bool ext, const AttributeDef& attr, std::string value, ObjectWriter& into) {
    ResolvedAttr a{&schema, ext, &attr, nullptr};
    if (!projection.Wants(a)) return;
    if (SelectsSubs(a, projection)) {
      nlohmann::json tree = nlohmann::json::parse(value);
      FilterSubs(tree, a, projection);
      value = DumpJson(tree);
    }
    into.Add(attr.name, std::move(value));
  };

  ObjectWriter out;
  std::string schemas = "[" + Quoted(type.core->id);
  for (const auto* ext : type.extensions)
    if (find(members, ext->id)) schemas += "," + Quoted(ext->id);
  // Extensions nobody declared (kept verbatim when the client listed them in "schemas").
  for (const auto& [key, value] : members)
    if (key.rfind("urn:", 0) == 0 && !type.SchemaFor(key)) {
      schemas += "," + Quoted(key);
      out.Add(key, std::string(value));
    }
  out.Add("schemas", schemas + "]");
  out.Add("id", Quoted(row.id));
  if (const auto* v = find(members, "externalId")) emit(common, false, *common.Find("externalId"), std::string(*v), out);
  for (const auto& attr : type.core->attributes) {
    if (IsMembershipAttr(type, attr.name)) {
      if (edges) emit(*type.core, false, attr, EdgesText(type, *edges, base_url), out);
      continue;
    }
    if (const auto* v = find(members, attr.name)) emit(*type.core, false, attr, std::string(*v), out);
  }
  for (const auto* ext : type.extensions) {
    const auto* v = find(members, ext->id);
    if (!v || v->front() != '{') continue;
    const auto ext_members = ObjectMembers(*v);
    ObjectWriter ext_out;
    for (const auto& attr : ext->attributes)
      if (const auto* a = find(ext_members, attr.name)) emit(*ext, true, attr, std::string(*a), ext_out);
    if (!ext_out.empty()) out.Add(ext->id, ext_out.Finish());
  }
  std::string meta = "{\"created\":" + Quoted(row.created) + ",\"lastModified\":" + Quoted(row.modified) +
                     ",\"location\":" + Quoted(base_url + type.endpoint + "/" + row.id) +
                     ",\"resourceType\":" + Quoted(type.name) + ",\"version\":" + Quoted(ETagOf(row.version)) + "}";
  emit(common, false, *common.Find("meta"), std::move(meta), out);
  return out.Finish();
}

}  // namespace scimitar::scim
