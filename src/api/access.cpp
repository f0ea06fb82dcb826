#include "api/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <boost/beast/core/string.hpp>
#include <cerrno>
#include <system_error>

namespace cronkit::api {

namespace {

constexpr std::string_view kTokenPrefix = "ck_";
constexpr std::size_t kMaxRemembered = 4096;

std::string base64url(std::span<const unsigned char> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (unsigned char b : bytes) {
    bits = (bits << 8) | b;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += kAlphabet[(bits >> held) & 63];
    }
  }
  if (held > 0) out += kAlphabet[(bits << (6 - held)) & 63];
  return out;
}

std::string refused_message(const ApiToken& t, Millis now) {
  if (t.revoked_at) return "token \"" + t.name + "\" was revoked";
  if (t.expires_at && *t.expires_at <= now) return "token \"" + t.name + "\" has expired";
  return {};
}

}  // namespace

std::string new_token() {
  std::array<unsigned char, 32> raw{};
  std::size_t got = 0;
  while (got < raw.size()) {
    const ssize_t n = getrandom(raw.data() + got, raw.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<std::size_t>(n);
  }
  return std::string(kTokenPrefix) + base64url(raw);
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

Authenticator::Authenticator(Store& store, const Clock& clock, std::string_view bootstrap_token)
    : store_(store),
      clock_(clock),
      bootstrap_hash_(bootstrap_token.empty() ? std::string{} : token_hash(bootstrap_token)) {}

std::expected<Principal, Refused> Authenticator::authenticate(std::string_view authorization) {
  if (!required()) return Principal{.actor = "anonymous", .role = Role::admin};
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::unexpected(
        Refused{"authentication required: send Authorization: Bearer <token>", ""});
  }
  // Compared as hashes: equal lengths, and CRYPTO_memcmp's time does not depend on where
  // they differ. The store finds a named token by its hash, which tells nothing of a token.
  const std::string hash = token_hash(authorization.substr(kScheme.size()));
  if (CRYPTO_memcmp(hash.data(), bootstrap_hash_.data(), hash.size()) == 0) {
    return Principal{.actor = "bootstrap", .role = Role::admin};
  }
  return named(hash);
}

std::expected<Principal, Refused> Authenticator::named(const std::string& hash) {
  const Millis now = clock_.now();
  std::optional<ApiToken> token;
  {
    std::lock_guard lock{mutex_};
    if (auto it = seen_.find(hash); it != seen_.end() && now - it->second.checked_at < kRecheck &&
                                    now >= it->second.checked_at) {
      token = it->second.token;
    }
  }
  const bool read = !token;
  if (read) {
    token = store_.find_token(hash);
    if (!token) return std::unexpected(Refused{"the token is not known", ""});
  }
  if (auto refused = refused_message(*token, now); !refused.empty()) {
    return std::unexpected(Refused{std::move(refused), token->name});
  }
  const bool used = !token->last_used_at || now - *token->last_used_at >= kUseResolution;
  if (used) {
    store_.token_used(token->id, now);
    token->last_used_at = now;
  }
  if (read || used) {
    std::lock_guard lock{mutex_};
    if (seen_.size() >= kMaxRemembered) seen_.clear();
    auto& seen = seen_[hash];
    if (read) seen.checked_at = now;
    seen.token = *token;
  }
  return Principal{.actor = token->name, .role = token->role, .token_id = token->id};
}

void Authenticator::forget() {
  std::lock_guard lock{mutex_};
  seen_.clear();
}

}  // namespace cronkit::api
