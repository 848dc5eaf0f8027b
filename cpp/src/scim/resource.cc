#include "scim/resource.h"

#include "scim/datetime.h"

#include "scimitar/error.h"

namespace scimitar::scim {

namespace {

bool IsMembershipAttr(const ResourceTypeDef& type, const std::string& name) {
  return (type.kind == ResourceKind::Group && name == "members") || (type.kind == ResourceKind::User && name == "groups");
}

nlohmann::json Scalar(const AttributeDef& def, const nlohmann::json& v, const std::string& where) {
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
      throw InvalidValue("'" + where + "' must be an integer");
    case AttrType::Decimal:
      if (v.is_number()) return v;
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

nlohmann::json Single(const AttributeDef& def, const nlohmann::json& v, const std::string& where) {
  if (def.type != AttrType::Complex) return Scalar(def, v, where);
  if (!v.is_object()) throw InvalidValue("'" + where + "' must be an object");
  nlohmann::json out = nlohmann::json::object();
  for (auto it = v.begin(); it != v.end(); ++it) {
    const AttributeDef* sub = def.Sub(it.key());
    if (!sub || sub->mutability == Mutability::ReadOnly || it.value().is_null()) continue;
    out[sub->name] = Scalar(*sub, it.value(), where + "." + sub->name);
  }
  for (const auto& sub : def.subs)
    if (sub.required && !out.contains(sub.name)) throw InvalidValue("'" + where + "." + sub.name + "' is required");
  return out;
}

}  // namespace

nlohmann::json NormalizeValue(const AttributeDef& def, const nlohmann::json& value, const std::string& where) {
  if (!def.multi) return Single(def, value, where);
  nlohmann::json out = nlohmann::json::array();
  if (value.is_array()) {
    for (const auto& e : value)
      if (!e.is_null()) out.push_back(Single(def, e, where));
  } else {
    out.push_back(Single(def, value, where));
  }
  return out;
}

namespace {

void NormalizeAttributes(const ResourceTypeDef& type, const SchemaDef& schema, const nlohmann::json& in,
                         nlohmann::json& out, NormalizedResource& result, const std::string& prefix) {
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
      }
      result.members = std::move(ids);
      continue;
    }
    if (def->mutability == Mutability::ReadOnly || def->mutability == Mutability::WriteOnly) continue;
    if (it.value().is_null()) continue;
    nlohmann::json v = NormalizeValue(*def, it.value(), where);
    if ((v.is_array() || v.is_object()) && v.empty()) continue;
    out[def->name] = std::move(v);
  }
}

}  // namespace

NormalizedResource Normalize(const ResourceTypeDef& type, const nlohmann::json& body, bool require_schemas) {
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
  NormalizeAttributes(type, *type.core, body, result.doc, result, "");
  for (const SchemaDef* ext : type.extensions) {
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!EqualsIgnoreCase(it.key(), ext->id) || it.value().is_null()) continue;
      if (!it.value().is_object()) throw InvalidValue("'" + ext->id + "' must be an object");
      nlohmann::json ext_doc = nlohmann::json::object();
      NormalizeAttributes(type, *ext, it.value(), ext_doc, result, ext->id + ":");
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

nlohmann::json Render(const ResourceTypeDef& type, ResourceRow row, const std::string& base_url,
                      const std::vector<MemberRef>* edges, const Projection& projection) {
  const SchemaDef& common = CommonAttributes();
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json schemas = {type.core->id};
  for (const auto* ext : type.extensions)
    if (row.doc.contains(ext->id)) schemas.push_back(ext->id);
  for (auto it = row.doc.begin(); it != row.doc.end(); ++it)
    if (it.key().rfind("urn:", 0) == 0 && !type.SchemaFor(it.key())) {
      schemas.push_back(it.key());
      out[it.key()] = std::move(it.value());
    }
  out["schemas"] = std::move(schemas);
  out["id"] = row.id;
  auto emit = [&](const SchemaDef& schema, bool ext, const AttributeDef& attr, nlohmann::json&& value, nlohmann::json& into) {
    ResolvedAttr a{&schema, ext, &attr, nullptr};
    if (!projection.Wants(a)) return;
    FilterSubs(value, a, projection);
    into[attr.name] = std::move(value);
  };
  if (auto it = row.doc.find("externalId"); it != row.doc.end())
    emit(common, false, *common.Find("externalId"), std::move(*it), out);
  for (const auto& attr : type.core->attributes) {
    if (IsMembershipAttr(type, attr.name)) {
      if (!edges) continue;
      nlohmann::json list = nlohmann::json::array();
      for (const auto& e : *edges) {
        std::string endpoint = e.type == "User" ? "/Users/" : "/Groups/";
        nlohmann::json item = {{"value", e.id}, {"$ref", base_url + endpoint + e.id}, {"display", e.display}};
        item["type"] = type.kind == ResourceKind::Group ? e.type : "direct";
        list.push_back(std::move(item));
      }
      emit(*type.core, false, attr, std::move(list), out);
      continue;
    }
    if (auto it = row.doc.find(attr.name); it != row.doc.end()) emit(*type.core, false, attr, std::move(*it), out);
  }
  for (const auto* ext : type.extensions) {
    auto it = row.doc.find(ext->id);
    if (it == row.doc.end()) continue;
    nlohmann::json ext_out = nlohmann::json::object();
    for (const auto& attr : ext->attributes)
      if (auto a = it->find(attr.name); a != it->end()) emit(*ext, true, attr, std::move(*a), ext_out);
    if (!ext_out.empty()) out[ext->id] = std::move(ext_out);
  }
  emit(common, false, *common.Find("meta"),
       {{"resourceType", type.name},
        {"created", row.created},
        {"lastModified", row.modified},
        {"location", base_url + type.endpoint + "/" + row.id},
        {"version", ETagOf(row.version)}},
       out);
  return out;
}

}  // namespace scimitar::scim
