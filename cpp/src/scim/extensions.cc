#include "scim/extensions.h"

#include <cctype>
#include <set>

#include "scimitar/error.h"

namespace scimitar::scim {

namespace {

// RFC 7643 section 2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
bool ValidName(const std::string& n) {
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (unsigned char c : n)
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  return true;
}

// The enumerator whose RFC spelling is `text` (case-insensitive), among `all`.
template <typename Enum, size_t N>
Enum Named(const nlohmann::json& field, const char* what, const std::string& where, Enum fallback,
           const Enum (&all)[N], const char* (*name_of)(Enum)) {
  if (field.is_null()) return fallback;
  if (field.is_string())
    for (Enum e : all)
      if (EqualsIgnoreCase(field.get<std::string>(), name_of(e))) return e;
  std::string allowed;
  for (Enum e : all) allowed += (allowed.empty() ? "" : ", ") + std::string(name_of(e));
  throw InvalidValue(where + ": " + what + " must be one of " + allowed);
}

bool Flag(const nlohmann::json& a, const char* key, const std::string& where) {
  auto it = a.find(key);
  if (it == a.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw InvalidValue(where + ": " + key + " must be true or false");
  return it->get<bool>();
}

std::vector<std::string> Strings(const nlohmann::json& a, const char* key, const std::string& where) {
  std::vector<std::string> out;
  auto it = a.find(key);
  if (it == a.end() || it->is_null()) return out;
  if (!it->is_array()) throw InvalidValue(where + ": " + key + " must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) throw InvalidValue(where + ": " + key + " must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

AttributeDef ParseAttribute(const nlohmann::json& a, const std::string& parent, bool nested) {
  if (!a.is_object()) throw InvalidValue(parent + ": each attribute must be an object");
  const std::string name = a.value("name", "");
  const std::string where = "attribute '" + parent + name + "'";
  if (!ValidName(name))
    throw InvalidValue("attribute name '" + parent + name + "' is not valid (a letter, then letters, digits, '-' or '_')");
  static const AttrType kTypes[] = {AttrType::String, AttrType::Boolean, AttrType::Decimal, AttrType::Integer,
                                    AttrType::DateTime, AttrType::Reference, AttrType::Complex, AttrType::Binary};
  static const Mutability kMutability[] = {Mutability::ReadOnly, Mutability::ReadWrite, Mutability::Immutable,
                                           Mutability::WriteOnly};
  static const Returned kReturned[] = {Returned::Always, Returned::Never, Returned::Default, Returned::Request};
  static const Uniqueness kUniqueness[] = {Uniqueness::None, Uniqueness::Server, Uniqueness::Global};
  AttributeDef def;
  def.name = name;
  def.type = Named(a.value("type", nlohmann::json()), "type", where, AttrType::String, kTypes, TypeName);
  def.multi = Flag(a, "multiValued", where);
  def.required = Flag(a, "required", where);
  def.case_exact = Flag(a, "caseExact", where);
  def.mutability = Named(a.value("mutability", nlohmann::json()), "mutability", where, Mutability::ReadWrite,
                         kMutability, MutabilityName);
  def.returned = Named(a.value("returned", nlohmann::json()), "returned", where, Returned::Default, kReturned, ReturnedName);
  def.uniqueness = Named(a.value("uniqueness", nlohmann::json()), "uniqueness", where, Uniqueness::None, kUniqueness,
                         UniquenessName);
  if (def.uniqueness != Uniqueness::None)
    throw InvalidValue(where + ": uniqueness other than 'none' is not supported for declared extensions");
  def.description = a.value("description", "");
  def.canonical = Strings(a, "canonicalValues", where);
  def.reference_types = Strings(a, "referenceTypes", where);
  auto subs = a.find("subAttributes");
  if (def.type == AttrType::Complex) {
    if (nested) throw InvalidValue(where + ": a sub-attribute cannot be complex (RFC 7643 section 2.3.8)");
    if (subs == a.end() || !subs->is_array() || subs->empty())
      throw InvalidValue(where + ": a complex attribute needs subAttributes");
    std::set<std::string> seen;
    for (const auto& s : *subs) {
      def.subs.push_back(ParseAttribute(s, parent + name + ".", true));
      if (!seen.insert(ToLower(def.subs.back().name)).second)
        throw InvalidValue(where + ": sub-attribute '" + def.subs.back().name + "' is declared twice");
    }
  } else if (subs != a.end() && !subs->is_null() && !(subs->is_array() && subs->empty())) {
    throw InvalidValue(where + ": only complex attributes have subAttributes");
  }
  return def;
}

}  // namespace

SchemaDef ParseExtension(const nlohmann::json& schema) {
  if (!schema.is_object()) throw InvalidValue("a schema extension is a JSON object");
  SchemaDef def;
  def.id = schema.value("id", "");
  if (ToLower(def.id).rfind("urn:", 0) != 0 || def.id.size() < 6 || def.id.find(' ') != std::string::npos)
    throw InvalidValue("the schema id must be a URN (urn:...), not '" + def.id + "'");
  for (const char* standard : {kUserUrn, kEnterpriseUrn, kGroupUrn})
    if (EqualsIgnoreCase(def.id, standard)) throw InvalidValue("'" + def.id + "' is a standard schema; declare another URN");
  def.name = schema.value("name", def.id.substr(def.id.rfind(':') + 1));
  def.description = schema.value("description", "");
  auto attrs = schema.find("attributes");
  if (attrs == schema.end() || !attrs->is_array() || attrs->empty())
    throw InvalidValue("schema '" + def.id + "' declares no attributes");
  std::set<std::string> seen;
  for (const auto& a : *attrs) {
    def.attributes.push_back(ParseAttribute(a, "", false));
    if (!seen.insert(ToLower(def.attributes.back().name)).second)
      throw InvalidValue("attribute '" + def.attributes.back().name + "' is declared twice in '" + def.id + "'");
  }
  return def;
}

TypeSet::TypeSet(const std::vector<ExtensionDefinition>& extensions)
    : user_{ResourceKind::User, "User", "/Users", &UserSchema(), {&EnterpriseUserSchema()}},
      group_{ResourceKind::Group, "Group", "/Groups", &GroupSchema(), {}} {
  std::set<std::string> urns;
  for (const auto& e : extensions) {
    ResourceTypeDef* type = e.resource_type == "User" ? &user_ : e.resource_type == "Group" ? &group_ : nullptr;
    if (!type) throw InvalidValue("an extension extends User or Group, not '" + e.resource_type + "'");
    declared_.push_back(std::make_unique<SchemaDef>(ParseExtension(e.schema)));
    if (!urns.insert(ToLower(declared_.back()->id)).second)
      throw InvalidValue("schema '" + declared_.back()->id + "' is declared twice");
    type->extensions.push_back(declared_.back().get());
  }
}

std::vector<const SchemaDef*> TypeSet::Schemas() const {
  std::vector<const SchemaDef*> out{&UserSchema(), &EnterpriseUserSchema(), &GroupSchema()};
  for (const auto& d : declared_) out.push_back(d.get());
  return out;
}

const TypeSet& StandardTypes() {
  static const TypeSet types({});
  return types;
}

}  // namespace scimitar::scim
