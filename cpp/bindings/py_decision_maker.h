// DecisionMaker implemented by a Python rules engine object (scimitar.engine.Engine). The GIL is
// taken only around the call into Python; arguments cross as JSON text, so no Python object is
// created or released without the GIL, and every Python exception is converted inside the GIL scope.
#pragma once

#include <pybind11/pybind11.h>

#include "scimitar/decisions.h"

namespace scimitar::bridge {

// {"doc","groups","id"} of `input`'s user as JSON text: the user as the rules engine receives it.
std::string UserJson(const DecisionInput& input);

class PyDecisionMaker final : public DecisionMaker {
 public:
  // `engine` must have decide_many_json(str) -> str, has_transforms(org, type) -> bool and
  // transform_json(org, type, str) -> str.
  // Construct with the GIL held.
  explicit PyDecisionMaker(pybind11::object engine);
  // May run on any thread, with or without the GIL: takes it to drop the reference while the
  // interpreter is alive, and leaks the reference (never crashes) once it is finalizing.
  ~PyDecisionMaker() override;

  std::vector<std::string> DecideMany(const std::vector<DecisionInput>& inputs) override;
  bool HasTransforms(const std::string& org, const std::string& resource_type) override;
  nlohmann::json Transform(const std::string& org, const std::string& resource_type,
                           const nlohmann::json& resource, const std::map<std::string, std::string>& settings) override;

 private:
  std::string CallJson(const char* method, const std::string& text, std::string& error);

  PyObject* engine_;  // owned reference
};

}  // namespace scimitar::bridge
