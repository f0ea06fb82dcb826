#pragma once

#include <span>

#include "api/static_files.h"

namespace cronkit::web {

/// The admin UI's files as built from web/ (paths from "/", e.g. "/index.html" and
/// "/assets/index-1a2b3c4d.js"), embedded in the binary.
std::span<const api::StaticFile> admin_ui_files();

}  // namespace cronkit::web
