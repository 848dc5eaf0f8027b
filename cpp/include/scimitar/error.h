// SCIM errors (RFC 7644 section 3.12). Every failure the core reports to a client is a ScimError;
// the HTTP adapter turns it into an application/scim+json error document, the Python bindings into
// scimitar.ScimError. Immutable value type; safe to copy across threads.
#pragma once

#include <stdexcept>
#include <string>

namespace scimitar {

class ScimError : public std::runtime_error {
 public:
  ScimError(int status, std::string scim_type, const std::string& detail)
      : std::runtime_error(detail), status_(status), scim_type_(std::move(scim_type)) {}

  int status() const { return status_; }
  // Empty when RFC 7644 defines no scimType for the status.
  const std::string& scim_type() const { return scim_type_; }

 private:
  int status_;
  std::string scim_type_;
};

inline ScimError InvalidValue(const std::string& d) { return {400, "invalidValue", d}; }
inline ScimError InvalidSyntax(const std::string& d) { return {400, "invalidSyntax", d}; }
inline ScimError InvalidFilter(const std::string& d) { return {400, "invalidFilter", d}; }
inline ScimError InvalidPath(const std::string& d) { return {400, "invalidPath", d}; }
inline ScimError NoTarget(const std::string& d) { return {400, "noTarget", d}; }
inline ScimError MutabilityError(const std::string& d) { return {400, "mutability", d}; }
inline ScimError NotFound(const std::string& d) { return {404, "", d}; }
inline ScimError Uniqueness(const std::string& d) { return {409, "uniqueness", d}; }
inline ScimError PreconditionFailed(const std::string& d) { return {412, "", d}; }
inline ScimError Unauthorized(const std::string& d) { return {401, "", d}; }

}  // namespace scimitar
