// The in-memory count of the last 24 hours of executions.
#include "store/execution_window.h"

#include <gtest/gtest.h>

namespace cronkit::store {
namespace {

constexpr Millis kSecond = 1000;
constexpr Millis kDay = 86400 * kSecond;

TEST(ExecutionWindow, CountsTheNewestSecondAndThe86399Before) {
  ExecutionWindow w;
  const Millis now = 100 * kDay + 500;
  w.reset(ExecutionWindow::second_of(now));
  w.add(now, 1, 0);
  w.add(now - kDay + 1000, 1, 1);  // the oldest second inside: counted
  w.add(now - kDay, 1, 1);         // a day ago to the millisecond: a second too old
  EXPECT_EQ(w.counts().executions, 2);
  EXPECT_EQ(w.counts().failures, 1);
  EXPECT_EQ(w.start(), (now / 1000 - 86399) * 1000);

  ASSERT_TRUE(w.advance(now + 1000));  // the oldest second leaves
  EXPECT_EQ(w.counts().executions, 1);
  EXPECT_EQ(w.counts().failures, 0);
  ASSERT_TRUE(w.advance(now + kDay));
  EXPECT_EQ(w.counts().executions, 0);
}

TEST(ExecutionWindow, MovesForwardWithNewerExecutionsAndUncounts) {
  ExecutionWindow w;
  w.reset(0);
  w.add(5 * kSecond, 1, 0);
  w.add(3 * kDay, 1, 1);  // jumps: everything before leaves
  EXPECT_EQ(w.newest_second(), 3 * 86400);
  EXPECT_EQ(w.counts().executions, 1);
  w.add(3 * kDay, -1, -1);  // the task was deleted
  EXPECT_EQ(w.counts().executions, 0);
  EXPECT_EQ(w.counts().failures, 0);
  w.add(3 * kDay - 10 * kSecond, 0, 1);  // a failure recorded late, in an older second
  EXPECT_EQ(w.counts().failures, 1);
}

TEST(ExecutionWindow, AClockFarBehindAsksForARebuild) {
  ExecutionWindow w;
  w.reset(1000);
  EXPECT_TRUE(w.advance(1000 * kSecond - ExecutionWindow::kToleratedSkew * kSecond));
  EXPECT_EQ(w.newest_second(), 1000) << "a reader slightly behind a writer moves nothing";
  EXPECT_FALSE(w.advance(990 * kSecond));
}

TEST(ExecutionWindow, NegativeTimesFallInTheirOwnSecond) {
  EXPECT_EQ(ExecutionWindow::second_of(-1), -1);
  EXPECT_EQ(ExecutionWindow::second_of(-1000), -1);
  EXPECT_EQ(ExecutionWindow::second_of(-1001), -2);
  EXPECT_EQ(ExecutionWindow::second_of(999), 0);
}

}  // namespace
}  // namespace cronkit::store
