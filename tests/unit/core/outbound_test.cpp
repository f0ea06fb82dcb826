// The outbound rules: what they parse, and what they refuse, in which order.
#include "core/outbound.h"

#include <gtest/gtest.h>

namespace cronkit {
namespace {

OutboundRules rules(std::vector<std::string> allow, std::vector<std::string> deny) {
  auto r = OutboundRules::parse(allow, deny);
  EXPECT_TRUE(r) << r.error();
  return *r;
}

TEST(OutboundRules, ParseAddressesRangesAndNames) {
  for (std::string ok : {"10.0.0.0/8", "10.1.2.3", "0.0.0.0/0", "::1", "fd00::/8", "[::1]",
                         "fe80::/10", "db.internal", "*.internal", "Metadata.Google.Internal"}) {
    EXPECT_TRUE(OutboundRules::parse({ok}, {})) << ok;
  }
  for (std::string bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host/8", "", "a b",
                          "http://x", "10.0.0.0/8/8"}) {
    auto r = OutboundRules::parse({}, {bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().find(bad), std::string::npos) << r.error();
  }
}

TEST(OutboundRules, DenyLinkLocalAndMetadataByDefaultAndAllowTheRest) {
  const OutboundRules r;
  for (std::string denied : {"169.254.169.254", "169.254.0.1", "fe80::1", "100.100.100.200",
                             "fd00:ec2::254", "::ffff:169.254.169.254"}) {
    auto refusal = r.check("", denied);
    ASSERT_TRUE(refusal) << denied;
    EXPECT_NE(refusal->message.find("metadata"), std::string::npos) << refusal->message;
  }
  EXPECT_TRUE(r.check("metadata.google.internal", "10.0.0.1"));
  EXPECT_TRUE(r.check_host("metadata.google.internal"));
  EXPECT_TRUE(r.check_host("169.254.169.254"));
  EXPECT_TRUE(r.check_host("[fe80::1]"));
  for (std::string allowed : {"127.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "8.8.8.8"}) {
    EXPECT_FALSE(r.check("", allowed)) << allowed;
  }
  EXPECT_FALSE(r.check_host("api.example.com"));
}

TEST(OutboundRules, DenyComesFirstAndAnAllowedRangeLiftsTheBuiltInDenial) {
  auto r = rules({"10.0.0.0/8", "169.254.10.0/24", "api.example.com"}, {"10.1.0.0/16"});
  EXPECT_FALSE(r.check("", "10.2.3.4"));
  EXPECT_TRUE(r.check("", "10.1.3.4")) << "denied, though inside an allowed range";
  EXPECT_FALSE(r.check("", "169.254.10.5")) << "an allowed range lifts the built-in denial";
  EXPECT_TRUE(r.check("", "169.254.169.254"));
  EXPECT_FALSE(r.check("api.example.com", "203.0.113.7")) << "an allowed name";
  EXPECT_TRUE(r.check("api.example.com", "169.254.169.254"))
      << "an allowed name does not lift the built-in denial of its address";
  auto refused = r.check("other.example.com", "203.0.113.7");
  ASSERT_TRUE(refused) << "given allow rules, everything else is refused";
  EXPECT_EQ(refused->message,
            "other.example.com (203.0.113.7) is not in the allowed destinations (--http-allow)");
}

TEST(OutboundRules, NamesMatchExactlyOrUnderAWildcardWithoutCase) {
  auto r = rules({}, {"*.internal", "db.example.com"});
  EXPECT_TRUE(r.check("x.internal", "10.0.0.1"));
  EXPECT_TRUE(r.check("a.b.INTERNAL", "10.0.0.1"));
  EXPECT_TRUE(r.check("internal", "10.0.0.1"));
  EXPECT_FALSE(r.check("notinternal", "10.0.0.1"));
  EXPECT_TRUE(r.check("DB.example.com", "10.0.0.1"));
  EXPECT_FALSE(r.check("x.db.example.com", "10.0.0.1"));
  EXPECT_TRUE(r.check_host("x.internal"));
  auto refusal = r.check("db.example.com", "10.0.0.1");
  EXPECT_EQ(refusal->message,
            "db.example.com (10.0.0.1) is denied by the outbound rules (db.example.com)");
}

TEST(OutboundRules, RangesCoverIPv4InsideIPv6AndPrefixesOfAnyLength) {
  auto r = rules({}, {"127.0.0.2/32", "192.168.0.0/23", "fd00::/8"});
  EXPECT_TRUE(r.check("", "127.0.0.2"));
  EXPECT_TRUE(r.check("", "::ffff:127.0.0.2"));
  EXPECT_FALSE(r.check("", "127.0.0.1"));
  EXPECT_TRUE(r.check("", "192.168.1.255"));
  EXPECT_FALSE(r.check("", "192.168.2.0"));
  EXPECT_TRUE(r.check("", "fdab::1"));
  EXPECT_FALSE(r.check("", "fe00::1"));
}

}  // namespace
}  // namespace cronkit
