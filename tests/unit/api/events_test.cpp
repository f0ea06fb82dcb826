// The event hub: the wire format, heartbeats, and clients that go away.
#include "api/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace cronkit::api {
namespace {

using namespace std::chrono_literals;

struct FakeSink final : StreamSink {
  std::mutex m;
  std::string received;
  std::atomic<bool> open{true};
  bool send(std::string chunk) override {
    if (!open) return false;
    std::lock_guard lock{m};
    received += chunk;
    return true;
  }
  std::string text() {
    std::lock_guard lock{m};
    return received;
  }
};

TEST(EventHub, SendsEventsInTheServerSentEventsFormat) {
  EventHub hub{1h};
  auto sink = std::make_shared<FakeSink>();
  hub.subscribe(sink);
  hub.publish("task.created", boost::json::object{{"id", "t1"}});
  EXPECT_EQ(sink->text(),
            "retry: 2000\n: connected\n\nevent: task.created\ndata: {\"id\":\"t1\"}\n\n");
}

TEST(EventHub, SendsHeartbeats) {
  EventHub hub{5ms};
  auto sink = std::make_shared<FakeSink>();
  hub.subscribe(sink);
  for (int i = 0; i < 2000 && sink->text().find(": heartbeat\n\n") == std::string::npos; ++i)
    std::this_thread::sleep_for(1ms);
  EXPECT_NE(sink->text().find(": heartbeat\n\n"), std::string::npos);
}

TEST(EventHub, DropsAClientOnceItsCheckRefusesIt) {
  std::atomic<bool> revoked{false};  // outlives the hub, whose thread reads it
  EventHub hub{1h, 1ms};
  auto checked = std::make_shared<FakeSink>();
  auto other = std::make_shared<FakeSink>();
  hub.subscribe(checked, [&]() -> std::optional<std::string> {
    if (revoked) return "token \"ci\" was revoked";
    return std::nullopt;
  });
  hub.subscribe(other);
  hub.publish("x", nullptr);
  EXPECT_EQ(hub.subscribers(), 2u);
  revoked = true;
  for (int i = 0; i < 5000 && hub.subscribers() == 2; ++i)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_NE(checked->text().find(
                "event: auth.refused\ndata: {\"message\":\"token \\\"ci\\\" was revoked\"}\n\n"),
            std::string::npos)
      << checked->text();
  hub.publish("y", nullptr);
  EXPECT_EQ(checked->text().find("event: y"), std::string::npos);
  EXPECT_NE(other->text().find("event: y"), std::string::npos);
}

TEST(EventHub, DropsAClientThatIsGone) {
  EventHub hub{1h};
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  hub.subscribe(a);
  hub.subscribe(b);
  EXPECT_EQ(hub.subscribers(), 2u);
  b->open = false;
  hub.publish("x", nullptr);
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_NE(a->text().find("event: x\ndata: null\n\n"), std::string::npos);
  hub.close();
  EXPECT_EQ(hub.subscribers(), 0u);
  hub.publish("after", nullptr);  // nothing to do, nothing breaks
}

}  // namespace
}  // namespace cronkit::api
