#pragma once

#include <string>

namespace cronkit::app {

/// Sends spdlog's default logger to stderr, as text ("2026-11-27T08:00:00.000Z info ...")
/// or as one JSON object per line ({"time":...,"level":...,"message":...}).
/// Returns an error message for an unknown format or level.
std::string setup_logging(const std::string& format, const std::string& level);

}  // namespace cronkit::app
