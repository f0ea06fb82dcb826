#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outbound.h"
#include "core/task.h"
#include "cronkit/registry.h"

namespace cronkit::api {

/// One reason a request body was refused: the field (as the API names it, e.g.
/// "cronExpression") and what is wrong with it.
struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError&) const = default;
};
using FieldErrors = std::vector<FieldError>;

/// Limits of the task fields, shared by the validator and the API description.
inline constexpr std::size_t kMaxNameChars = 200;
inline constexpr std::size_t kMaxCronChars = 1024;      // cronExpression
inline constexpr std::size_t kMaxPauseNoteChars = 500;  // a toggle's note
inline constexpr std::size_t kMaxTextBytes = 262144;    // functionPayload, httpBody
inline constexpr int kMaxRetries = 100;
inline constexpr int kMaxSeconds = 86400;
inline constexpr int kMaxJitterSeconds = 3600;
inline constexpr int kMaxRunsLimit = 1000000;   // maxRuns
inline constexpr int kMaxFailuresLimit = 1000;  // pauseAfterFailures
inline constexpr int kMaxCatchUpWindowSeconds = 31 * 86400;
inline constexpr std::size_t kMaxBackfill = 10000;            // instants of one backfill
inline constexpr std::size_t kMaxBackfillCounted = 1000000;   // counted for the refusal
inline constexpr std::int64_t kMaxEpochMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
inline constexpr std::size_t kMaxUrlBytes = 8192;
inline constexpr std::size_t kMaxHeadersBytes = 16384;  // httpHeaders, as JSON text
inline constexpr std::size_t kMaxCommandItems = 256;
inline constexpr std::size_t kMaxCommandBytes = 131072;  // all of command's items together
inline constexpr std::size_t kMaxPathBytes = 4096;       // workingDirectory
inline constexpr std::size_t kMaxVariables = 256;        // environment
inline constexpr std::size_t kMaxVariableNameChars = 256;
inline constexpr std::size_t kMaxEnvironmentBytes = 131072;   // names and values together
inline constexpr std::size_t kMaxInputBytes = kMaxTextBytes;  // commandInput
inline constexpr std::size_t kMaxRules = 10;                  // notifications
inline constexpr int kMaxRealertMinutes = 43200;              // 30 days
// A webhook channel's secret (the HMAC-SHA256 key of its signatures).
inline constexpr std::size_t kMinSecretBytes = 16;
inline constexpr std::size_t kMaxSecretBytes = 1024;

/// What a tag may be, as the 4xx answers say it.
inline constexpr std::string_view kTagRule =
    "must be 1 to 64 characters of letters, digits, -, _, ., / and :";

/// What a server allows beyond the fields' own rules.
struct TaskRules {
  /// Command tasks run programs on the server: off unless it was started with
  /// --allow-commands.
  bool commands_allowed = false;
  /// Whether a notification channel with this id exists (not checked when empty).
  std::function<bool(const std::string& id)> channel_exists;
  /// Where the server may send requests: a URL whose host is a literal address (or a name)
  /// the rules deny is refused (not checked when null).
  const OutboundRules* outbound = nullptr;
};

/// The 422 message for a command task on a server that does not allow them.
inline constexpr std::string_view kCommandsOff =
    "command tasks are off on this server: start it with --allow-commands "
    "(CRONKIT_ALLOW_COMMANDS=1) to create them";

/// The task a create request describes (id and timestamps left for the caller), or every
/// problem with it. Fields are the seed's camelCase names plus `timezone` and
/// `overlapPolicy`; unknown fields are refused; booleans may be given as 0 or 1.
///   auto task = task_from_create(boost::json::parse(body), registry);
std::expected<Task, FieldErrors> task_from_create(const boost::json::value& body,
                                                  const Registry& registry, TaskRules rules = {});

/// `current` with a partial update applied (a field set to null clears an optional one),
/// checked as a whole: a change of type must bring what the new type needs. With commands
/// off, no change may leave a command task (pausing, resuming and deleting one go
/// through other routes).
std::expected<Task, FieldErrors> task_from_update(const boost::json::value& body, Task current,
                                                  const Registry& registry, TaskRules rules = {});

/// "a string", "an object", "null"...: what a JSON value is, for error messages.
std::string_view json_kind(const boost::json::value& v);

/// Why `url` is not an http(s) URL with a host, as libcurl parses it; nullopt if it is.
std::optional<std::string> url_problem(const std::string& url);
/// Why the outbound rules refuse a URL's host, if they do (a URL without a host: never).
std::optional<std::string> outbound_problem(const std::string& url, const OutboundRules& rules);

/// Why `text` is not a JSON object of header names (RFC 9110 tokens) to strings without
/// line breaks or NULs; nullopt if it is.
std::optional<std::string> headers_problem(const std::string& text);

}  // namespace cronkit::api
