#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/http_server.h"

namespace cronkit::api {

/// A file of a built web app, embedded in the binary: its path from the app's root
/// ("/index.html"), its bytes, and its gzip form if the build made one (else empty).
struct StaticFile {
  std::string_view path;
  std::string_view body;
  std::string_view gzip;
};

/// Serves a single-page app under `prefix` ("/admin/scheduler"): its files by path; any
/// other path that is not an asset gets index.html, so the app's own routes survive a
/// reload. Hashed assets (under /assets/) are cached for a year as immutable, the rest is
/// revalidated; gzip is sent to clients that accept it. Public, like any login page: the
/// data behind it is the API's, which checks the token.
class StaticSite {
 public:
  StaticSite(std::string prefix, std::span<const StaticFile> files);

  /// The answer for `req` if its path is under the prefix (or is the prefix); nullopt for
  /// any other path.
  std::optional<Response> serve(const Request& req) const;

 private:
  const StaticFile* find(std::string_view path) const;
  Response file(const Request& req, const StaticFile& f) const;

  std::string prefix_;
  std::span<const StaticFile> files_;
};

/// True if an Accept-Encoding header value admits gzip ("gzip", "*", not with q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace cronkit::api
