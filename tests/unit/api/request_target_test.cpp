// The checks every request target passes before any route sees it.
#include "api/request_target.h"

#include <gtest/gtest.h>

namespace cronkit::api {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(RequestTarget, SplitsThePathFromTheDecodedQuery) {
  auto t = parse_request_target("/api/scheduler/tasks?page=2&name=nightly+backup&x=%C3%A9&flag&&");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->path, "/api/scheduler/tasks");
  EXPECT_EQ(t->query,
            (Query{{"page", "2"}, {"name", "nightly backup"}, {"x", "\xC3\xA9"}, {"flag", ""}}));
  auto bare = parse_request_target("/healthz");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/healthz");
  EXPECT_TRUE(bare->query.empty());
  EXPECT_TRUE(parse_request_target("/"));
}

TEST(RequestTarget, KeepsThePathAsItCame) {
  // Escapes in a path are checked, not decoded: the routes compare the text as sent.
  auto t = parse_request_target("/api/scheduler/tasks/a%20b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/scheduler/tasks/a%20b");
}

TEST(RequestTarget, RefusesWhatAnotherServerMightReadDifferently) {
  const std::pair<const char*, const char*> refused[] = {
      {"api/scheduler/tasks", "must be a path starting with /"},
      {"http://example.com/api/scheduler/tasks", "must be a path starting with /"},
      {"*", "must be a path starting with /"},
      {"/api/scheduler/../tasks", ". or .. segment"},
      {"/api/scheduler/./tasks", ". or .. segment"},
      {"/api/scheduler/%2e%2e/tasks", ". or .. segment"},
      {"/api/scheduler/tasks/..", ". or .. segment"},
      {"/api/scheduler%2ftasks", "encoded slash"},
      {"/api/scheduler%5Ctasks", "encoded slash"},
      {"/api\\scheduler", "character it may not"},
      {"/api/sched uler", "character it may not"},
      {"/api/\x7f", "character it may not"},
      {"/api/\xC3\xA9", "character it may not"},
      {"/api/%00", "broken or forbidden escape"},
      {"/api/%0a", "broken or forbidden escape"},
      {"/api/%zz", "broken or forbidden escape"},
      {"/api/%4", "broken or forbidden escape"},
      {"/api/%C3%28", "broken or forbidden escape"},
  };
  for (const auto& [target, reason] : refused) {
    auto t = parse_request_target(target);
    ASSERT_FALSE(t) << target;
    EXPECT_NE(t.error().find(reason), std::string::npos) << target << ": " << t.error();
  }
}

TEST(RequestTarget, RefusesQueryTextThatIsNotCleanUtf8) {
  for (const char* target :
       {"/x?name=%ff", "/x?name=%C0%80", "/x?name=%ED%A0%80", "/x?name=%F4%90%80%80", "/x?name=%01",
        "/x?%0a=1", "/x?name=%", "/x?name=%g1"}) {
    auto t = parse_request_target(target);
    ASSERT_FALSE(t) << target;
    EXPECT_EQ(t.error(),
              "malformed query string: broken escape, invalid UTF-8 or a control character");
  }
}

TEST(RequestTarget, DecodesEscapesAndPlusOnlyInQueries) {
  EXPECT_EQ(percent_decode("a+b%20c", true), "a b c");
  EXPECT_EQ(percent_decode("a+b%20c", false), "a+b c");
  EXPECT_EQ(percent_decode("%41%6a", false), "Aj");
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("ab%2", false));
  EXPECT_FALSE(percent_decode("%x1", false));
}

TEST(RequestTarget, SplitsAtEverySeparator) {
  EXPECT_EQ(split("/a/b", '/'), (std::vector<std::string_view>{"", "a", "b"}));
  EXPECT_EQ(split("a&&b", '&'), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split("", '&'), (std::vector<std::string_view>{""}));
}

}  // namespace
}  // namespace cronkit::api
