#include "core/outbound.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cronkit {

namespace {

// The built-in denials: link-local (169.254.0.0/16 holds the AWS, GCP, Azure, OpenStack and
// DigitalOcean metadata services at 169.254.169.254), IPv6 link-local, and the metadata
// services found elsewhere: Alibaba Cloud's, AWS's IPv6 one, GCP's name.
constexpr std::array<std::string_view, 5> kBuiltin = {
    "169.254.0.0/16", "fe80::/10", "100.100.100.200", "fd00:ec2::254", "metadata.google.internal"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::ranges::all_of(s, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

std::optional<OutboundRule> parse_rule(std::string_view text) {
  OutboundRule r;
  r.text = std::string(text);
  const auto slash = text.find('/');
  if (auto address = parse_address(text.substr(0, slash))) {
    r.net = *address;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    const int bits = v4 ? 32 : 128;
    int prefix = bits;
    if (slash != std::string_view::npos) {
      const auto digits = text.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      prefix = std::stoi(std::string(digits));
      if (prefix > bits) return std::nullopt;
    }
    r.prefix = prefix + (v4 ? 96 : 0);
    return r;
  }
  if (slash != std::string_view::npos) return std::nullopt;
  std::string host = lower(text);
  if (host.starts_with("*.")) host.erase(0, 1);
  if (!valid_host_name(host.starts_with('.') ? std::string_view(host).substr(1) : host)) {
    return std::nullopt;
  }
  r.is_host = true;
  r.host = std::move(host);
  return r;
}

bool covers(const OutboundRule& r, const std::array<std::uint8_t, 16>& a) {
  int bits = r.prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const int n = std::min(bits, 8);
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - n));
    if ((a[i] & mask) != (r.net[i] & mask)) return false;
  }
  return true;
}

bool names(const OutboundRule& r, std::string_view host) {
  if (host.empty()) return false;
  const std::string h = lower(host);
  if (r.host.starts_with('.')) return h.ends_with(r.host) || h == r.host.substr(1);
  return h == r.host;
}

const OutboundRule* find(const std::vector<OutboundRule>& rules, std::string_view host,
                         const std::optional<std::array<std::uint8_t, 16>>& address) {
  for (const auto& r : rules) {
    if (r.is_host ? names(r, host) : (address && covers(r, *address))) return &r;
  }
  return nullptr;
}

std::string what(std::string_view host, std::string_view address) {
  if (address.empty() || host == address) return std::string(address.empty() ? host : address);
  return std::string(host) + " (" + std::string(address) + ")";
}

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text) {
  std::string s(text);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

OutboundRules::OutboundRules() {
  for (auto text : kBuiltin)
    builtin_.push_back(*parse_rule(text));
}

std::expected<OutboundRules, std::string> OutboundRules::parse(
    const std::vector<std::string>& allow, const std::vector<std::string>& deny) {
  OutboundRules rules;
  for (auto [list, out] : {std::pair{&allow, &rules.allow_}, std::pair{&deny, &rules.deny_}}) {
    for (const auto& text : *list) {
      auto r = parse_rule(text);
      if (!r) {
        return std::unexpected("\"" + text +
                               "\" is not an address, an address range (10.0.0.0/8, fd00::/8) "
                               "or a host name (db.internal, *.internal)");
      }
      out->push_back(std::move(*r));
    }
  }
  return rules;
}

std::optional<OutboundRefusal> OutboundRules::check(std::string_view host,
                                                    std::string_view address) const {
  const auto a = parse_address(address);
  if (const auto* r = find(deny_, host, a)) {
    return OutboundRefusal{what(host, address) + " is denied by the outbound rules (" + r->text +
                           ")"};
  }
  const auto* allowed = find(allow_, host, a);
  if (const auto* r = find(builtin_, host, a); r && !(allowed && !allowed->is_host)) {
    return OutboundRefusal{what(host, address) + " is denied: " + r->text +
                           " holds cloud metadata services and is denied unless --http-allow "
                           "names an address range covering it"};
  }
  if (!allow_.empty() && !allowed) {
    return OutboundRefusal{what(host, address) +
                           " is not in the allowed destinations (--http-allow)"};
  }
  return std::nullopt;
}

std::optional<OutboundRefusal> OutboundRules::check_host(std::string_view host) const {
  if (parse_address(host)) return check(host, host);
  // A name: only what names alone decide (its address is checked when connecting).
  if (const auto* r = find(deny_, host, std::nullopt)) {
    return OutboundRefusal{std::string(host) + " is denied by the outbound rules (" + r->text +
                           ")"};
  }
  if (const auto* r = find(builtin_, host, std::nullopt); r && !find(allow_, host, std::nullopt)) {
    return OutboundRefusal{std::string(host) + " is denied: " + r->text +
                           " is a cloud metadata service"};
  }
  return std::nullopt;
}

std::expected<AddressRanges, std::string> AddressRanges::parse(
    const std::vector<std::string>& ranges) {
  AddressRanges out;
  for (const std::string& text : ranges) {
    auto r = parse_rule(text);
    if (!r || r->is_host) return std::unexpected("\"" + text + "\" is not an address or a range");
    out.ranges_.push_back(std::move(*r));
  }
  return out;
}

bool AddressRanges::contains(std::string_view address) const {
  const auto a = parse_address(address);
  return a && std::ranges::any_of(ranges_, [&](const OutboundRule& r) { return covers(r, *a); });
}

}  // namespace cronkit
