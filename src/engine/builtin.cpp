#include "engine/builtin.h"

#include <string>

namespace cronkit::engine {

void add_builtin_functions(Registry& registry, Store& store, const Clock& clock) {
  registry.add("cleanup-logs", [&store, &clock](const TaskContext& ctx) -> TaskResult {
    std::int64_t days = 30;
    if (const auto* obj = ctx.payload.if_object()) {
      if (const auto* d = obj->if_contains("days")) {
        if (!d->is_int64() && !d->is_uint64()) {
          return {false, "payload.days must be a whole number of days"};
        }
        days = d->is_int64() ? d->as_int64() : static_cast<std::int64_t>(d->as_uint64());
        if (days < 0 || days > 36500) return {false, "payload.days must be 0 to 36500"};
      }
    } else if (!ctx.payload.is_null()) {
      return {false, "payload must be an object such as {\"days\": 30}"};
    }
    const Millis cutoff = clock.now() - days * 86400000;
    const std::int64_t deleted = store.delete_successful_before(cutoff);
    return {true, "deleted " + std::to_string(deleted) + " successful execution" +
                      (deleted == 1 ? "" : "s") + " older than " + std::to_string(days) + " day" +
                      (days == 1 ? "" : "s")};
  });
}

}  // namespace cronkit::engine
