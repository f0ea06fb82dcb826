#include "core/ids.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace cronkit {

std::string new_id(Millis now) {
  // RFC 9562 6.2, method 1: a 26-bit counter after the milliseconds (the 12 bits of rand_a
  // and the first 14 of rand_b), started at random in its lower half each millisecond and
  // counted up within it, so that ids made one after the other in a millisecond are
  // ordered too; 48 random bits follow. (2^25 ids in one millisecond do not happen.)
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  static Millis last_ms = -1;
  static std::uint32_t counter = 0;
  std::uint64_t random;
  std::uint32_t count;
  {
    std::lock_guard lock{mutex};
    random = rng();
    if (now == last_ms) {
      ++counter;
    } else {
      last_ms = now;
      counter = static_cast<std::uint32_t>(rng() & 0x1ffffff);
    }
    count = counter & 0x3ffffff;
  }
  std::array<unsigned char, 16> u{};
  auto ms = static_cast<std::uint64_t>(now);
  for (int i = 0; i < 6; ++i)
    u[static_cast<std::size_t>(i)] = (ms >> (40 - 8 * i)) & 0xff;
  u[6] = static_cast<unsigned char>(0x70 | ((count >> 22) & 0x0f));  // version 7
  u[7] = static_cast<unsigned char>((count >> 14) & 0xff);
  u[8] = static_cast<unsigned char>(0x80 | ((count >> 8) & 0x3f));  // RFC 9562 variant
  u[9] = static_cast<unsigned char>(count & 0xff);
  for (int i = 0; i < 6; ++i)
    u[static_cast<std::size_t>(10 + i)] = (random >> (8 * i)) & 0xff;
  // Written in place: this runs once per execution.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;
    text[at++] = kHex[u[i] >> 4];
    text[at++] = kHex[u[i] & 15];
  }
  return text;
}

bool looks_like_id(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string id_floor(Millis at) {
  // The first 48 bits of a version 7 id are its milliseconds: "tttttttt-tttt".
  static constexpr char kHex[] = "0123456789abcdef";
  auto ms = static_cast<std::uint64_t>(std::max<Millis>(at, 0));
  std::string text;
  for (int i = 0; i < 12; ++i) {
    if (i == 8) text += '-';
    text += kHex[(ms >> (44 - 4 * i)) & 15];
  }
  return text;
}

}  // namespace cronkit
