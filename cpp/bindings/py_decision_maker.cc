#include "py_decision_maker.h"

#include "scimitar/error.h"

namespace py = pybind11;

namespace scimitar::bridge {

PyDecisionMaker::PyDecisionMaker(py::object engine) : engine_(engine.release().ptr()) {}

PyDecisionMaker::~PyDecisionMaker() {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;  // leak rather than touch a dying interpreter
  py::gil_scoped_acquire gil;
  Py_DECREF(engine_);
}

nlohmann::json PyDecisionMaker::Decide(const DecisionInput& in) {
  nlohmann::json payload = {{"org", in.org}, {"settings", in.settings}, {"now", in.now},
                            {"user", {{"id", in.user_id}, {"doc", in.user}, {"groups", in.groups}}}};
  std::string text = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string answer;
  {
    py::gil_scoped_acquire gil;
    try {
      answer = py::reinterpret_borrow<py::object>(engine_).attr("decide_json")(text).cast<std::string>();
    } catch (py::error_already_set& e) {
      return {{"error", std::string("rules engine failed: ") + e.what()}};
    } catch (const std::exception& e) {
      return {{"error", std::string("rules engine failed: ") + e.what()}};
    }
  }
  nlohmann::json out = nlohmann::json::parse(answer, nullptr, false);
  if (out.is_discarded() || !out.is_object()) return {{"error", "rules engine returned malformed JSON"}};
  return out;
}

nlohmann::json PyDecisionMaker::Transform(const std::string& org, const std::string& resource_type,
                                          const nlohmann::json& resource) {
  std::string text = resource.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string answer;
  {
    py::gil_scoped_acquire gil;
    try {
      answer = py::reinterpret_borrow<py::object>(engine_)
                   .attr("transform_json")(org, resource_type, text)
                   .cast<std::string>();
    } catch (py::error_already_set& e) {
      // Reject (and any failing transform) refuses the write with 400; the detail is the rule's message.
      std::string message = py::str(e.value()).cast<std::string>();
      bool rejected = e.matches(py::module_::import("scimitar.rules").attr("Reject"));
      throw ScimError(400, "invalidValue", rejected ? message : "transform rule failed: " + message);
    }
  }
  nlohmann::json out = nlohmann::json::parse(answer, nullptr, false);
  if (out.is_discarded()) throw ScimError(500, "", "transform rules returned malformed JSON");
  return out;
}

}  // namespace scimitar::bridge
