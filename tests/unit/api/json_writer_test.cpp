// The JSON writer against Boost.JSON: the same text for every string, and output that
// parses back to what was written.
#include "api/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace cronkit::api {
namespace {

namespace json = boost::json;

std::string written(std::string_view s) {
  std::string out;
  JsonWriter{out}.value(s);
  return out;
}

TEST(JsonWriter, EscapesEveryByteAsBoostJsonDoes) {
  std::string all;
  for (int c = 1; c < 0x80; ++c)
    all += static_cast<char>(c);
  EXPECT_EQ(written(all), json::serialize(json::string_view(all)));
  for (std::string_view s : {"", "plain", "quote \" and \\ backslash", "tab\tnew\nline\r",
                             "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "a/b"}) {
    EXPECT_EQ(written(s), json::serialize(json::string_view(s))) << s;
  }
  EXPECT_EQ(written(std::string_view("nul\0byte", 8)), R"("nul\u0000byte")");
}

TEST(JsonWriter, PlacesCommasAndParsesBack) {
  std::string out;
  JsonWriter w{out};
  w.begin_object();
  w.key("list").begin_array();
  for (int i = 0; i < 3; ++i) {
    w.begin_object().key("i").value(i).key("odd").value(i % 2 == 1).end_object();
  }
  w.end_array();
  w.key("empty").begin_array().end_array();
  w.key("none").begin_object().end_object();
  w.key("text").value(std::optional<std::string>{"x"});
  w.key("missing").value(std::optional<std::string>{});
  w.key("big").value(std::int64_t{-9007199254740993});
  w.key("count").value(std::optional<std::int64_t>{7});
  w.key("raw").raw(R"({"a":[1,2]})");
  w.end_object();
  EXPECT_EQ(json::parse(out), json::parse(R"({
    "list": [{"i": 0, "odd": false}, {"i": 1, "odd": true}, {"i": 2, "odd": false}],
    "empty": [], "none": {}, "text": "x", "missing": null, "big": -9007199254740993,
    "count": 7, "raw": {"a": [1, 2]}
  })"));
  EXPECT_EQ(out.find(' '), std::string::npos) << "compact: " << out;
}

}  // namespace
}  // namespace cronkit::api
