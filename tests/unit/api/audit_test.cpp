// What the audit trail says of a change (the changed fields, secrets hidden), and how the
// API records refused tokens: once a minute per address and actor, the rest counted.
#include "api/audit.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "../../support/fake_clock.h"
#include "api/api.h"
#include "engine/engine.h"
#include "store/sqlite/sqlite_store.h"

namespace cronkit::api {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

json::value parsed(const std::optional<std::string>& text) {
  return text ? json::parse(*text) : json::value(nullptr);
}

TEST(AuditChanges, NamesEachChangedFieldWithSecretsHidden) {
  Task before;
  before.id = "t1";
  before.name = "nightly";
  before.type = TaskType::http;
  before.cron_expression = "0 0 * * *";
  before.http_url = "http://127.0.0.1:9/x";
  before.http_headers = R"({"Authorization":"Bearer one"})";
  before.http_body = "secret body";
  before.updated_at = 1000;
  Task after = before;
  after.updated_at = 2000;
  EXPECT_EQ(task_changes(before, after), std::nullopt) << "updatedAt alone is no change";

  after.cron_expression = "0 1 * * *";
  after.http_headers = R"({"Authorization":"Bearer two"})";
  after.http_body = "another secret body";
  EXPECT_EQ(parsed(task_changes(before, after)), json::parse(R"({
    "cronExpression": {"old": "0 0 * * *", "new": "0 1 * * *"},
    "httpHeaders": {"old": "{\"Authorization\":\"<hidden>\"}",
                    "new": "{\"Authorization\":\"<hidden>\"}"},
    "httpBody": {"old": "<hidden>", "new": "<hidden>"}})"));
}

TEST(AuditChanges, ChannelSecretsShowOnlyThatTheyChanged) {
  Channel before{.id = "c1",
                 .name = "alerts",
                 .type = ChannelType::slack,
                 .url = "https://hooks.slack.com/services/T/B/old"};
  Channel after = before;
  EXPECT_EQ(channel_changes(before, after), std::nullopt);
  after.url = "https://hooks.slack.com/services/T/B/new";
  after.name = "alerts 2";
  EXPECT_EQ(parsed(channel_changes(before, after)), json::parse(R"({
    "name": {"old": "alerts", "new": "alerts 2"},
    "url": {"old": "https://hooks.slack.com/<hidden>", "new": "https://hooks.slack.com/<hidden>"}})"));

  Channel hook{.id = "c2",
               .name = "hook",
               .url = "https://example.com/hook",
               .headers = R"({"X-Key":"one"})",
               .secret = "0123456789abcdef"};
  Channel changed = hook;
  changed.secret = "fedcba9876543210";
  changed.headers = R"({"X-Key":"two","X-Team":"ops"})";
  EXPECT_EQ(parsed(channel_changes(hook, changed)), json::parse(R"({
    "headers": {"old": {"X-Key": "<hidden>"}, "new": {"X-Key": "<hidden>", "X-Team": "<hidden>"}},
    "secret": {"old": "<hidden>", "new": "<hidden>"}})"));

  // Headers that are not an object (never stored by the API) are hidden whole.
  Channel odd = hook;
  odd.headers = "X-Key: three";
  EXPECT_EQ(parsed(channel_changes(hook, odd)), json::parse(R"({
    "headers": {"old": {"X-Key": "<hidden>"}, "new": "<hidden>"}})"));
}

class AuditRefusals : public ::testing::Test {
 protected:
  Response get(std::string_view peer, std::string_view token) {
    Request req{http::verb::get, "/api/scheduler/stats", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + std::string(token));
    return api_.handle(req, peer).response;
  }
  std::vector<AuditEntry> entries() { return store_.list_audit({}).list; }

  testing::FakeClock clock_{1'800'000'000'000};
  store::SqliteStore store_{":memory:"};
  Registry registry_;
  engine::Engine engine_{store_, clock_, registry_, {}};
  Api api_{store_, engine_, registry_, clock_, {.api_token = "bootstrap-secret"}};
};

TEST_F(AuditRefusals, ARefusedTokenIsRecordedOnceAMinutePerAddressAndActor) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get("10.0.0.1", "ck_wrong").result(), http::status::unauthorized);
  EXPECT_EQ(get("10.0.0.2", "ck_wrong").result(), http::status::unauthorized);
  EXPECT_EQ(get("10.0.0.1", "bootstrap-secret").result(), http::status::ok);
  auto recorded = entries();
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].address, "10.0.0.2");
  EXPECT_EQ(recorded[1].address, "10.0.0.1");
  EXPECT_EQ(recorded[1].action, "auth.failed");
  EXPECT_EQ(recorded[1].actor, "");
  EXPECT_EQ(
      parsed(recorded[1].detail),
      json::parse(R"({"reason":"the token is not known","route":"GET /api/scheduler/stats"})"));

  clock_.advance(59'999);
  get("10.0.0.1", "ck_wrong");
  EXPECT_EQ(entries().size(), 2u) << "within the minute";
  clock_.advance(1);
  get("10.0.0.1", "ck_wrong");
  recorded = entries();
  ASSERT_EQ(recorded.size(), 3u);
  EXPECT_EQ(recorded[0].address, "10.0.0.1");
  EXPECT_EQ(parsed(recorded[0].detail).at("unrecorded"), 3) << "the ones left out since";
}

class TrustedProxies : public ::testing::Test {
 protected:
  // The address a refused request from `peer` is recorded with.
  std::string recorded(std::string_view peer, std::vector<std::string> forwarded) {
    Request req{http::verb::get, "/api/scheduler/stats", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer ck_wrong");
    for (const auto& f : forwarded)
      req.insert("X-Forwarded-For", f);
    EXPECT_EQ(api_.handle(req, peer).response.result(), http::status::unauthorized);
    clock_.advance(60'000);  // each refusal recorded
    return store_.list_audit({}).list.at(0).address;
  }

  testing::FakeClock clock_{1'800'000'000'000};
  store::SqliteStore store_{":memory:"};
  Registry registry_;
  engine::Engine engine_{store_, clock_, registry_, {}};
  Api api_{store_,
           engine_,
           registry_,
           clock_,
           {.api_token = "bootstrap-secret",
            .trusted_proxies = *AddressRanges::parse({"10.0.0.0/8", "::1"})}};
};

TEST_F(TrustedProxies, TheClientIsTheNearestForwardedAddressThatIsNoTrustedProxy) {
  EXPECT_EQ(recorded("10.0.0.5", {"203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(recorded("10.0.0.5", {"198.51.100.1, 203.0.113.9,10.1.1.1"}), "203.0.113.9")
      << "the client may send a header of its own: only what trusted proxies added counts";
  EXPECT_EQ(recorded("::1", {"198.51.100.1", "2001:db8::7"}), "2001:db8::7")
      << "several headers are one list, in order";
  EXPECT_EQ(recorded("10.0.0.5", {"not-an-address, 10.2.2.2"}), "10.2.2.2")
      << "nothing before what is not an address is believed";
  EXPECT_EQ(recorded("10.0.0.5", {}), "10.0.0.5");
  EXPECT_EQ(recorded("192.0.2.7", {"203.0.113.9"}), "192.0.2.7")
      << "from anyone else, the header is ignored";
}

}  // namespace
}  // namespace cronkit::api
