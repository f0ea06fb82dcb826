#pragma once

#include <cstdint>
#include <string_view>

namespace cronkit {

/// splitmix64's finaliser: spreads every bit of x over the result.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// FNV-1a: the same on every server and every build (std::hash promises neither), for
/// choices that servers of a cluster must agree on.
constexpr std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace cronkit
