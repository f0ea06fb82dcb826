#pragma once

#include <string>

namespace cronkit::app {

/// Sends spdlog's default logger to stderr, as text ("2026-11-27T08:00:00.000Z info ...")
/// or as one JSON object per line ({"time":...,"level":...,"message":...}).
/// Returns an error message for an unknown format or level. Lines are written by a thread
/// of their own (callers never wait for stderr); finish_logging() writes what is queued.
std::string setup_logging(const std::string& format, const std::string& level);

/// Writes every line queued so far and logs synchronously from then on.
void finish_logging();

}  // namespace cronkit::app
