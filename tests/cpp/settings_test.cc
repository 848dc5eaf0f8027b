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
