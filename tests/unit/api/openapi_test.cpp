// The OpenAPI description lists exactly the routes the router serves, each with the least
// role that may call it (x-cronkit-role) and the actions it records in the audit trail
// (x-cronkit-audit), and /healthz as the only one without a token.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <set>

#include "api/api.h"

namespace cronkit::api {
namespace {

TEST(OpenApi, DescribesEveryRouteAndNothingElse) {
  auto doc = boost::json::parse(openapi_json()).as_object();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  std::set<std::string> described;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters") continue;
      std::string upper{method};
      for (auto& ch : upper)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const auto& o = op.as_object();
      std::string access = "open";
      if (const auto* role = o.if_contains("x-cronkit-role")) access = role->as_string().c_str();
      if (const auto* security = o.if_contains("security")) {
        EXPECT_TRUE(security->as_array().empty()) << path;
        EXPECT_EQ(access, "open") << path;
      }
      std::string audit;
      if (const auto* actions = o.if_contains("x-cronkit-audit")) {
        for (const auto& a : actions->as_array())
          audit += " " + std::string(a.as_string());
      }
      described.insert(upper + " " + std::string(path) + " " + access + audit);
    }
  }
  std::set<std::string> served;
  for (const auto& r : Api::routes()) {
    std::string path = r.path;  // ":id" is "{id}" in OpenAPI
    if (auto colon = path.find(":id"); colon != std::string::npos) path.replace(colon, 3, "{id}");
    std::string audit;
    for (std::string_view a : r.audit)
      audit += " " + std::string(a);
    served.insert(r.method + " " + path + " " + std::string(r.open ? "open" : to_string(r.role)) +
                  audit);
  }
  EXPECT_EQ(described, served);
}

TEST(OpenApi, EveryRouteThatChangesSomethingIsAudited) {
  // Only reads record nothing: every GET, and the cron preview (a POST that computes).
  for (const auto& r : Api::routes()) {
    if (r.method == "GET" || r.path == "/api/scheduler/cron/preview") {
      EXPECT_TRUE(r.audit.empty()) << r.method << " " << r.path;
    } else {
      EXPECT_FALSE(r.audit.empty()) << r.method << " " << r.path << " records nothing";
    }
    for (std::string_view a : r.audit) {
      EXPECT_NE(std::ranges::find(kAuditActions, a), std::end(kAuditActions)) << a;
    }
  }
}

}  // namespace
}  // namespace cronkit::api
