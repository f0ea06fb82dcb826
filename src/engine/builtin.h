#pragma once

#include "core/clock.h"
#include "core/store.h"
#include "cronkit/registry.h"

namespace cronkit::engine {

/// Adds the functions every cronkit has:
///   cleanup-logs  deletes successful executions older than payload.days (default 30).
void add_builtin_functions(Registry& registry, Store& store, const Clock& clock);

}  // namespace cronkit::engine
