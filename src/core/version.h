#pragma once

#include <string>
#include <string_view>

namespace cronkit {

/// The version of this build: CMake's project(VERSION), e.g. "0.1.0".
std::string_view build_version();
/// The git commit it was built from (12 hex digits, "-dirty" when the checkout had changes),
/// or empty when it was not built from a checkout.
std::string_view build_commit();

/// "cronkit 0.1.0 (commit 0123456789ab)", or "cronkit 0.1.0" without a commit.
inline std::string build_description() {
  std::string out = "cronkit " + std::string(build_version());
  if (!build_commit().empty()) out += " (commit " + std::string(build_commit()) + ")";
  return out;
}

}  // namespace cronkit
