#include "scim/patch.h"

#include "scim/filter.h"
#include "scim/resource.h"
#include "scimitar/error.h"

namespace scimitar::scim {

namespace {

enum class Op { Add, Replace, Remove };

const nlohmann::json* FindCI(const nlohmann::json& obj, const std::string& key) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (EqualsIgnoreCase(it.key(), key)) return &it.value();
  return nullptr;
}

// Collects member ids named by `value eq "x" [or value eq "y" ...]`.
void MemberIdsFromFilter(const FilterNode& f, std::vector<std::string>& ids) {
  if (f.kind == FilterNode::Kind::Or) {
    MemberIdsFromFilter(*f.left, ids);
    MemberIdsFromFilter(*f.right, ids);
    return;
  }
  if (f.kind == FilterNode::Kind::Compare && f.op == CompareOp::Eq && f.path.schema.empty() && f.path.sub.empty() &&
      EqualsIgnoreCase(f.path.attr, "value") && f.value.is_string()) {
    ids.push_back(f.value.get<std::string>());
    return;
  }
  throw InvalidFilter("a members filter must be value eq \"id\" (optionally joined with or)");
}

std::vector<std::string> MemberIdsFromValue(const nlohmann::json& value) {
  std::vector<std::string> ids;
  auto one = [&](const nlohmann::json& m) {
    if (m.is_object()) {
      const nlohmann::json* v = FindCI(m, "value");
      if (v && v->is_string()) {
        ids.push_back(v->get<std::string>());
        RejectControlCharacters(ids.back(), "members.value");
        return;
      }
    }
    throw InvalidValue("each member needs a string 'value'");
  };
  if (value.is_array())
    for (const auto& m : value) one(m);
  else
    one(value);
  return ids;
}

// Builds the element that a value filter like `type eq "work"` describes (Entra's add-if-absent form).
bool ElementFromFilter(const FilterNode& f, nlohmann::json& element) {
  if (f.kind == FilterNode::Kind::And) return ElementFromFilter(*f.left, element) && ElementFromFilter(*f.right, element);
  if (f.kind == FilterNode::Kind::Compare && f.op == CompareOp::Eq && f.path.sub.empty() && f.path.schema.empty()) {
    element[f.path.attr] = f.value;
    return true;
  }
  return false;
}

class Patcher {
 public:
  Patcher(const ResourceTypeDef& type, const std::string& id, nlohmann::json doc) : type_(type), id_(id) {
    out_.doc = std::move(doc);
  }

  void Apply(Op op, const nlohmann::json* path, const nlohmann::json* value) {
    if (!path || (path->is_string() && path->get<std::string>().empty())) {
      if (op == Op::Remove) throw NoTarget("remove needs a path");
      if (!value || !value->is_object()) throw InvalidValue("an operation without a path needs an object value");
      for (auto it = value->begin(); it != value->end(); ++it) ApplyKey(op, it.key(), it.value());
      return;
    }
    if (!path->is_string()) throw InvalidPath("'path' must be a string");
    if (op != Op::Remove && !value) throw InvalidValue("'" + path->get<std::string>() + "': add and replace need a value");
    // The path may name a whole extension ("urn:...:enterprise:2.0:User").
    if (const SchemaDef* ext = type_.SchemaFor(path->get<std::string>()); ext && ext != type_.core) {
      if (op == Op::Remove) {
        out_.doc.erase(ext->id);
      } else {
        if (op == Op::Replace) out_.doc.erase(ext->id);
        ApplyKey(op, ext->id, *value);
      }
      return;
    }
    ApplyPath(op, ParsePatchPath(path->get<std::string>()), value);
  }

  PatchOutcome Take() { return std::move(out_); }

 private:
  // A key of a path-less value: an attribute, "name.givenName", an extension URN, or "urn:...:attr".
  void ApplyKey(Op op, const std::string& key, const nlohmann::json& value) {
    if (EqualsIgnoreCase(key, "schemas")) return;
    if (const SchemaDef* ext = type_.SchemaFor(key); ext && ext != type_.core) {
      if (!value.is_object()) throw InvalidValue("'" + ext->id + "' must be an object");
      for (auto it = value.begin(); it != value.end(); ++it) {
        PatchPath p;
        p.path.schema = ext->id;
        p.path.attr = it.key();
        if (!ext->Find(it.key())) continue;
        ApplyPath(op, std::move(p), &it.value());
      }
      return;
    }
    PatchPath p;
    try {
      p = ParsePatchPath(key);
    } catch (const ScimError&) {
      return;  // not an attribute name: ignored like unknown attributes on POST
    }
    if (p.filter) return;
    try {
      Resolve(type_, p.path.schema, p.path.attr, p.path.sub, "invalidPath");
    } catch (const ScimError&) {
      return;  // unknown attribute: ignored
    }
    ApplyPath(op, std::move(p), &value);
  }

  void ApplyPath(Op op, PatchPath p, const nlohmann::json* value) {
    ResolvedAttr r = Resolve(type_, p.path.schema, p.path.attr, p.path.sub, "invalidPath");
    const AttributeDef& attr = *r.attr;
    if (!r.extension && type_.kind == ResourceKind::Group && attr.name == "members") return Members(op, p, value);
    if (attr.mutability == Mutability::ReadOnly || (r.sub && r.sub->mutability == Mutability::ReadOnly)) {
      if (attr.name == "id" && value && value->is_string() && value->get<std::string>() == id_) return;
      throw MutabilityError("'" + p.path.ToString() + "' is read-only");
    }
    nlohmann::json& container = Container(r, op != Op::Remove);
    if (container.is_null()) return;  // removing from an absent extension
    const std::string where = p.path.ToString();

    if (p.filter) {
      if (!attr.multi || attr.type != AttrType::Complex)
        throw InvalidPath("'" + attr.name + "' is not a multi-valued complex attribute");
      return Filtered(op, attr, container, *p.filter, p.sub_after, value, where);
    }
    if (r.sub) {
      const AttributeDef& sub = *r.sub;
      if (op == Op::Remove) {
        auto it = container.find(attr.name);
        if (it == container.end()) return;
        if (it->is_array())
          for (auto& e : *it) e.erase(sub.name);
        else
          it->erase(sub.name);
        Prune(container, attr.name);
        return;
      }
      nlohmann::json v = NormalizeValue(sub, *value, where);
      nlohmann::json& target = container[attr.name];
      if (attr.multi) {
        if (!target.is_array() || target.empty()) target = nlohmann::json::array({nlohmann::json::object()});
        for (auto& e : target) e[sub.name] = v;
      } else {
        if (!target.is_object()) target = nlohmann::json::object();
        target[sub.name] = std::move(v);
      }
      return;
    }
    if (op == Op::Remove) {
      container.erase(attr.name);
      return;
    }
    nlohmann::json v = NormalizeValue(attr, *value, where);
    if (op == Op::Add && attr.multi) {
      nlohmann::json& target = container[attr.name];
      if (!target.is_array()) target = nlohmann::json::array();
      for (auto& e : v)
        if (std::find(target.begin(), target.end(), e) == target.end()) target.push_back(std::move(e));
    } else if (attr.type == AttrType::Complex && !attr.multi) {
      nlohmann::json& target = container[attr.name];
      if (!target.is_object()) target = nlohmann::json::object();
      for (auto it = v.begin(); it != v.end(); ++it) target[it.key()] = it.value();
    } else {
      container[attr.name] = std::move(v);
    }
    Prune(container, attr.name);
  }

  void Filtered(Op op, const AttributeDef& attr, nlohmann::json& container, const FilterNode& filter,
                const std::string& sub_after, const nlohmann::json* value, const std::string& where) {
    const AttributeDef* sub = nullptr;
    if (!sub_after.empty()) {
      sub = attr.Sub(sub_after);
      if (!sub) throw InvalidPath("'" + sub_after + "' is not a sub-attribute of " + attr.name);
    }
    ValidateElementFilter(attr, filter);
    nlohmann::json& list = container[attr.name];
    if (!list.is_array()) list = nlohmann::json::array();
    bool matched = false;
    for (auto it = list.begin(); it != list.end();) {
      if (!MatchesElement(filter, *it)) {
        ++it;
        continue;
      }
      matched = true;
      if (op == Op::Remove) {
        if (sub) {
          it->erase(sub->name);
          ++it;
        } else {
          it = list.erase(it);
        }
        continue;
      }
      if (sub) {
        (*it)[sub->name] = NormalizeValue(*sub, *value, where);
      } else {
        nlohmann::json v = NormalizeValue(attr, *value, where);
        nlohmann::json elem = v.is_array() && !v.empty() ? v[0] : nlohmann::json::object();
        if (op == Op::Replace) *it = elem;
        else
          for (auto e = elem.begin(); e != elem.end(); ++e) (*it)[e.key()] = e.value();
      }
      ++it;
    }
    if (!matched && op != Op::Remove) {
      if (!sub && !value->is_object()) throw InvalidValue("'" + where + "' needs an object value");
      // Entra ID adds "emails[type eq \"work\"].value" to users that have no work email yet.
      nlohmann::json elem = nlohmann::json::object();
      if (!ElementFromFilter(filter, elem)) throw NoTarget("no value of '" + attr.name + "' matches the filter");
      if (sub) {
        elem[sub->name] = *value;
      } else if (value->is_object()) {
        for (auto e = value->begin(); e != value->end(); ++e) elem[e.key()] = e.value();
      }
      list.push_back(NormalizeValue(attr, elem, where)[0]);
    }
    Prune(container, attr.name);
  }

  void ValidateElementFilter(const AttributeDef& attr, const FilterNode& f) {
    switch (f.kind) {
      case FilterNode::Kind::And:
      case FilterNode::Kind::Or:
        ValidateElementFilter(attr, *f.left);
        ValidateElementFilter(attr, *f.right);
        return;
      case FilterNode::Kind::Not:
        ValidateElementFilter(attr, *f.left);
        return;
      case FilterNode::Kind::ValuePath:
        throw InvalidFilter("value filters cannot be nested");
      case FilterNode::Kind::Compare:
        if (!f.path.schema.empty() || !f.path.sub.empty() || !attr.Sub(f.path.attr))
          throw InvalidFilter("'" + f.path.ToString() + "' is not a sub-attribute of " + attr.name);
    }
  }

  void Members(Op op, const PatchPath& p, const nlohmann::json* value) {
    if (!p.path.sub.empty() || !p.sub_after.empty()) throw InvalidPath("members can only be added or removed whole");
    auto& m = out_.members;
    if (p.filter) {
      if (op != Op::Remove) throw InvalidPath("use add with path 'members' to add members");
      std::vector<std::string> ids;
      MemberIdsFromFilter(*p.filter, ids);
      m.remove.insert(m.remove.end(), ids.begin(), ids.end());
      return;
    }
    if (op == Op::Remove) {
      if (value && !value->is_null()) {
        // Entra ID: {"op":"Remove","path":"members","value":[{"value":"id"}]} removes only those.
        auto ids = MemberIdsFromValue(*value);
        m.remove.insert(m.remove.end(), ids.begin(), ids.end());
      } else {
        m.replace_all = true;
        m.add.clear();
        m.remove.clear();
      }
      return;
    }
    auto ids = MemberIdsFromValue(*value);
    if (op == Op::Replace) {
      m.replace_all = true;
      m.add.clear();
      m.remove.clear();
    }
    for (const auto& id : ids) {
      m.remove.erase(std::remove(m.remove.begin(), m.remove.end(), id), m.remove.end());
      m.add.push_back(id);
    }
  }

  nlohmann::json& Container(const ResolvedAttr& r, bool create) {
    if (!r.extension) return out_.doc;
    auto it = out_.doc.find(r.schema->id);
    if (it == out_.doc.end()) {
      if (!create) return null_;
      out_.doc[r.schema->id] = nlohmann::json::object();
      return out_.doc[r.schema->id];
    }
    return *it;
  }

  static void Prune(nlohmann::json& container, const std::string& name) {
    auto it = container.find(name);
    if (it != container.end() && (it->is_array() || it->is_object()) && it->empty()) container.erase(it);
  }

  const ResourceTypeDef& type_;
  std::string id_;
  PatchOutcome out_;
  nlohmann::json null_;
};

}  // namespace

PatchOutcome ApplyPatch(const ResourceTypeDef& type, const std::string& id, nlohmann::json doc,
                        const nlohmann::json& body, size_t max_operations) {
  if (!body.is_object()) throw InvalidSyntax("the PATCH body must be a JSON object");
  const nlohmann::json* schemas = FindCI(body, "schemas");
  bool ok = false;
  if (schemas && schemas->is_array())
    for (const auto& s : *schemas)
      if (s.is_string() && EqualsIgnoreCase(s.get<std::string>(), kPatchOpUrn)) ok = true;
  if (!ok) throw InvalidValue(std::string("'schemas' must list ") + kPatchOpUrn);
  const nlohmann::json* ops = FindCI(body, "Operations");
  if (!ops || !ops->is_array() || ops->empty()) throw InvalidValue("'Operations' must be a non-empty array");
  if (ops->size() > max_operations)
    throw InvalidValue("a PATCH request may hold at most " + std::to_string(max_operations) + " operations, not " +
                       std::to_string(ops->size()));
  Patcher patcher(type, id, std::move(doc));
  for (const auto& o : *ops) {
    if (!o.is_object()) throw InvalidValue("each operation must be an object");
    const nlohmann::json* op = FindCI(o, "op");
    if (!op || !op->is_string()) throw InvalidValue("each operation needs an 'op'");
    std::string name = ToLower(op->get<std::string>());
    Op kind;
    if (name == "add") kind = Op::Add;
    else if (name == "replace") kind = Op::Replace;
    else if (name == "remove") kind = Op::Remove;
    else throw InvalidValue("unknown op '" + op->get<std::string>() + "' (add, replace or remove)");
    patcher.Apply(kind, FindCI(o, "path"), FindCI(o, "value"));
  }
  return patcher.Take();
}

}  // namespace scimitar::scim
