#pragma once
// What the audit trail says of a change: the fields an update changed, each with its old and
// new value, secrets read as kHidden.

#include <optional>
#include <string>

#include "core/channel.h"
#include "core/task.h"

namespace cronkit::api {

/// {field: {"old": value, "new": value}} for each field of the task's definition that
/// changed (its updatedAt aside), as JSON text; none if nothing did. A secret that changed
/// shows as kHidden on both sides (header and variable names stay visible).
std::optional<std::string> task_changes(const Task& before, const Task& after);

/// The same for a channel: its URL (a Slack webhook's path hidden), its header names, and
/// whether its secret, password or a header's value changed, never their values.
std::optional<std::string> channel_changes(const Channel& before, const Channel& after);

}  // namespace cronkit::api
