#include "decisions/outcome.h"

#include <gtest/gtest.h>

using namespace scimitar::decisions;
using json = nlohmann::json;

TEST(Outcome, UnitsAndGroupsAreSets) {
  const json a = OutcomeOf(true, {{"role", "admin"}, {"units", {"eu", "us"}}, {"groups", {"Ops", "Dev"}}});
  const json reordered = OutcomeOf(true, {{"role", "admin"}, {"units", {"us", "eu", "us"}}, {"groups", {"Dev", "Ops"}}});
  EXPECT_TRUE(SameOutcome(a, reordered));
  EXPECT_FALSE(SameOutcome(a, OutcomeOf(true, {{"role", "viewer"}, {"units", {"eu", "us"}}, {"groups", {"Ops", "Dev"}}})));
  EXPECT_FALSE(SameOutcome(a, OutcomeOf(true, {{"role", "admin"}, {"units", {"eu"}}, {"groups", {"Ops", "Dev"}}})));
  EXPECT_FALSE(SameOutcome(a, OutcomeOf(false, {{"role", "admin"}, {"units", {"eu", "us"}}, {"groups", {"Ops", "Dev"}}})));
  EXPECT_TRUE(SameOutcome(OutcomeOf(true, json::object()), OutcomeOf(true, {{"units", json::array()}})));
}

TEST(Outcome, EachChangeHasItsEvent) {
  EXPECT_STREQ(EventFor(false, true, false), "member.provisioned");
  EXPECT_STREQ(EventFor(true, false, false), "member.deprovisioned");
  EXPECT_STREQ(EventFor(true, true, false), "member.changed");
  EXPECT_EQ(EventFor(true, true, true), nullptr);
  EXPECT_EQ(EventFor(false, false, false), nullptr);
}
