#pragma once
// Who may do what: the roles of API tokens, and the tokens as stored.

#include <optional>
#include <string>
#include <string_view>

#include "core/task.h"

namespace cronkit {

/// What a token may do. Each role may do everything the one before it may:
/// viewer reads everything but secrets; operator also runs, pauses, resumes and backfills
/// tasks and tests channels; admin also creates, changes and deletes tasks, channels and
/// tokens, applies task files and reads the audit trail.
enum class Role { viewer, operator_, admin };

std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

/// Whether `has` may do what `needs` may.
constexpr bool allows(Role has, Role needs) {
  return static_cast<int>(has) >= static_cast<int>(needs);
}

/// A named API token as stored: never the token itself, only its SHA-256.
struct ApiToken {
  std::string id;
  std::string name;
  Role role = Role::viewer;
  std::string hash;  // the token's SHA-256 as 64 lowercase hex digits
  Millis created_at = 0;
  std::string created_by;  // the actor that created it (a token's name, or "bootstrap")
  std::optional<Millis> expires_at;
  std::optional<Millis> last_used_at;
  std::optional<Millis> revoked_at;
  bool operator==(const ApiToken&) const = default;
};

/// Whether `name` is usable as a token's name: 1-64 letters, digits, '-', '_', '.'.
bool valid_token_name(std::string_view name);
inline constexpr std::string_view kTokenNameRule = "must be 1-64 letters, digits, '-', '_' or '.'";

}  // namespace cronkit
