#pragma once

#include <string>

#include "core/task.h"

namespace cronkit {

/// A new UUID version 7 ("0190b8c4-...") for `now`: unique, and ordered by time, which
/// keeps inserts at the end of the database's indexes. Thread-safe.
std::string new_id(Millis now);

}  // namespace cronkit
