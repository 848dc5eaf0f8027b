#include "py_decision_maker.h"

#include "scim/json_text.h"
#include "scimitar/error.h"

namespace py = pybind11;

namespace scimitar::bridge {

PyDecisionMaker::PyDecisionMaker(py::object engine) : engine_(engine.release().ptr()) {}

PyDecisionMaker::~PyDecisionMaker() {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;  // leak rather than touch a dying interpreter
  py::gil_scoped_acquire gil;
  Py_DECREF(engine_);
}

std::string UserJson(const DecisionInput& in) {
  std::string out = "{\"doc\":";
  out += in.user;
  out += ",\"groups\":";
  out += scimitar::scim::DumpJson(in.groups);
  out += ",\"id\":";
  scimitar::scim::AppendQuoted(out, in.user_id);
  out += '}';
  return out;
}

// Calls engine.<method>(text) under the GIL; returns the answer, or "" with `error` set.
std::string PyDecisionMaker::CallJson(const char* method, const std::string& text, std::string& error) {
  py::gil_scoped_acquire gil;
  try {
    return py::reinterpret_borrow<py::object>(engine_).attr(method)(text).cast<std::string>();
  } catch (py::error_already_set& e) {
    error = std::string("rules engine failed: ") + e.what();
  } catch (const std::exception& e) {
    error = std::string("rules engine failed: ") + e.what();
  }
  return {};
}

std::vector<std::string> PyDecisionMaker::DecideMany(const std::vector<DecisionInput>& inputs) {
  // One call per run of inputs sharing organization, settings and clock (in practice: the whole batch).
  std::vector<std::string> out;
  out.reserve(inputs.size());
  size_t at = 0;
  while (at < inputs.size()) {
    const DecisionInput& first = inputs[at];
    std::string users = "[";
    size_t end = at;
    for (; end < inputs.size() && inputs[end].org == first.org && inputs[end].settings == first.settings &&
           inputs[end].now == first.now;
         ++end) {
      if (end > at) users += ',';
      users += UserJson(inputs[end]);
    }
    users += ']';
    scimitar::scim::ObjectWriter payload;
    payload.Add("org", scimitar::scim::DumpJson(first.org));
    payload.Add("settings", scimitar::scim::DumpJson(first.settings));
    payload.Add("now", scimitar::scim::DumpJson(first.now));
    payload.Add("users", std::move(users));
    std::string error;
    const std::string answer = CallJson("decide_many_json", payload.Finish(), error);
    std::vector<std::string_view> decisions;
    if (error.empty()) {
      try {
        decisions = scimitar::scim::ArrayElements(answer);
      } catch (const std::runtime_error&) {
      }
      if (decisions.size() != end - at) error = "rules engine returned malformed JSON";
    }
    for (size_t i = at; i < end; ++i)
      out.push_back(error.empty() ? std::string(decisions[i - at]) : scimitar::scim::DumpJson({{"error", error}}));
    at = end;
  }
  return out;
}

bool PyDecisionMaker::HasTransforms(const std::string& org, const std::string& resource_type) {
  py::gil_scoped_acquire gil;
  try {
    return py::reinterpret_borrow<py::object>(engine_).attr("has_transforms")(org, resource_type).cast<bool>();
  } catch (py::error_already_set&) {
    return true;  // let Transform run and report the failure
  }
}

nlohmann::json PyDecisionMaker::Transform(const std::string& org, const std::string& resource_type,
                                          const nlohmann::json& resource,
                                          const std::map<std::string, std::string>& settings) {
  std::string text = scimitar::scim::DumpJson(resource);
  const std::string settings_text = scimitar::scim::DumpJson(nlohmann::json(settings));
  std::string answer;
  {
    py::gil_scoped_acquire gil;
    try {
      answer = py::reinterpret_borrow<py::object>(engine_)
                   .attr("transform_json")(org, resource_type, text, settings_text)
                   .cast<std::string>();
    } catch (py::error_already_set& e) {
      // Reject (and any failing transform) refuses the write with 400; the detail is the rule's message.
      std::string message = py::str(e.value()).cast<std::string>();
      if (e.matches(py::module_::import("scimitar.engine").attr("RulesUnavailable")))
        throw ScimError(503, "", message + "; retry later");
      bool rejected = e.matches(py::module_::import("scimitar.rules").attr("Reject"));
      throw ScimError(400, "invalidValue", rejected ? message : "transform rule failed: " + message);
    }
  }
  nlohmann::json out = nlohmann::json::parse(answer, nullptr, false);
  if (out.is_discarded()) throw ScimError(500, "", "transform rules returned malformed JSON");
  return out;
}

}  // namespace scimitar::bridge
