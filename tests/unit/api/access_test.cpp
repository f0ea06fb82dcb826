// Who a request comes from: the bootstrap token, named tokens and their states, and how soon
// a revocation through another server is seen.
#include "api/access.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "../../support/fake_clock.h"
#include "core/ids.h"
#include "store/open_store.h"

namespace cronkit::api {
namespace {

namespace fs = std::filesystem;

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cronkit-access-" + std::to_string(std::random_device{}()));
    url_ = "sqlite:" + (dir_ / "cronkit.db").string();
    here_ = open();
    there_ = open();  // another server's view of the same database
  }
  void TearDown() override {
    here_.reset();
    there_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<Store> open() {
    auto opened = store::open_store(url_);
    EXPECT_TRUE(opened) << opened.error();
    return std::move(*opened);
  }
  // A named token of `role` in the store; returns the token itself.
  std::string add(std::string name, Role role, std::optional<Millis> expires = std::nullopt) {
    std::string secret = new_token();
    ApiToken t{.id = new_id(clock_.now()),
               .name = std::move(name),
               .role = role,
               .hash = token_hash(secret),
               .created_at = clock_.now(),
               .created_by = "bootstrap",
               .expires_at = expires};
    EXPECT_TRUE(here_->insert_token(t));
    ids_[secret] = t.id;
    return secret;
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<Store> here_, there_;
  testing::FakeClock clock_{1'800'000'000'000};
  std::map<std::string, std::string> ids_;
};

TEST(Tokens, AreLongRandomAndHashedAsSha256) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = new_token();
    ASSERT_EQ(t.size(), 46u) << t;
    EXPECT_TRUE(t.starts_with("ck_"));
    EXPECT_EQ(t.find_first_not_of(
                  "ck_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
              std::string::npos);
    EXPECT_TRUE(seen.insert(t).second);
  }
  // FIPS 180-2's example.
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(AccessTest, WithoutABootstrapTokenEveryRequestIsAnAnonymousAdmin) {
  Authenticator auth{*here_, clock_, ""};
  EXPECT_FALSE(auth.required());
  auto who = auth.authenticate("");
  ASSERT_TRUE(who);
  EXPECT_EQ(who->actor, "anonymous");
  EXPECT_EQ(who->role, Role::admin);
}

TEST_F(AccessTest, KnowsTheBootstrapTokenAndNamedTokensAndRefusesTheRest) {
  Authenticator auth{*here_, clock_, "bootstrap-secret"};
  const auto viewer = add("grafana", Role::viewer);
  const auto op = add("ci", Role::operator_);
  auto boot = auth.authenticate("Bearer bootstrap-secret");
  ASSERT_TRUE(boot);
  EXPECT_EQ(boot->actor, "bootstrap");
  EXPECT_EQ(boot->role, Role::admin);
  EXPECT_TRUE(auth.authenticate("bearer bootstrap-secret")) << "the scheme has no case";
  auto v = auth.authenticate("Bearer " + viewer);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->actor, "grafana");
  EXPECT_EQ(v->role, Role::viewer);
  EXPECT_EQ(v->token_id, ids_[viewer]);
  EXPECT_EQ(auth.authenticate("Bearer " + op)->role, Role::operator_);
  for (const std::string& header :
       std::vector<std::string>{"", "Bearer ", "Basic bootstrap-secret", "Bearer bootstrap-secretx",
                                "Bearer " + viewer.substr(1), "bootstrap-secret"}) {
    auto refused = auth.authenticate(header);
    ASSERT_FALSE(refused) << header;
    EXPECT_FALSE(refused.error().message.empty());
    EXPECT_EQ(refused.error().name, "");
  }
  EXPECT_EQ(auth.authenticate("Bearer nope").error().message, "the token is not known");
}

TEST_F(AccessTest, AnExpiredTokenIsRefusedFromItsExpiry) {
  Authenticator auth{*here_, clock_, "b"};
  const auto t = add("short", Role::admin, clock_.now() + 5000);
  EXPECT_TRUE(auth.authenticate("Bearer " + t));
  clock_.advance(4999);
  EXPECT_TRUE(auth.authenticate("Bearer " + t));
  clock_.advance(1);
  EXPECT_EQ(auth.authenticate("Bearer " + t).error().message, "token \"short\" has expired");
  EXPECT_EQ(auth.authenticate("Bearer " + t).error().name, "short") << "named in the audit trail";
}

TEST_F(AccessTest, ARevocationThroughAnotherServerIsSeenWithinASecond) {
  Authenticator auth{*there_, clock_, "b"};
  const auto t = add("ci", Role::operator_);
  ASSERT_TRUE(auth.authenticate("Bearer " + t));
  ASSERT_TRUE(here_->revoke_token(ids_[t], clock_.now()));
  clock_.advance(Authenticator::kRecheck);
  EXPECT_EQ(auth.authenticate("Bearer " + t).error().message, "token \"ci\" was revoked");
  EXPECT_EQ(auth.authenticate("Bearer " + t).error().name, "ci");
}

TEST_F(AccessTest, ARevocationHereIsSeenAtOnce) {
  Authenticator auth{*here_, clock_, "b"};
  const auto t = add("ci", Role::operator_);
  ASSERT_TRUE(auth.authenticate("Bearer " + t));
  ASSERT_TRUE(here_->revoke_token(ids_[t], clock_.now()));
  auth.forget();
  EXPECT_FALSE(auth.authenticate("Bearer " + t));
}

TEST_F(AccessTest, RecordsTheLastUseToTheMinute) {
  Authenticator auth{*here_, clock_, "b"};
  const auto t = add("ci", Role::viewer);
  const Millis first = clock_.now();
  ASSERT_TRUE(auth.authenticate("Bearer " + t));
  EXPECT_EQ(here_->get_token(ids_[t])->last_used_at, first);
  clock_.advance(Authenticator::kUseResolution - 1);
  ASSERT_TRUE(auth.authenticate("Bearer " + t));
  EXPECT_EQ(here_->get_token(ids_[t])->last_used_at, first) << "not written again within a minute";
  clock_.advance(1);
  ASSERT_TRUE(auth.authenticate("Bearer " + t));
  EXPECT_EQ(here_->get_token(ids_[t])->last_used_at, clock_.now());
}

}  // namespace
}  // namespace cronkit::api
