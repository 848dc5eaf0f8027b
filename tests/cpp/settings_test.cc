#include "decisions/settings.h"

#include <gtest/gtest.h>

#include "scimitar/error.h"

using namespace scimitar;
using namespace scimitar::decisions;

namespace {

std::string Refusal(const std::string& key, const std::string& value) {
  try {
    ValidateSetting(key, value);
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.scim_type(), "invalidValue");
    return e.what();
  }
  ADD_FAILURE() << key << "=" << value << " was accepted";
  return "";
}

}  // namespace

TEST(Settings, BuiltinsAcceptOnlyTheirValues) {
  EXPECT_EQ(ValidateSetting("default_policy", " Deny "), "deny");
  EXPECT_EQ(ValidateSetting("scim_sync", "OFF"), "off");
  EXPECT_EQ(ValidateSetting("default_role", " Viewer "), "Viewer");  // free text keeps its case
  EXPECT_NE(Refusal("default_policy", "maybe").find("admit or deny"), std::string::npos);
  EXPECT_NE(Refusal("scim_sync", "disabled").find("on or off"), std::string::npos);
  EXPECT_NE(Refusal("default_role", "  ").find("org unset"), std::string::npos);
}

TEST(Settings, AnyKeyNeedsAWellFormedNameAndAValue) {
  EXPECT_EQ(ValidateSetting("user_group", "Fluid User"), "Fluid User");
  EXPECT_NE(Refusal("User Group", "x").find("setting name"), std::string::npos);
  EXPECT_NE(Refusal("", "x").find("setting name"), std::string::npos);
  Refusal("user_group", "");
  Refusal("user_group", "a\nb");
}

TEST(Settings, EverySettingButTheScimSwitchIsADecisionInput) {
  EXPECT_FALSE(ReadByDecisions("scim_sync"));
  EXPECT_TRUE(ReadByDecisions("default_policy"));
  EXPECT_TRUE(ReadByDecisions("user_group"));  // rules may read any setting
}

TEST(Settings, RuleFilesDeclareTypedSettingsWithDefaults) {
  const auto decls = ParseDeclarations(nlohmann::json::parse(R"([
      {"key": "user_group", "default": "Fluid User", "description": "admission group"},
      {"key": "tier", "choices": ["Gold", "Silver"], "default": "silver"},
      {"key": "seats", "type": "integer", "default": 5},
      {"key": "notify", "type": "boolean", "default": true}])"));
  ASSERT_EQ(decls.size(), 4u);
  EXPECT_EQ(decls[1].default_value, "Silver");  // stored as declared
  EXPECT_EQ(decls[2].default_value, "5");
  EXPECT_EQ(decls[3].default_value, "true");
  EXPECT_EQ(ParseDeclarations(DeclarationsJson(decls))[1].choices, decls[1].choices);

  EXPECT_EQ(ValidateSetting("tier", "GOLD", decls), "Gold");
  EXPECT_EQ(ValidateSetting("seats", " 012 ", decls), "12");
  EXPECT_EQ(ValidateSetting("notify", "off", decls), "false");
  EXPECT_EQ(ValidateSetting("undeclared", "anything", decls), "anything");
  auto refused = [&](const std::string& key, const std::string& value) {
    try {
      ValidateSetting(key, value, decls);
    } catch (const ScimError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(refused("tier", "Bronze").find("Gold or Silver"), std::string::npos);
  EXPECT_NE(refused("seats", "five").find("integer"), std::string::npos);
  EXPECT_NE(refused("seats", "1.5").find("integer"), std::string::npos);
  EXPECT_NE(refused("notify", "maybe").find("true or false"), std::string::npos);
}

TEST(Settings, MalformedDeclarationsAreRefused) {
  for (const char* bad : {R"([{"key": "Bad Key"}])", R"([{"key": "default_role"}])", R"([{"key": "a"}, {"key": "a"}])",
                          R"([{"key": "a", "type": "float"}])", R"([{"key": "a", "choices": []}])",
                          R"([{"key": "a", "type": "integer", "default": "x"}])", R"([{"key": "a", "choices": ["x"], "default": "y"}])",
                          R"({"key": "a"})"}) {
    EXPECT_THROW(ParseDeclarations(nlohmann::json::parse(bad)), ScimError) << bad;
  }
}
