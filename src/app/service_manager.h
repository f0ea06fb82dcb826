#pragma once

#include <string_view>

#include "core/clock.h"

namespace cronkit::app {

/// What the service manager (systemd, `Type=notify`) is told through sd_notify: nothing at
/// all unless it started the server with NOTIFY_SOCKET set.
namespace service_manager {

/// How often to send watchdog_alive(): half of WATCHDOG_USEC, or 0 when nothing watches.
Millis watchdog_every_ms();
/// READY=1, once the database is open, the scheduler runs and the API listens; `status`
/// shows in `systemctl status`.
void ready(std::string_view status);
/// WATCHDOG=1: the scheduler's loop still turns.
void watchdog_alive();
/// STOPPING=1, when a signal asked the server to stop.
void stopping();

}  // namespace service_manager
}  // namespace cronkit::app
