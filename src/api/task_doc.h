#pragma once
// A task as a document: the fields `POST /api/scheduler/apply` takes and
// `GET /api/scheduler/export` writes (the create request's fields), in one fixed order.

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>

#include "core/task.h"

namespace cronkit::api {

/// Every field of the task's definition, in document order: name, type, cronExpression,
/// timezone, enabled, tags, the fields of each type, then the policies. Not its id, times,
/// run count or pause note: what the server keeps of a task, not what defines it. Two
/// tasks with equal documents run alike.
boost::json::object task_document(const Task& t);

/// A channel's name for a rule in an export, or nullopt to keep the rule's channelId (no
/// such channel, or its name is not unique).
using ChannelName = std::function<std::optional<std::string>(const std::string& channel_id)>;

/// task_document() as an export writes it: without the fields that hold their default
/// (name, type, cronExpression and timezone are always written), each rule without its
/// null fields and naming its channel by name where `channel_name` gives one.
boost::json::object exported_document(const Task& t, const ChannelName& channel_name);

}  // namespace cronkit::api
