#include "scim/filter.h"

#include <gtest/gtest.h>

#include "scimitar/error.h"

using namespace scimitar;
using namespace scimitar::scim;

namespace {

std::string ErrorOf(const std::string& f) {
  try {
    ParseFilter(f);
  } catch (const ScimError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.scim_type(), "invalidFilter");
    return e.what();
  }
  ADD_FAILURE() << "no error for " << f;
  return "";
}

}  // namespace

TEST(Filter, ParsesComparisonWithCaseInsensitiveOperator) {
  Filter f = ParseFilter("userName EQ \"bjensen\"");
  ASSERT_EQ(f->kind, FilterNode::Kind::Compare);
  EXPECT_EQ(f->path.attr, "userName");
  EXPECT_EQ(f->op, CompareOp::Eq);
  EXPECT_EQ(f->value, "bjensen");
}

TEST(Filter, AndBindsTighterThanOr) {
  Filter f = ParseFilter("a eq 1 or b eq 2 and c eq 3");
  ASSERT_EQ(f->kind, FilterNode::Kind::Or);
  EXPECT_EQ(f->left->path.attr, "a");
  ASSERT_EQ(f->right->kind, FilterNode::Kind::And);
  EXPECT_EQ(f->right->left->path.attr, "b");
}

TEST(Filter, ParenthesesAndNot) {
  Filter f = ParseFilter("not (a pr) and (b eq true or c eq null)");
  ASSERT_EQ(f->kind, FilterNode::Kind::And);
  EXPECT_EQ(f->left->kind, FilterNode::Kind::Not);
  EXPECT_EQ(f->left->left->op, CompareOp::Pr);
  EXPECT_EQ(f->right->kind, FilterNode::Kind::Or);
  EXPECT_EQ(f->right->left->value, true);
  EXPECT_TRUE(f->right->right->value.is_null());
}

TEST(Filter, SchemaPrefixedPathAndSubAttribute) {
  Filter f = ParseFilter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"x\"");
  EXPECT_EQ(f->path.schema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
  EXPECT_EQ(f->path.attr, "manager");
  EXPECT_EQ(f->path.sub, "value");
}

TEST(Filter, ValuePath) {
  Filter f = ParseFilter("emails[type eq \"work\" and value co \"@example.com\"] or userName sw \"a\"");
  ASSERT_EQ(f->kind, FilterNode::Kind::Or);
  ASSERT_EQ(f->left->kind, FilterNode::Kind::ValuePath);
  EXPECT_EQ(f->left->path.attr, "emails");
  EXPECT_EQ(f->left->left->kind, FilterNode::Kind::And);
}

TEST(Filter, NumbersAndEscapes) {
  EXPECT_EQ(ParseFilter("x gt 10")->value, 10);
  EXPECT_DOUBLE_EQ(ParseFilter("x le 1.5")->value.get<double>(), 1.5);
  EXPECT_EQ(ParseFilter("x eq \"say \\\"hi\\\"\"")->value, "say \"hi\"");
}

TEST(Filter, ErrorsNameThePosition) {
  EXPECT_NE(ErrorOf("userName eq").find("position 12"), std::string::npos);
  EXPECT_NE(ErrorOf("userName zz \"a\"").find("unknown operator 'zz'"), std::string::npos);
  EXPECT_NE(ErrorOf("(userName eq \"a\"").find("expected ')'"), std::string::npos);
  EXPECT_NE(ErrorOf("userName eq \"a").find("unterminated"), std::string::npos);
  EXPECT_NE(ErrorOf("userName eq \"a\" xx").find("unexpected"), std::string::npos);
  ErrorOf("");
}

TEST(Filter, LimitsLengthAndDepth) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "(";
  deep += "a pr";
  for (int i = 0; i < 100; ++i) deep += ")";
  EXPECT_NE(ErrorOf(deep).find("nested too deeply"), std::string::npos);
  EXPECT_NE(ErrorOf("a eq \"" + std::string(5000, 'x') + "\"").find("longer than"), std::string::npos);
}

TEST(Filter, PatchPathWithFilterAndSubAttribute) {
  PatchPath p = ParsePatchPath("emails[type eq \"work\"].value");
  EXPECT_EQ(p.path.attr, "emails");
  ASSERT_TRUE(p.filter);
  EXPECT_EQ(p.sub_after, "value");
  PatchPath q = ParsePatchPath("members[value eq \"2819c223\"]");
  EXPECT_EQ(q.path.attr, "members");
  EXPECT_TRUE(q.sub_after.empty());
  EXPECT_THROW(ParsePatchPath("emails[type eq \"work\""), ScimError);
}

TEST(Filter, MatchesElementIsCaseInsensitiveByDefault) {
  Filter f = ParseFilter("type eq \"WORK\" and value ew \"@example.com\"");
  EXPECT_TRUE(MatchesElement(*f, {{"type", "work"}, {"value", "a@EXAMPLE.com"}}));
  EXPECT_FALSE(MatchesElement(*f, {{"type", "home"}, {"value", "a@example.com"}}));
}

TEST(Filter, AttributePathAfterAValueFilterJoinsTheFilter) {
  // Entra ID and Microsoft's SCIM tutorial: emails[type eq "work"].value eq "x".
  Filter f = ParseFilter("emails[type eq \"work\"].value eq \"x@y.test\"");
  ASSERT_EQ(f->kind, FilterNode::Kind::ValuePath);
  EXPECT_EQ(f->path.attr, "emails");
  ASSERT_EQ(f->left->kind, FilterNode::Kind::And);
  EXPECT_EQ(f->left->left->path.attr, "type");
  EXPECT_EQ(f->left->right->path.attr, "value");
  EXPECT_EQ(f->left->right->value, "x@y.test");
  EXPECT_NE(ErrorOf("emails[type eq \"work\"].value.more eq \"x\"").find("sub-attribute"), std::string::npos);
  EXPECT_NE(ErrorOf("emails[type eq \"work\"].value").find("operator"), std::string::npos);
}
