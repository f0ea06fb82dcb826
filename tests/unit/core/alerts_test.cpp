#include "core/alerts.h"

#include <gtest/gtest.h>

namespace cronkit {
namespace {

using S = ExecutionStatus;

struct Rule : testing::Test {
  NotifyRule rule{.channel_id = "c", .on = {NotifyEvent::failure, NotifyEvent::recovery}};
  AlertState state;
  std::optional<NotifyEvent> end(S status, Millis at) {
    return after_execution(rule, state, status, at);
  }
};

TEST_F(Rule, TellsTheFirstFailureOnceAndItsRecovery) {
  EXPECT_EQ(end(S::success, 1), std::nullopt) << "no recovery without a told failure";
  EXPECT_EQ(end(S::failed, 2), NotifyEvent::failure);
  EXPECT_EQ(state, (AlertState{.failures = 1, .alerting = true, .alerted_at = 2}));
  EXPECT_EQ(end(S::timed_out, 3), std::nullopt) << "still failing";
  EXPECT_EQ(end(S::skipped, 4), std::nullopt);
  EXPECT_EQ(state.failures, 2) << "a skip neither counts nor breaks the row";
  EXPECT_EQ(end(S::success, 5), NotifyEvent::recovery);
  EXPECT_EQ(state, (AlertState{.failures = 0, .alerting = false, .alerted_at = 2}));
  EXPECT_EQ(end(S::success, 6), std::nullopt);
}

TEST_F(Rule, ToleratesFailuresUntilTheNthInARow) {
  rule.after_failures = 3;
  EXPECT_EQ(end(S::failed, 1), std::nullopt);
  EXPECT_EQ(end(S::failed, 2), std::nullopt);
  EXPECT_EQ(end(S::success, 3), std::nullopt) << "the row is broken: nothing was told";
  EXPECT_EQ(end(S::failed, 4), std::nullopt);
  EXPECT_EQ(end(S::failed, 5), std::nullopt);
  EXPECT_EQ(end(S::failed, 6), NotifyEvent::failure);
  EXPECT_EQ(state.failures, 3);
}

TEST_F(Rule, TellsAgainWhileFailingOnlyAfterRealertMinutes) {
  rule.realert_minutes = 30;
  EXPECT_EQ(end(S::failed, 0), NotifyEvent::failure);
  EXPECT_EQ(end(S::failed, 30 * 60'000 - 1), std::nullopt);
  EXPECT_EQ(end(S::failed, 30 * 60'000), NotifyEvent::failure);
  EXPECT_EQ(end(S::failed, 45 * 60'000), std::nullopt) << "timed from the last one told";
  EXPECT_EQ(end(S::failed, 60 * 60'000), NotifyEvent::failure);
}

TEST_F(Rule, WithoutFailureInItsEventsTellsNeitherFailureNorRecovery) {
  rule.on = {NotifyEvent::slow};
  EXPECT_EQ(end(S::failed, 1), std::nullopt);
  EXPECT_EQ(end(S::success, 2), std::nullopt);
  EXPECT_EQ(state.alerting, false);
}

TEST(Rules, AreStoredAsTheApisJsonAndReadBack) {
  std::vector<NotifyRule> rules = {
      {.channel_id = "a", .on = {NotifyEvent::failure}},
      {.channel_id = "b",
       .on = {NotifyEvent::failure, NotifyEvent::recovery, NotifyEvent::slow},
       .after_failures = 3,
       .realert_minutes = 60,
       .slow_seconds = 90,
       .missed_grace_seconds = 120}};
  const std::string text = encode_rules(rules);
  const std::string first =
      R"([{"channelId":"a","on":["failure"],"afterFailures":1,"realertMinutes":null,)"
      R"("slowSeconds":null,"missedGraceSeconds":60},{"channelId":"b","on":["fail)";
  EXPECT_EQ(text.substr(0, first.size()), first);
  EXPECT_EQ(decode_rules(text), rules);
  EXPECT_EQ(encode_rules({}), "");
  EXPECT_TRUE(decode_rules("").empty());
  EXPECT_THROW(decode_rules("{}"), std::invalid_argument);
  EXPECT_THROW(decode_rules(R"([{"channelId":"a","on":["never"]}])"), std::invalid_argument);
  EXPECT_THROW(decode_rules(R"([{"on":["failure"]}])"), std::invalid_argument);
}

TEST(Events, SayWhatHappenedToWhichTask) {
  Execution e{.id = "e1",
              .task_id = "t1",
              .status = S::timed_out,
              .scheduled_for = 1000,
              .started_at = 1001,
              .finished_at = 2000,
              .error_message = "timed out after 1 s",
              .attempts = 2,
              .duration_ms = 999};
  TaskEvent failure{.kind = NotifyEvent::failure,
                    .task_id = "t1",
                    .task_name = "backup-db",
                    .at = 2000,
                    .execution = e,
                    .failures = 1};
  EXPECT_EQ(event_summary(failure), "[cronkit] backup-db timed out");
  EXPECT_EQ(event_payload(failure),
            R"({"kind":"failure","task":{"id":"t1","name":"backup-db"},"at":2000,)"
            R"("execution":{"id":"e1","status":"timed_out","trigger":"schedule",)"
            R"("scheduledFor":1000,"startedAt":1001,"finishedAt":2000,"durationMs":999,)"
            R"("attempts":2,"errorMessage":"timed out after 1 s"},"consecutiveFailures":1})");
  failure.failures = 4;
  failure.execution->status = S::failed;
  EXPECT_EQ(event_summary(failure), "[cronkit] backup-db failed (4 times in a row)");
  TaskEvent missed{.kind = NotifyEvent::missed,
                   .task_name = "report",
                   .missed = 3,
                   .first_missed = 10,
                   .last_missed = 30};
  EXPECT_EQ(event_summary(missed), "[cronkit] report missed 3 runs");
  EXPECT_NE(event_payload(missed).find(R"("missed":{"count":3,"first":10,"last":30})"),
            std::string::npos);
  missed.missed = 1;
  EXPECT_EQ(event_summary(missed), "[cronkit] report missed a run");
}

}  // namespace
}  // namespace cronkit
