#include "scim/schema.h"

#include <algorithm>
#include <cctype>

#include "scimitar/error.h"

namespace scimitar::scim {

const char* const kUserUrn = "urn:ietf:params:scim:schemas:core:2.0:User";
const char* const kEnterpriseUrn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const char* const kGroupUrn = "urn:ietf:params:scim:schemas:core:2.0:Group";
const char* const kListResponseUrn = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const char* const kPatchOpUrn = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const char* const kErrorUrn = "urn:ietf:params:scim:api:messages:2.0:Error";

namespace {

// ASCII case folding, whatever the process locale (Python sets LC_CTYPE from the environment): SCIM
// names and the values folded here compare case-insensitively in ASCII; other bytes stay as they are.
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string ToLower(std::string s) {
  for (char& c : s) c = AsciiLower(c);
  return s;
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

const AttributeDef* AttributeDef::Sub(const std::string& n) const {
  for (const auto& s : subs)
    if (EqualsIgnoreCase(s.name, n)) return &s;
  return nullptr;
}

const AttributeDef* SchemaDef::Find(const std::string& n) const {
  for (const auto& a : attributes)
    if (EqualsIgnoreCase(a.name, n)) return &a;
  return nullptr;
}

const SchemaDef* ResourceTypeDef::SchemaFor(const std::string& urn) const {
  if (EqualsIgnoreCase(core->id, urn)) return core;
  for (const auto* e : extensions)
    if (EqualsIgnoreCase(e->id, urn)) return e;
  return nullptr;
}

namespace {

// Small builders keep the RFC 7643 definitions readable.
AttributeDef Str(std::string name, std::string desc, bool case_exact = false) {
  AttributeDef a;
  a.name = std::move(name);
  a.description = std::move(desc);
  a.case_exact = case_exact;
  return a;
}
AttributeDef Typed(std::string name, AttrType t, std::string desc) {
  AttributeDef a = Str(std::move(name), std::move(desc));
  a.type = t;
  return a;
}
AttributeDef Complex(std::string name, std::string desc, std::vector<AttributeDef> subs, bool multi) {
  AttributeDef a = Str(std::move(name), std::move(desc));
  a.type = AttrType::Complex;
  a.multi = multi;
  a.subs = std::move(subs);
  return a;
}
AttributeDef ReadOnly(AttributeDef a) {
  a.mutability = Mutability::ReadOnly;
  return a;
}
AttributeDef Ref(std::string name, std::vector<std::string> types, std::string desc) {
  AttributeDef a = Typed(std::move(name), AttrType::Reference, std::move(desc));
  a.reference_types = std::move(types);
  a.case_exact = true;
  return a;
}
AttributeDef Canon(AttributeDef a, std::vector<std::string> values) {
  a.canonical = std::move(values);
  return a;
}

// The value/display/type/primary shape shared by emails, phoneNumbers, ims, photos, ...
AttributeDef MultiValued(std::string name, std::string desc, std::vector<std::string> types,
                         AttrType value_type = AttrType::String) {
  AttributeDef value = Typed("value", value_type, "The attribute's significant value.");
  if (value_type == AttrType::Reference) value.reference_types = {"external"};
  return Complex(std::move(name), std::move(desc),
                 {value, Str("display", "A human-readable name, primarily used for display purposes."),
                  Canon(Str("type", "A label indicating the attribute's function."), std::move(types)),
                  Typed("primary", AttrType::Boolean, "Indicates the 'primary' or preferred attribute value.")},
                 true);
}

SchemaDef BuildCommon() {
  SchemaDef s{"common", "Common", "Attributes of every resource", {}};
  AttributeDef id = ReadOnly(Str("id", "Unique identifier for the SCIM resource as defined by the service provider.", true));
  id.returned = Returned::Always;
  id.uniqueness = Uniqueness::Server;
  s.attributes.push_back(id);
  s.attributes.push_back(Str("externalId", "A String that is an identifier for the resource as defined by the provisioning client.", true));
  AttributeDef meta = ReadOnly(Complex("meta", "Resource metadata.",
      {ReadOnly(Str("resourceType", "The name of the resource type of the resource.", true)),
       ReadOnly(Typed("created", AttrType::DateTime, "The DateTime that the resource was added to the service provider.")),
       ReadOnly(Typed("lastModified", AttrType::DateTime, "The most recent DateTime that the details of this resource were updated.")),
       ReadOnly(Ref("location", {"uri"}, "The URI of the resource being returned.")),
       ReadOnly(Str("version", "The version of the resource being returned.", true))}, false));
  s.attributes.push_back(meta);
  return s;
}

SchemaDef BuildUser() {
  SchemaDef s{kUserUrn, "User", "User Account", {}};
  AttributeDef user_name = Str("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.");
  user_name.required = true;
  user_name.uniqueness = Uniqueness::Server;
  s.attributes.push_back(user_name);
  s.attributes.push_back(Complex("name", "The components of the user's real name.",
      {Str("formatted", "The full name, including all middle names, titles, and suffixes as appropriate."),
       Str("familyName", "The family name of the User."), Str("givenName", "The given name of the User."),
       Str("middleName", "The middle name(s) of the User."), Str("honorificPrefix", "The honorific prefix(es) of the User."),
       Str("honorificSuffix", "The honorific suffix(es) of the User.")}, false));
  s.attributes.push_back(Str("displayName", "The name of the User, suitable for display to end-users."));
  s.attributes.push_back(Str("nickName", "The casual way to address the user in real life."));
  s.attributes.push_back(Ref("profileUrl", {"external"}, "A fully qualified URL pointing to a page representing the User's online profile."));
  s.attributes.push_back(Str("title", "The user's title, such as \"Vice President.\""));
  s.attributes.push_back(Str("userType", "Used to identify the relationship between the organization and the user."));
  s.attributes.push_back(Str("preferredLanguage", "Indicates the User's preferred written or spoken language."));
  s.attributes.push_back(Str("locale", "Used to indicate the User's default location for purposes of localizing items."));
  s.attributes.push_back(Str("timezone", "The User's time zone in the 'Olson' time zone database format."));
  s.attributes.push_back(Typed("active", AttrType::Boolean, "A Boolean value indicating the User's administrative status."));
  AttributeDef password = Str("password", "The User's cleartext password.");
  password.mutability = Mutability::WriteOnly;
  password.returned = Returned::Never;
  s.attributes.push_back(password);
  s.attributes.push_back(MultiValued("emails", "Email addresses for the user.", {"work", "home", "other"}));
  s.attributes.push_back(MultiValued("phoneNumbers", "Phone numbers for the User.", {"work", "home", "mobile", "fax", "pager", "other"}));
  s.attributes.push_back(MultiValued("ims", "Instant messaging addresses for the User.", {"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"}));
  s.attributes.push_back(MultiValued("photos", "URLs of photos of the User.", {"photo", "thumbnail"}, AttrType::Reference));
  s.attributes.push_back(Complex("addresses", "A physical mailing address for this User.",
      {Str("formatted", "The full mailing address, formatted for display or use with a mailing label."),
       Str("streetAddress", "The full street address component."), Str("locality", "The city or locality component."),
       Str("region", "The state or region component."), Str("postalCode", "The zip code or postal code component."),
       Str("country", "The country name component."),
       Canon(Str("type", "A label indicating the attribute's function."), {"work", "home", "other"}),
       Typed("primary", AttrType::Boolean, "Indicates the 'primary' or preferred address.")}, true));
  AttributeDef groups = ReadOnly(Complex("groups", "A list of groups to which the user belongs.",
      {ReadOnly(Str("value", "The identifier of the User's group.", true)),
       ReadOnly(Ref("$ref", {"Group"}, "The URI of the corresponding 'Group' resource.")),
       ReadOnly(Str("display", "A human-readable name, primarily used for display purposes.")),
       ReadOnly(Canon(Str("type", "A label indicating the attribute's function."), {"direct", "indirect"}))}, true));
  s.attributes.push_back(groups);
  s.attributes.push_back(MultiValued("entitlements", "A list of entitlements for the User.", {}));
  s.attributes.push_back(MultiValued("roles", "A list of roles for the User.", {}));
  s.attributes.push_back(MultiValued("x509Certificates", "A list of certificates issued to the User.", {}, AttrType::Binary));
  return s;
}

SchemaDef BuildEnterprise() {
  SchemaDef s{kEnterpriseUrn, "EnterpriseUser", "Enterprise User", {}};
  for (const char* n : {"employeeNumber", "costCenter", "organization", "division", "department"})
    s.attributes.push_back(Str(n, std::string("The user's ") + n + "."));
  s.attributes.push_back(Complex("manager", "The User's manager.",
      {Ref("value", {"User"}, "The id of the SCIM resource representing the User's manager."),
       Ref("$ref", {"User"}, "The URI of the SCIM resource representing the User's manager."),
       ReadOnly(Str("displayName", "The displayName of the User's manager."))}, false));
  s.attributes.back().subs[0].type = AttrType::String;
  return s;
}

SchemaDef BuildGroup() {
  SchemaDef s{kGroupUrn, "Group", "Group", {}};
  AttributeDef display = Str("displayName", "A human-readable name for the Group.");
  display.required = true;
  s.attributes.push_back(display);
  AttributeDef value = Str("value", "Identifier of the member of this Group.", true);
  value.mutability = Mutability::Immutable;
  AttributeDef ref = Ref("$ref", {"User", "Group"}, "The URI corresponding to a SCIM resource that is a member of this Group.");
  ref.mutability = Mutability::Immutable;
  AttributeDef type = Canon(Str("type", "A label indicating the type of resource, e.g., 'User' or 'Group'."), {"User", "Group"});
  type.mutability = Mutability::Immutable;
  s.attributes.push_back(Complex("members", "A list of members of the Group.",
      {value, ref, ReadOnly(Str("display", "A human-readable name of the member.")), type}, true));
  return s;
}

}  // namespace

const SchemaDef& CommonAttributes() { static const SchemaDef s = BuildCommon(); return s; }
const SchemaDef& UserSchema() { static const SchemaDef s = BuildUser(); return s; }
const SchemaDef& EnterpriseUserSchema() { static const SchemaDef s = BuildEnterprise(); return s; }
const SchemaDef& GroupSchema() { static const SchemaDef s = BuildGroup(); return s; }

const ResourceTypeDef& UserType() {
  static const ResourceTypeDef t{ResourceKind::User, "User", "/Users", &UserSchema(), {&EnterpriseUserSchema()}};
  return t;
}
const ResourceTypeDef& GroupType() {
  static const ResourceTypeDef t{ResourceKind::Group, "Group", "/Groups", &GroupSchema(), {}};
  return t;
}
const ResourceTypeDef& TypeOf(ResourceKind kind) { return kind == ResourceKind::User ? UserType() : GroupType(); }

ResolvedAttr Resolve(const ResourceTypeDef& type, const std::string& schema_urn, const std::string& attr,
                     const std::string& sub, const char* invalid_type) {
  ResolvedAttr r;
  auto fail = [&]() {
    std::string full = (schema_urn.empty() ? "" : schema_urn + ":") + attr + (sub.empty() ? "" : "." + sub);
    return ScimError(400, invalid_type, "unknown attribute '" + full + "' for resource type " + type.name);
  };
  if (!schema_urn.empty()) {
    r.schema = type.SchemaFor(schema_urn);
    if (!r.schema) throw fail();
    r.extension = r.schema != type.core;
    r.attr = r.schema->Find(attr);
    if (!r.attr && !r.extension) {
      r.attr = CommonAttributes().Find(attr);
      if (r.attr) r.schema = &CommonAttributes();
    }
  } else {
    r.schema = type.core;
    r.attr = type.core->Find(attr);
    if (!r.attr) {
      r.attr = CommonAttributes().Find(attr);
      r.schema = &CommonAttributes();
    }
  }
  if (!r.attr) throw fail();
  if (!sub.empty()) {
    r.sub = r.attr->Sub(sub);
    if (!r.sub) throw fail();
  }
  return r;
}

const char* TypeName(AttrType t) {
  switch (t) {
    case AttrType::String: return "string";
    case AttrType::Boolean: return "boolean";
    case AttrType::Decimal: return "decimal";
    case AttrType::Integer: return "integer";
    case AttrType::DateTime: return "dateTime";
    case AttrType::Reference: return "reference";
    case AttrType::Complex: return "complex";
    case AttrType::Binary: return "binary";
  }
  return "string";
}
const char* MutabilityName(Mutability m) {
  switch (m) {
    case Mutability::ReadOnly: return "readOnly";
    case Mutability::ReadWrite: return "readWrite";
    case Mutability::Immutable: return "immutable";
    case Mutability::WriteOnly: return "writeOnly";
  }
  return "readWrite";
}
const char* ReturnedName(Returned r) {
  switch (r) {
    case Returned::Always: return "always";
    case Returned::Never: return "never";
    case Returned::Default: return "default";
    case Returned::Request: return "request";
  }
  return "default";
}
const char* UniquenessName(Uniqueness u) {
  switch (u) {
    case Uniqueness::None: return "none";
    case Uniqueness::Server: return "server";
    case Uniqueness::Global: return "global";
  }
  return "none";
}

namespace {

nlohmann::json AttributeToJson(const AttributeDef& a) {
  nlohmann::json j = {{"name", a.name},
                      {"type", TypeName(a.type)},
                      {"multiValued", a.multi},
                      {"description", a.description},
                      {"required", a.required},
                      {"caseExact", a.case_exact},
                      {"mutability", MutabilityName(a.mutability)},
                      {"returned", ReturnedName(a.returned)},
                      {"uniqueness", UniquenessName(a.uniqueness)}};
  if (!a.canonical.empty()) j["canonicalValues"] = a.canonical;
  if (!a.reference_types.empty()) j["referenceTypes"] = a.reference_types;
  if (a.type == AttrType::Complex) {
    j["subAttributes"] = nlohmann::json::array();
    for (const auto& s : a.subs) j["subAttributes"].push_back(AttributeToJson(s));
  }
  return j;
}

}  // namespace

nlohmann::json SchemaToJson(const SchemaDef& schema, const std::string& base_url) {
  nlohmann::json attrs = nlohmann::json::array();
  for (const auto& a : schema.attributes) attrs.push_back(AttributeToJson(a));
  return {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Schema"}},
          {"id", schema.id},
          {"name", schema.name},
          {"description", schema.description},
          {"attributes", attrs},
          {"meta", {{"resourceType", "Schema"}, {"location", base_url + "/Schemas/" + schema.id}}}};
}

nlohmann::json ResourceTypeToJson(const ResourceTypeDef& type, const std::string& base_url) {
  nlohmann::json ext = nlohmann::json::array();
  for (const auto* e : type.extensions) ext.push_back({{"schema", e->id}, {"required", false}});
  return {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
          {"id", type.name},
          {"name", type.name},
          {"endpoint", type.endpoint},
          {"description", type.name == "User" ? "User Account" : "Group"},
          {"schema", type.core->id},
          {"schemaExtensions", ext},
          {"meta", {{"resourceType", "ResourceType"}, {"location", base_url + "/ResourceTypes/" + type.name}}}};
}

}  // namespace scimitar::scim
