// The OpenAPI description lists exactly the routes the router serves, each with the least
// role that may call it (x-cronkit-role), and /healthz as the only one without a token.
#include <gtest/gtest.h>

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
      described.insert(upper + " " + std::string(path) + " " + access);
    }
  }
  std::set<std::string> served;
  for (const auto& r : Api::routes()) {
    std::string path = r.path;  // ":id" is "{id}" in OpenAPI
    if (auto colon = path.find(":id"); colon != std::string::npos) path.replace(colon, 3, "{id}");
    served.insert(r.method + " " + path + " " + std::string(r.open ? "open" : to_string(r.role)));
  }
  EXPECT_EQ(described, served);
}

}  // namespace
}  // namespace cronkit::api
