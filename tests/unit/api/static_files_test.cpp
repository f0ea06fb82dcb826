// The admin UI's files: paths, the history fallback, cache headers and gzip.
#include "api/static_files.h"

#include <gtest/gtest.h>

namespace cronkit::api {
namespace {

namespace http = boost::beast::http;

const StaticFile kFiles[] = {
    {"/index.html", "<!doctype html>app", "GZIP-INDEX"},
    {"/assets/index-abc123.js", "console.log(1)", "GZIP-JS"},
    {"/favicon.svg", "<svg/>", ""},
};

Request get(std::string target, std::string accept_encoding = "") {
  Request req{http::verb::get, target, 11};
  if (!accept_encoding.empty()) req.set(http::field::accept_encoding, accept_encoding);
  return req;
}

class StaticSiteTest : public ::testing::Test {
 protected:
  StaticSite site_{"/admin/scheduler", kFiles};
};

TEST_F(StaticSiteTest, LeavesOtherPathsAlone) {
  EXPECT_FALSE(site_.serve(get("/api/scheduler/tasks")));
  EXPECT_FALSE(site_.serve(get("/admin/schedulerx")));
  EXPECT_FALSE(site_.serve(get("/")));
}

TEST_F(StaticSiteTest, ServesTheAppWithItsHeaders) {
  auto res = site_.serve(get("/admin/scheduler/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "<!doctype html>app");
  EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ((*res)[http::field::cache_control], "no-cache");
  EXPECT_EQ((*res)[http::field::vary], "Accept-Encoding");
  EXPECT_NE((*res)["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(site_.serve(get("/admin/scheduler"))->body(), "<!doctype html>app");
  EXPECT_EQ(site_.serve(get("/admin/scheduler/?x=1"))->body(), "<!doctype html>app");
}

TEST_F(StaticSiteTest, HashedAssetsAreImmutableAndGzippedForThoseWhoAccept) {
  auto plain = site_.serve(get("/admin/scheduler/assets/index-abc123.js"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body(), "console.log(1)");
  EXPECT_EQ((*plain)[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ((*plain)[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ((*plain)[http::field::content_encoding], "");
  auto zipped = site_.serve(get("/admin/scheduler/assets/index-abc123.js", "br, gzip;q=0.8"));
  EXPECT_EQ(zipped->body(), "GZIP-JS");
  EXPECT_EQ((*zipped)[http::field::content_encoding], "gzip");
  EXPECT_EQ((*zipped)[http::field::content_length], "7");
  auto svg = site_.serve(get("/admin/scheduler/favicon.svg", "gzip"));
  EXPECT_EQ(svg->body(), "<svg/>") << "no gzip form: the file as it is";
  EXPECT_EQ((*svg)[http::field::vary], "");
}

TEST_F(StaticSiteTest, AppRoutesGetTheAppButMissingAssetsAre404) {
  auto route = site_.serve(get("/admin/scheduler/tasks/0190b8c4"));
  ASSERT_TRUE(route);
  EXPECT_EQ(route->result(), http::status::ok);
  EXPECT_EQ(route->body(), "<!doctype html>app");
  auto missing = site_.serve(get("/admin/scheduler/assets/gone-123.js"));
  EXPECT_EQ(missing->result(), http::status::not_found);
  EXPECT_EQ((*missing)[http::field::content_type], "text/plain; charset=utf-8");
}

TEST_F(StaticSiteTest, OnlyGet) {
  Request post{http::verb::post, "/admin/scheduler/", 11};
  auto res = site_.serve(post);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::method_not_allowed);
  EXPECT_EQ((*res)[http::field::allow], "GET");
}

TEST_F(StaticSiteTest, WithoutFilesSaysTheUiIsNotBuilt) {
  StaticSite empty{"/admin/scheduler", {}};
  auto res = empty.serve(get("/admin/scheduler/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::not_found);
  EXPECT_NE(res->body().find("not built"), std::string::npos);
}

TEST(AcceptsGzip, ReadsTheHeaderAsRfc9110Says) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip ; q=0.001"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("identity"));
}

}  // namespace
}  // namespace cronkit::api
