#include "api/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace cronkit::api {
namespace {

TEST(JsonBodyTest, AcceptsStrictJson) {
  auto v = parse_json_body(R"({"name":"a","nested":{"name":"b"},"list":[{"x":1},{"x":2}]})");
  ASSERT_TRUE(v.has_value()) << v.error();
  EXPECT_EQ(v->at("nested").at("name").as_string(), "b");
}

TEST(JsonBodyTest, RefusesDuplicateKeysAtAnyDepth) {
  EXPECT_EQ(parse_json_body(R"({"name":"a","name":"b"})").error(), R"(duplicate key "name")");
  EXPECT_EQ(parse_json_body(R"({"a":{"x":1,"y":2,"x":3}})").error(), R"(duplicate key "x")");
  EXPECT_EQ(parse_json_body(R"([{"k":1},{"k":2,"k":3}])").error(), R"(duplicate key "k")");
  EXPECT_EQ(parse_json_body(R"({"":1,"":2})").error(), R"(duplicate key "")");
  // The same key in sibling objects is no duplicate; escapes are compared decoded.
  EXPECT_TRUE(parse_json_body(R"([{"k":1},{"k":2}])").has_value());
  EXPECT_EQ(parse_json_body(R"({"name":1,"n\u0061me":2})").error(), R"(duplicate key "name")");
}

TEST(JsonBodyTest, RefusesMalformedDeepAndNonStandardJson) {
  for (std::string bad :
       {std::string("{\"a\":"), std::string("{\"a\":1,}"), std::string("// c\n{}"),
        std::string("{'a':1}"), std::string("NaN"), std::string("{\"a\":\"\xff\"}"),
        std::string(33, '[') + std::string(33, ']')}) {
    auto v = parse_json_body(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_TRUE(v.error().starts_with("malformed JSON: ")) << v.error();
  }
  EXPECT_TRUE(parse_json_body(std::string(32, '[') + std::string(32, ']')).has_value());
}

TEST(JsonBodyTest, ManyKeysAreCheckedInLinearTime) {
  std::string body = "{";
  for (int i = 0; i < 50000; ++i)
    body += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  body += ",\"k49999\":1}";
  EXPECT_EQ(parse_json_body(body).error(), R"(duplicate key "k49999")");
}

}  // namespace
}  // namespace cronkit::api
