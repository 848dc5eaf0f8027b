// What the rules decide for a user, seen from the core: an interface the core calls and something
// outside the core implements (the Python bridge). The core knows nothing of Python.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scimitar {

// Everything a decision may depend on: a decision is a pure function of this.
struct DecisionInput {
  std::string org;                               // organization slug
  std::map<std::string, std::string> settings;   // the organization's settings
  long long settings_revision = 0;               // ...at this revision (changes of decision inputs count)
  std::string now;                               // ISO 8601 UTC, the injected clock
  std::string user_id;
  std::string user_name;                         // the user's userName
  std::string user;                              // the stored SCIM attributes: a JSON object, as text
  nlohmann::json groups = nlohmann::json::array();  // [{"id","display"}] direct IdP groups
};

// Thread-safety: DecideMany and Transform are called concurrently from request threads, mostly inside
// write transactions; implementations must be thread-safe, bounded in time, and must not call the Store.
class DecisionMaker {
 public:
  virtual ~DecisionMaker() = default;

  // What the rules answered for several users, in order, in one crossing into the rules. Each is
  // the text of one JSON object, an evaluation: each decide rule's answer in order, the app groups
  // the group_name rule gives, and the inputs the rules read, or {"error", "version"} when the
  // engine failed (the shape is in decisions/combine.h). The core combines it into the decision
  // (decisions::Combine); the rules never do. Never throws.
  virtual std::vector<std::string> DecideMany(const std::vector<DecisionInput>& inputs) = 0;

  // Whether the organization's rules transform "User" or "Group" payloads at all; when false,
  // Transform returns its input and callers may skip it.
  virtual bool HasTransforms(const std::string& org, const std::string& resource_type) = 0;

  // Inbound payload of a "User" or "Group" write, before validation, with the organization's
  // settings. Returns it (possibly changed); throws ScimError 400 when a rule rejects the write.
  virtual nlohmann::json Transform(const std::string& org, const std::string& resource_type,
                                   const nlohmann::json& resource,
                                   const std::map<std::string, std::string>& settings) = 0;
};

}  // namespace scimitar
