#include "api/static_files.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

namespace cronkit::api {
namespace {

namespace http = boost::beast::http;

std::string_view content_type(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (auto [ext, type] : kTypes) {
    if (path.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The app may only load what it ships and talk only to this server.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    auto comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    auto semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    if (!boost::beast::iequals(coding, "gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = trim(item.substr(semi + 1));
    if (!param.starts_with("q=") && !param.starts_with("Q=")) return true;
    std::string_view q = trim(param.substr(2));
    // q=0, q=0.0, q=0.000 refuse; any other weight accepts.
    return q.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

StaticSite::StaticSite(std::string prefix, std::span<const StaticFile> files)
    : prefix_(std::move(prefix)), files_(files) {}

const StaticFile* StaticSite::find(std::string_view path) const {
  for (const auto& f : files_) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Response StaticSite::file(const Request& req, const StaticFile& f) const {
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, content_type(f.path));
  res.set(http::field::cache_control,
          f.path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  if (f.path.ends_with(".html")) res.set("Content-Security-Policy", kContentSecurityPolicy);
  std::string_view body = f.body;
  if (!f.gzip.empty()) {
    res.set(http::field::vary, "Accept-Encoding");
    if (accepts_gzip(req[http::field::accept_encoding])) {
      res.set(http::field::content_encoding, "gzip");
      body = f.gzip;
    }
  }
  res.body().assign(body);
  res.prepare_payload();
  return res;
}

std::optional<Response> StaticSite::serve(const Request& req) const {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path != prefix_ && !(path.starts_with(prefix_) && path[prefix_.size()] == '/')) {
    return std::nullopt;
  }
  if (req.method() != http::verb::get) {
    Response res{http::status::method_not_allowed, 11};
    res.set(http::field::allow, "GET");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "method not allowed\n";
    res.prepare_payload();
    return res;
  }
  std::string_view rel = path.substr(prefix_.size());
  if (rel.empty() || rel == "/") rel = "/index.html";
  if (const StaticFile* f = find(rel)) return file(req, *f);
  const StaticFile* index = find("/index.html");
  if (rel.starts_with("/assets/") || !index) {
    // A missing asset is a 404, never the page: a browser must not run HTML as a script.
    Response res{http::status::not_found, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = index ? "no such file\n" : "the admin UI is not built into this binary\n";
    res.prepare_payload();
    return res;
  }
  return file(req, *index);  // one of the app's own routes
}

}  // namespace cronkit::api
