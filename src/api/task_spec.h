#pragma once

#include <boost/json/value.hpp>
#include <expected>
#include <string>
#include <vector>

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
inline constexpr int kMaxRetries = 100;
inline constexpr int kMaxSeconds = 86400;
inline constexpr std::size_t kMaxUrlBytes = 8192;
inline constexpr std::size_t kMaxHeadersBytes = 16384;  // httpHeaders, as JSON text

/// The task a create request describes (id and timestamps left for the caller), or every
/// problem with it. Fields are the seed's camelCase names plus `timezone` and
/// `overlapPolicy`; unknown fields are refused; booleans may be given as 0 or 1.
///   auto task = task_from_create(boost::json::parse(body), registry);
std::expected<Task, FieldErrors> task_from_create(const boost::json::value& body,
                                                  const Registry& registry);

/// `current` with a partial update applied (a field set to null clears an optional one),
/// checked as a whole: a change of type must bring what the new type needs.
std::expected<Task, FieldErrors> task_from_update(const boost::json::value& body, Task current,
                                                  const Registry& registry);

}  // namespace cronkit::api
