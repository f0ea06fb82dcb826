#pragma once
// Where the server may send requests (HTTP tasks, notifications): the outbound rules.

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit {

/// An IPv4 or IPv6 address range, or one host name (exactly, or "*.example.com": every name
/// under it).
struct OutboundRule {
  std::string text;  // as given
  bool is_host = false;
  std::string host;                    // lowercase; for "*.x", ".x"
  std::array<std::uint8_t, 16> net{};  // IPv4 as IPv4-mapped IPv6
  int prefix = 0;                      // of the 128 bits
};

/// A refusal: what was refused, and why.
struct OutboundRefusal {
  std::string message;
};

/// The server's rules for outbound connections: `deny` first, then `allow`; then the
/// built-in denials (link-local addresses, which hold every cloud's metadata service, and
/// the metadata services' other names and addresses) unless an `allow` address range
/// covers the address; then, when `allow` is not empty, everything else is refused.
/// Loopback and private ranges are allowed unless denied. Checked on the address actually
/// connected to, so a name that resolves to a denied address is refused too.
///   auto rules = OutboundRules::parse({"10.0.0.0/8"}, {"10.1.0.0/16", "db.internal"});
///   rules->check("api.example.com", "10.1.2.3")   // refused: 10.1.0.0/16 is denied
class OutboundRules {
 public:
  /// The rules, or the first entry that is neither an address, a range nor a host name.
  static std::expected<OutboundRules, std::string> parse(const std::vector<std::string>& allow,
                                                         const std::vector<std::string>& deny);
  OutboundRules();  // the built-in denials only

  /// Whether a connection to `address` (numeric, as connected to) for a URL naming `host`
  /// is allowed; the refusal says why.
  std::optional<OutboundRefusal> check(std::string_view host, std::string_view address) const;
  /// What can be known from a URL's host alone: a literal address checked as it is, a
  /// name against the host rules. For refusing a task or channel when it is made.
  std::optional<OutboundRefusal> check_host(std::string_view host) const;

  const std::vector<OutboundRule>& allow() const { return allow_; }
  const std::vector<OutboundRule>& deny() const { return deny_; }

 private:
  std::vector<OutboundRule> allow_, deny_, builtin_;
};

/// A set of IPv4 and IPv6 address ranges ("10.0.0.0/8", "::1", "127.0.0.1").
///   auto proxies = AddressRanges::parse({"127.0.0.1/32", "10.0.0.0/8"});
///   proxies->contains("10.1.2.3")   // true
class AddressRanges {
 public:
  /// The ranges, or the first entry that is not an address or a range.
  static std::expected<AddressRanges, std::string> parse(const std::vector<std::string>& ranges);
  AddressRanges() = default;  // none

  bool empty() const { return ranges_.empty(); }
  /// Whether `address` (numeric) is in one of the ranges; false for anything else.
  bool contains(std::string_view address) const;

 private:
  std::vector<OutboundRule> ranges_;
};

/// An address (IPv4, IPv6, IPv4-mapped IPv6) as 16 bytes, or none.
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text);

}  // namespace cronkit
