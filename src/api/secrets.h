#pragma once
// What of a task is secret, hidden from whoever is not an admin: the values of its HTTP
// headers and of its command's environment, its HTTP body and its command's input.

#include <string_view>

#include "api/task_spec.h"
#include "core/access.h"
#include "core/task.h"

namespace cronkit::api {

/// What a hidden value reads as. Written back in an update or an apply, it stands for the
/// value stored.
inline constexpr std::string_view kHidden = "<hidden>";

/// Whether `role` may read secrets.
constexpr bool sees_secrets(Role role) {
  return role == Role::admin;
}

/// The task with each secret value replaced by kHidden (header and variable names stay).
Task hide_secrets(Task t);

/// Puts the stored values of `stored` back where `t` carries kHidden, so that a definition
/// read as hidden and written back leaves the secrets as they are. A kHidden with nothing
/// stored behind it (a new task, or a header or variable the stored task lacks) is an error
/// naming the field.
FieldErrors restore_hidden(Task& t, const Task* stored);

}  // namespace cronkit::api
