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

/// One row of the audit trail: a change somebody made (written in the transaction of the
/// change), or a request refused for its token.
struct AuditEntry {
  std::string id;  // time-ordered (new_id)
  Millis at = 0;
  std::string actor;    // a token's name, "bootstrap", "anonymous", or "cronkit" itself
  std::string address;  // the peer's IP address; empty for cronkit itself
  std::string action;   // "task.update", "token.revoke", "auth.failed"... (kAuditActions)
  std::optional<std::string> target_id;
  std::optional<std::string> target_name;
  /// A JSON object {field: {"old": value, "new": value}} of what an update changed.
  std::optional<std::string> changes;
  /// A JSON object of what else the action said (an execution's id, a backfill's range).
  std::optional<std::string> detail;
  bool operator==(const AuditEntry&) const = default;
};

/// Every action the audit trail records.
inline constexpr std::string_view kAuditActions[] = {
    "task.create",    "task.update",    "task.delete",    "task.pause",
    "task.resume",    "task.run",       "task.backfill",  "task.apply",
    "channel.create", "channel.update", "channel.delete", "channel.test",
    "token.create",   "token.revoke",   "auth.failed",    "auth.forbidden"};

}  // namespace cronkit
