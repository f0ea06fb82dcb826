#include "app/service_manager.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace cronkit::app::service_manager {

Millis watchdog_every_ms() {
  std::uint64_t usec = 0;
  // > 0 when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process).
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return 0;
  return std::max<Millis>(static_cast<Millis>(usec / 2000), 1);
}

void ready(std::string_view status) {
  sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void watchdog_alive() {
  sd_notify(0, "WATCHDOG=1");
}

void stopping() {
  sd_notify(0, "STOPPING=1\nSTATUS=stopping: letting running executions finish");
}

}  // namespace cronkit::app::service_manager
