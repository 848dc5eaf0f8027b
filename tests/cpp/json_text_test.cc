#include "scim/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "scimitar/error.h"

using namespace scimitar::scim;
using scimitar::ScimError;
using json = nlohmann::json;

TEST(JsonText, SplitsAnObjectIntoItsMembersWithoutParsingValues) {
  // Spaced as PostgreSQL prints jsonb; strings hold braces, brackets, commas and escaped quotes.
  const std::string text =
      R"( { "a" : 1 , "b\"q" : {"x": ["}", "]", "\\"]}, "c": "{,}\"", "d": [ 1, {"e": null} ], "f": -2.5e3, "g": true } )";
  auto members = ObjectMembers(text);
  ASSERT_EQ(members.size(), 6u);
  EXPECT_EQ(members[0].first, "a");
  EXPECT_EQ(members[0].second, "1");
  EXPECT_EQ(members[1].first, "b\"q");
  EXPECT_EQ(json::parse(members[1].second), json::parse(R"({"x": ["}", "]", "\\"]})"));
  EXPECT_EQ(members[2].second, R"("{,}\"")");
  EXPECT_EQ(json::parse(members[3].second), json::parse("[1, {\"e\": null}]"));
  EXPECT_EQ(members[4].second, "-2.5e3");
  EXPECT_EQ(members[5].second, "true");
  // Runs of backslashes before a quote: odd escapes it, even ends the string.
  auto escapes = ObjectMembers(R"({"a": "x\\\"y", "b": "z\\\\", "c": "\\", "d": 1})");
  ASSERT_EQ(escapes.size(), 4u);
  EXPECT_EQ(escapes[0].second, R"("x\\\"y")");
  EXPECT_EQ(escapes[1].second, R"("z\\\\")");
  EXPECT_EQ(escapes[2].second, R"("\\")");
  EXPECT_EQ(escapes[3].second, "1");
  EXPECT_TRUE(ObjectMembers("{}").empty());
  EXPECT_THROW(ObjectMembers("[1]"), std::runtime_error);
  EXPECT_THROW(ObjectMembers(R"({"a": "unterminated})"), std::runtime_error);
  EXPECT_THROW(ObjectMembers(R"({"a" 1})"), std::runtime_error);
}

TEST(JsonText, QuotesStringsAsTheJsonLibraryDoes) {
  for (const std::string& s : {std::string("plain"), std::string("quote \" and \\ slash"), std::string("tab\tnl\nnul\x01", 13),
                              std::string("caf\xc3\xa9 \xe2\x82\xac"), std::string("bad \xff utf8")}) {
    std::string out;
    AppendQuoted(out, s);
    EXPECT_EQ(out, json(s).dump(-1, ' ', false, json::error_handler_t::replace)) << s;
  }
}

TEST(JsonText, DumpsValuesByteForByteAsTheJsonLibraryDoes) {
  const json values = json::parse(R"([
    {}, [], null, true, false, 0, -1, 9223372036854775807, -9223372036854775808, 18446744073709551615,
    1.5, -0.0, 1e300, 3.0, 0.1, "", "plain", "quote \" slash \\ tab \t nl \n \u0001 \u001f \u007f",
    "caf\u00e9 \u20ac \ud83d\ude00",
    {"b": 1, "a": [1, {"z": null, "y": [true, "x"]}], "A": {"": ""}, "caf\u00e9": "k\"ey"}
  ])");
  for (const auto& v : values) EXPECT_EQ(DumpJson(v), v.dump(-1, ' ', false, json::error_handler_t::replace)) << v;
  EXPECT_EQ(DumpJson(values), values.dump(-1, ' ', false, json::error_handler_t::replace));
  json bad = {{"bad \xff key", {"bad \xc3 value", std::string("nul\0in", 6)}}};
  EXPECT_EQ(DumpJson(bad), bad.dump(-1, ' ', false, json::error_handler_t::replace));
}

TEST(JsonText, WritesMembersInKeyOrder) {
  ObjectWriter w;
  w.Add("b", "2");
  w.Add("$ref", "\"r\"");
  w.Add("A", "[1]");
  w.Add("a\"", "{}");
  EXPECT_EQ(w.Finish(), R"({"$ref":"r","A":[1],"a\"":{},"b":2})");
}

TEST(JsonText, SplitsArraysAndUnquotesStrings) {
  // As SQLite's json_group_array and PostgreSQL's json_agg print a user's groups.
  auto rows = ArrayElements(R"([[12,"g1","Group","Ops \"A\""], [3, "g2", "Group", "caf\u00e9"]])");
  ASSERT_EQ(rows.size(), 2u);
  auto first = ArrayElements(rows[0]);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0], "12");
  EXPECT_EQ(Unquoted(first[1]), "g1");
  EXPECT_EQ(Unquoted(first[3]), "Ops \"A\"");
  EXPECT_EQ(Unquoted(ArrayElements(rows[1])[3]), "caf\xc3\xa9");
  EXPECT_TRUE(ArrayElements(" [ ] ").empty());
  EXPECT_THROW(ArrayElements("{}"), std::runtime_error);
  EXPECT_THROW(Unquoted("plain"), std::runtime_error);
}

TEST(JsonText, ParsesOneValueAsTheJsonLibraryDoes) {
  for (const char* text : {"null", "true", "false", "[]", "\"plain\"", "\"tab\\tand \\u00e9\"", "\"\"", "12", "-1.5",
                           "[\"a\",{\"b\":null}]", "{\"k\":[1,2]}", " [ ] "})
    EXPECT_EQ(ParseValue(text), nlohmann::json::parse(text)) << text;
  EXPECT_THROW(ParseValue("nul"), nlohmann::json::parse_error);
  EXPECT_THROW(ParseValue("\"open"), nlohmann::json::parse_error);
  EXPECT_THROW(ParseValue("\"a\"b\""), nlohmann::json::parse_error);
  EXPECT_THROW(ParseValue("\"raw\nnewline\""), nlohmann::json::parse_error);
  EXPECT_EQ(ParseValue("\"Zo\xc3\xab\""), "Zo\xc3\xab");
}

TEST(JsonText, UntrustedTextIsRefusedPastTheNestingLimitWithoutRecursion) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_EQ(NestingDepth(deep, 64), 65);  // stops counting past the limit
  EXPECT_EQ(NestingDepth(R"({"a":"[[[[{{{{","b":[{"c":"\"]["}]})", 64), 3);
  try {
    ParseUntrusted(deep, 64);
    ADD_FAILURE() << "no error";
  } catch (const ScimError& e) {
    EXPECT_EQ(e.scim_type(), "invalidSyntax");
    EXPECT_NE(std::string(e.what()).find("64"), std::string::npos);
  }
  EXPECT_EQ(ParseUntrusted(std::string(64, '[') + std::string(64, ']'), 64).size(), 1u);
  EXPECT_THROW(ParseUntrusted("{\"a\":", 64), ScimError);
}
