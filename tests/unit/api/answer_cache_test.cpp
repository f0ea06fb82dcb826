// The cache of answers keyed by the versions of their data.
#include "api/answer_cache.h"

#include <gtest/gtest.h>

namespace cronkit::api {
namespace {

TEST(AnswerCache, GivesAnAnswerOnlyWhileItsVersionsStand) {
  AnswerCache cache;
  const AnswerCache::Versions v{3, 7};
  EXPECT_FALSE(cache.find("/tasks?page=1", v));
  cache.put("/tasks?page=1", v, "page one");
  EXPECT_EQ(cache.find("/tasks?page=1", v), "page one");
  EXPECT_FALSE(cache.find("/tasks?page=2", v)) << "another key";
  EXPECT_FALSE(cache.find("/tasks?page=1", {4, 7})) << "the store changed";
  EXPECT_FALSE(cache.find("/tasks?page=1", {3, 8})) << "the schedule changed";
  cache.put("/tasks?page=1", {4, 7}, "page one, again");
  EXPECT_EQ(cache.find("/tasks?page=1", {4, 7}), "page one, again");
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 4u);
}

TEST(AnswerCache, WhenFullDropsAnswersOfOlderVersionsFirst) {
  AnswerCache cache{3};
  cache.put("a", {1, 1}, "a1");
  cache.put("b", {2, 1}, "b2");
  cache.put("c", {2, 1}, "c2");
  cache.put("d", {2, 1}, "d2");  // full: "a" was built from older versions
  EXPECT_FALSE(cache.find("a", {1, 1}));
  EXPECT_EQ(cache.find("b", {2, 1}), "b2");
  EXPECT_EQ(cache.find("d", {2, 1}), "d2");
  cache.put("e", {2, 1}, "e2");  // full of current answers: starts over
  EXPECT_EQ(cache.find("e", {2, 1}), "e2");
  EXPECT_FALSE(cache.find("b", {2, 1}));
}

}  // namespace
}  // namespace cronkit::api
