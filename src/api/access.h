#pragma once
// Who sent a request: the bootstrap token (--api-token) and the named tokens of the store,
// each with a role.

#include <expected>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/access.h"
#include "core/clock.h"
#include "core/store.h"

namespace cronkit::api {

/// Who sent a request.
struct Principal {
  /// A named token's name; "bootstrap" for --api-token; "anonymous" when the server takes
  /// requests without a token.
  std::string actor;
  Role role = Role::viewer;
  std::string token_id;  // a named token's id; empty otherwise
};

/// Why a request's token was refused: the message of its 401, and the token's name when it
/// is a named token that was revoked or has expired (empty otherwise).
struct Refused {
  std::string message;
  std::string name;
};

/// A new token: "ck_" and 256 bits from the kernel's random source, in base64url (46
/// characters in all). Only its token_hash() is stored.
std::string new_token();

/// The SHA-256 of `token` in lowercase hex. A token carries 256 random bits, so a fast hash
/// is enough: nobody can search that space, and no salt is needed.
std::string token_hash(std::string_view token);

/// Finds who sent a request from its Authorization header. Named tokens are read from the
/// store by their hash and remembered for up to kRecheck, so that a revocation through
/// another server is seen within that time and a request costs no query otherwise.
/// Thread-safe.
class Authenticator {
 public:
  static constexpr Millis kRecheck = 1000;
  /// How stale a token's last use may be before it is written again.
  static constexpr Millis kUseResolution = 60'000;

  /// Without a bootstrap token, no request needs a token: each is "anonymous", an admin.
  Authenticator(Store& store, const Clock& clock, std::string_view bootstrap_token);

  /// Whether requests must carry a token.
  bool required() const { return !bootstrap_hash_.empty(); }
  /// Who sent a request with this Authorization header (empty: none), or why it is refused
  /// (a 401). Throws StoreError when the store cannot be read.
  std::expected<Principal, Refused> authenticate(std::string_view authorization);
  /// Forgets what it remembers of named tokens (after a revocation through this server).
  void forget();

 private:
  struct Seen {
    ApiToken token;
    Millis checked_at = 0;
  };
  std::expected<Principal, Refused> named(const std::string& hash);

  Store& store_;
  const Clock& clock_;
  const std::string bootstrap_hash_;
  std::mutex mutex_;
  std::unordered_map<std::string, Seen> seen_;  // by hash
};

}  // namespace cronkit::api
