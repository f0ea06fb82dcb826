#include "notify/outbox.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace cronkit::notify {
namespace {

namespace json = boost::json;

Delivery failure(std::string id, std::string task, Millis created) {
  return {.id = std::move(id),
          .channel_id = "c1",
          .task_id = task,
          .event = NotifyEvent::failure,
          .summary = "[cronkit] " + task + " failed",
          .created_at = created,
          .payload = R"({"kind":"failure","task":{"id":"t-)" + task + R"(","name":")" + task +
                     R"("},"at":1,"execution":{"id":"x1","status":"failed","attempts":3,)"
                     R"("scheduledFor":1764547200000,"errorMessage":"HTTP 500"}})"};
}

TEST(Render, TellsTheEventWithALinkToTheTask) {
  Notice n = render(failure("d1", "backup", 0), "https://cron.example.com/admin/scheduler");
  EXPECT_EQ(n.delivery_id, "d1");
  EXPECT_EQ(n.summary, "[cronkit] backup failed");
  EXPECT_EQ(n.detail,
            "Task: backup\nStatus: failed after 3 attempts\nError: HTTP 500\n"
            "Scheduled for: 2025-12-01 00:00:00 UTC\nExecution: x1\n"
            "https://cron.example.com/admin/scheduler/tasks/t-backup");
  json::object doc = json::parse(n.document).as_object();
  EXPECT_EQ(doc.at("kind"), "failure");
  EXPECT_EQ(doc.at("deliveryId"), "d1");
  EXPECT_EQ(doc.at("link"), "https://cron.example.com/admin/scheduler/tasks/t-backup");
  EXPECT_EQ(doc.at("execution").at("errorMessage"), "HTTP 500");
  EXPECT_FALSE(
      json::parse(render(failure("d1", "b", 0), "").document).as_object().contains("link"));
}

TEST(Render, FoldsWhatWaitedForAChannelIntoOneDigest) {
  std::vector<Delivery> ds = {failure("d1", "a", 0), failure("d2", "b", 0)};
  ds[1].event = NotifyEvent::recovery;
  ds[1].summary = "[cronkit] b recovered";
  Notice n = render_digest(ds, "");
  EXPECT_EQ(n.summary, "[cronkit] 2 notifications (1 failure, 1 recovery)");
  EXPECT_EQ(n.detail, "- a failed\n- b recovered");
  json::object doc = json::parse(n.document).as_object();
  EXPECT_EQ(doc.at("kind"), "digest");
  EXPECT_EQ(doc.at("count"), 2);
  EXPECT_EQ(doc.at("events").as_array()[1].at("deliveryId"), "d2");
}

TEST(NextAttempt, BacksOffUntilADayAndGivesUpOnAnswersThatWillNotChange) {
  Delivery d = failure("d", "a", 0);
  const Sent down{.error = "Connection refused"};
  d.attempts = 1;
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, down, 1000, 10'000), 11'000);
  d.attempts = 3;
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, down, 1000, 10'000), 41'000);
  d.attempts = 30;
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, down, 1000, 10'000), 3'601'000) << "an hour";
  const Millis day = 24 * 3'600'000;
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, down, day - 60'000, 10'000), day)
      << "the last attempt a day after the event";
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, down, day, 10'000), std::nullopt);

  d.attempts = 1;
  const Sent busy{.status = 429, .error = "429", .retry_after_ms = 120'000};
  EXPECT_EQ(next_attempt(d, ChannelType::slack, busy, 0, 10'000), 120'000) << "Retry-After";
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, {.status = 503}, 0, 10'000), 10'000);
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, {.status = 408}, 0, 10'000), 10'000);
  EXPECT_EQ(next_attempt(d, ChannelType::webhook, {.status = 404}, 0, 10'000), std::nullopt);
  EXPECT_EQ(next_attempt(d, ChannelType::email, {.status = 550}, 0, 10'000), std::nullopt);
  EXPECT_EQ(next_attempt(d, ChannelType::email, {.status = 451}, 0, 10'000), 10'000);
}

}  // namespace
}  // namespace cronkit::notify
