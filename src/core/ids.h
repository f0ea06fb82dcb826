#pragma once

#include <string>
#include <string_view>

#include "core/task.h"

namespace cronkit {

/// A new UUID version 7 ("0190b8c4-...") for `now`: unique, and ordered by time, which
/// keeps inserts at the end of the database's indexes; ids a process makes in the same
/// millisecond are ordered as they were made. Thread-safe.
std::string new_id(Millis now);

/// Whether `text` has the form of an id (8-4-4-4-12 lowercase hex digits).
bool looks_like_id(std::string_view text);

/// A string below every id made by `new_id(t)` for t >= `at` and above every id made for
/// t < `at`, for range queries over ids: `id >= id_floor(at)`.
std::string id_floor(Millis at);

}  // namespace cronkit
