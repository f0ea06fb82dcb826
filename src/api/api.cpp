#include "api/api.h"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/json_body.h"
#include "api/json_codec.h"
#include "api/task_spec.h"
#include "core/ids.h"
#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace cronkit::api {

namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr int kMaxPageSize = 500;
constexpr int kRecentExecutions = 20;
constexpr int kMaxPreview = 50;

// Ends a handler early with an error answer.
struct Failure {
  http::status status;
  std::string message;
  json::value data = nullptr;
};

Response respond(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response answer(http::status status, const json::object& envelope) {
  return respond(status, json::serialize(envelope));
}

Response ok(json::value data, http::status status = http::status::ok) {
  return answer(status, {{"code", 0}, {"message", "ok"}, {"data", std::move(data)}});
}

// A successful answer written as text, for records:
//   Answer a;  a.data().begin_object()...end_object();  return std::move(a).done();
class Answer {
 public:
  Answer() {
    body_.reserve(4096);
    w_.begin_object().key("code").value(0).key("message").value("ok").key("data");
  }
  JsonWriter& data() { return w_; }
  std::string text() && {
    w_.end_object();
    return std::move(body_);
  }
  Response done(http::status status = http::status::ok) && {
    return respond(status, std::move(*this).text());
  }

 private:
  std::string body_;
  JsonWriter w_{body_};
};

// A record as the whole data of an answer.
template <typename Record>
Response ok_record(const Record& r, http::status status = http::status::ok) {
  Answer a;
  a.data().begin_object();
  write_fields(a.data(), r);
  a.data().end_object();
  return std::move(a).done(status);
}

Response error(const Failure& f) {
  return answer(f.status,
                {{"code", static_cast<int>(f.status)}, {"message", f.message}, {"data", f.data}});
}

json::array to_json(const FieldErrors& errors) {
  json::array out;
  for (const auto& e : errors)
    out.push_back(json::object{{"field", e.field}, {"message", e.message}});
  return out;
}

[[noreturn]] void invalid(FieldErrors errors) {
  throw Failure{http::status::unprocessable_entity, "validation failed", to_json(errors)};
}

[[noreturn]] void bad_parameter(std::string name, std::string message) {
  throw Failure{http::status::bad_request, "invalid query parameter " + name,
                to_json(FieldErrors{{std::move(name), std::move(message)}})};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ("+" is a space in a query); nullopt for a broken escape.
std::optional<std::string> decode(std::string_view s, bool query) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += query && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// True for well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xe  ? 3
                    : (b >> 3) == 0x1e ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c >> 6) != 0x2) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kSmallest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

// Decoded query text: valid UTF-8 without control characters.
bool clean_text(std::string_view s) {
  return valid_utf8(s) && std::none_of(s.begin(), s.end(),
                                       [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// Why a request path is refused before any route sees it, if it is: paths are compared as
// they come, so anything that another server or proxy might read differently (dot
// segments, encoded slashes, backslashes, NULs, bytes outside printable ASCII, broken
// escapes, absolute URLs) is a 400 rather than a guess.
std::optional<std::string_view> path_problem(std::string_view path) {
  if (!path.starts_with('/')) return "the request target must be a path starting with /";
  for (char c : path) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '\\') return "the path holds a character it may not";
  }
  auto decoded = decode(path, false);
  if (!decoded || !clean_text(*decoded)) return "the path holds a broken or forbidden escape";
  for (auto escape : {"%2f", "%2F", "%5c", "%5C"}) {
    if (path.find(escape) != path.npos) return "the path holds an encoded slash";
  }
  for (std::size_t start = 1; start <= decoded->size();) {
    auto end = decoded->find('/', start);
    if (end == std::string::npos) end = decoded->size();
    auto segment = std::string_view{*decoded}.substr(start, end - start);
    if (segment == "." || segment == "..") return "the path holds a . or .. segment";
    start = end + 1;
  }
  return std::nullopt;
}

// Refuses a query parameter the route does not take: a typo would otherwise be ignored.
// (Call::get refuses one given twice.)
void check_query(const std::vector<std::pair<std::string, std::string>>& query,
                 const Route& route) {
  for (const auto& [key, value] : query) {
    if (std::find(route.query.begin(), route.query.end(), key) != route.query.end()) continue;
    std::string known;
    for (const auto& k : route.query)
      known += (known.empty() ? "" : ", ") + k;
    bad_parameter(key, known.empty() ? "is not taken here (this route takes no query parameters)"
                                     : "is not taken here (this route takes " + known + ")");
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    auto end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace

// What a handler knows of its request.
struct Api::Call {
  const Request& req;
  std::vector<std::string> params;  // the :segments of the route, in order
  std::vector<std::pair<std::string, std::string>> query;

  const std::string& id() const { return params.at(0); }

  std::optional<std::string_view> get(std::string_view name) const {
    std::optional<std::string_view> found;
    for (const auto& [k, v] : query) {
      if (k != name) continue;
      if (found) bad_parameter(std::string(name), "is given more than once");
      found = v;
    }
    return found;
  }

  int integer(std::string_view name, int fallback, int min, int max) const {
    auto v = get(name);
    if (!v) return fallback;
    int n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size()) {
      bad_parameter(std::string(name), "must be a whole number");
    }
    if (n < min || n > max) {
      bad_parameter(std::string(name),
                    "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return n;
  }

  // The body as JSON; `required` false lets an empty body through as null.
  json::value body(bool required = true) const {
    if (req.body().empty()) {
      if (!required) return nullptr;
      throw Failure{http::status::bad_request, "a JSON body is required"};
    }
    auto type = req[http::field::content_type];
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ')
      media.remove_suffix(1);
    if (!boost::beast::iequals(media, "application/json")) {
      throw Failure{http::status::unsupported_media_type, "Content-Type must be application/json"};
    }
    auto v = parse_json_body(req.body());
    if (!v) throw Failure{http::status::bad_request, std::move(v.error())};
    return std::move(*v);
  }
};

Api::Api(Store& store, engine::Engine& engine, const Registry& registry, const Clock& clock,
         ApiOptions options)
    : store_(store),
      engine_(engine),
      registry_(registry),
      clock_(clock),
      options_(std::move(options)),
      tasks_(store, engine, clock,
             [this](std::string_view event, const Task& task) { announce(event, task); }),
      ui_(std::string(kAdminUiPath), options_.ui_files) {}

void Api::announce(std::string_view event, const Task& task) {
  // Enough for a client to refresh; never the payload, headers or body.
  if (options_.events) {
    options_.events->publish(
        event, json::object{{"id", task.id}, {"name", task.name}, {"enabled", task.enabled}});
  }
}

namespace {

// Compares in time that depends only on the length of `expected`, so that a client cannot
// find the token byte by byte.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

bool authorized(const Request& req, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  auto header = req[http::field::authorization];
  if (header.size() < kScheme.size() ||
      !boost::beast::iequals(header.substr(0, kScheme.size()), kScheme)) {
    return false;  // no token at all: nothing secret to time
  }
  return same_secret(header.substr(kScheme.size()), token);
}

}  // namespace

const std::vector<Route>& Api::routes() {
  static const std::vector<Route> routes = {
      {"GET", "/api/scheduler/tasks", {"page", "pageSize", "type", "enabled", "name"}},
      {"POST", "/api/scheduler/tasks"},
      {"GET", "/api/scheduler/tasks/:id"},
      {"PUT", "/api/scheduler/tasks/:id"},
      {"DELETE", "/api/scheduler/tasks/:id"},
      {"POST", "/api/scheduler/tasks/:id/trigger"},
      {"POST", "/api/scheduler/tasks/:id/toggle"},
      {"GET", "/api/scheduler/executions", {"page", "pageSize", "taskId", "status"}},
      {"GET", "/api/scheduler/executions/:id"},
      {"GET", "/api/scheduler/stats"},
      {"POST", "/api/scheduler/cron/preview"},
      {"GET", "/healthz"},
      {"GET", "/readyz"},
      {"GET", "/metrics"},
      {"GET", "/api/openapi.json"},
      {"GET", "/api/scheduler/events"},  // answered before the table: a stream
  };
  return routes;
}

bool Api::valid_origin(std::string_view origin) {
  const auto colon = origin.find("://");
  if (colon == origin.npos) return false;
  const auto scheme = origin.substr(0, colon);
  const auto host = origin.substr(colon + 3);
  return (scheme == "http" || scheme == "https") && !host.empty() &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                  c == '[' || c == ']';
         });
}

Reply Api::handle(const Request& req) {
  // CORS only for the configured origins, compared exactly: a browser page from anywhere
  // else gets no Access-Control-* header and cannot read an answer.
  const auto origin = req.find(http::field::origin);
  const bool allowed =
      origin != req.end() && std::find(options_.cors_origins.begin(), options_.cors_origins.end(),
                                       origin->value()) != options_.cors_origins.end();
  if (!allowed) return route(req);
  if (req.method() == http::verb::options &&
      req.find(http::field::access_control_request_method) != req.end()) {
    Response res{http::status::no_content, 11};
    res.set(http::field::access_control_allow_origin, origin->value());
    res.set(http::field::access_control_allow_methods, "GET, POST, PUT, DELETE");
    res.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
    res.set(http::field::access_control_max_age, "600");
    res.set(http::field::vary, "Origin");
    res.prepare_payload();
    return res;
  }
  Reply reply = route(req);
  reply.response.set(http::field::access_control_allow_origin, origin->value());
  reply.response.set(http::field::vary, "Origin");
  return reply;
}

Reply Api::route(const Request& req) {
  // Plain function pointers, in the order of routes(). (An array of pointers to members
  // makes GCC 12's bounds sanitizer report a bogus index.)
  using Handler = Response (*)(Api&, Call&);
  static const Handler handlers[] = {
      [](Api& a, Call& c) { return a.list_tasks(c); },
      [](Api& a, Call& c) { return a.create_task(c); },
      [](Api& a, Call& c) { return a.get_task(c); },
      [](Api& a, Call& c) { return a.update_task(c); },
      [](Api& a, Call& c) { return a.delete_task(c); },
      [](Api& a, Call& c) { return a.trigger_task(c); },
      [](Api& a, Call& c) { return a.toggle_task(c); },
      [](Api& a, Call& c) { return a.list_executions(c); },
      [](Api& a, Call& c) { return a.get_execution(c); },
      [](Api& a, Call& c) { return a.stats(c); },
      [](Api& a, Call& c) { return a.preview(c); },
      [](Api& a, Call& c) { return a.healthz(c); },
      [](Api& a, Call& c) { return a.readyz(c); },
      [](Api& a, Call& c) { return a.metrics(c); },
      [](Api& a, Call& c) { return a.openapi(c); },
  };
  static_assert(std::size(handlers) == 15);
  try {
    std::string_view target = req.target();
    auto q = target.find('?');
    auto raw_path = target.substr(0, q);
    if (auto problem = path_problem(raw_path)) {
      throw Failure{http::status::bad_request, std::string(*problem)};
    }
    Call call{req, {}, {}};
    if (q != std::string_view::npos) {
      for (auto pair : split(target.substr(q + 1), '&')) {
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto key = decode(pair.substr(0, eq), true);
        auto value = decode(eq == pair.npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!key || !value || !clean_text(*key) || !clean_text(*value)) {
          throw Failure{http::status::bad_request,
                        "malformed query string: broken escape, invalid UTF-8 or a control "
                        "character"};
        }
        call.query.emplace_back(std::move(*key), std::move(*value));
      }
    }
    // The admin UI is public, like any login page; its data comes from the API below.
    if (raw_path == "/") {
      Response res{http::status::found, 11};
      res.set(http::field::location, std::string(kAdminUiPath) + "/");
      res.set(http::field::cache_control, "no-store");
      res.prepare_payload();
      return res;
    }
    if (auto page = ui_.serve(req)) return std::move(*page);
    if (!options_.api_token.empty() && raw_path != "/healthz" &&
        !authorized(req, options_.api_token)) {
      Response res = error({http::status::unauthorized,
                            "authentication required: send Authorization: Bearer <token>"});
      res.set(http::field::www_authenticate, "Bearer");
      return res;
    }
    if (raw_path == "/api/scheduler/events" && options_.events) {
      if (req.method() != http::verb::get) {
        Response res = error({http::status::method_not_allowed, "use GET for the event stream"});
        res.set(http::field::allow, "GET");
        return res;
      }
      Response head{http::status::ok, 11};
      head.set(http::field::content_type, "text/event-stream");
      head.set(http::field::cache_control, "no-store");
      head.set("X-Content-Type-Options", "nosniff");
      Reply reply{std::move(head)};
      reply.on_stream = [hub = options_.events](std::shared_ptr<StreamSink> sink) {
        hub->subscribe(std::move(sink));
      };
      return reply;
    }
    auto segments = split(raw_path, '/');
    std::vector<std::string> allowed;
    const auto& all = routes();
    for (std::size_t r = 0; r < std::size(handlers); ++r) {
      auto pattern = split(all[r].path, '/');
      if (pattern.size() != segments.size()) continue;
      std::vector<std::string> params;
      bool match = true;
      for (std::size_t i = 0; i < pattern.size() && match; ++i) {
        if (pattern[i].starts_with(':')) {
          auto v = decode(segments[i], false);
          match = v && !v->empty();
          if (match) params.push_back(std::move(*v));
        } else {
          match = pattern[i] == segments[i];
        }
      }
      if (!match) continue;
      if (req.method_string() != all[r].method) {
        allowed.push_back(all[r].method);
        continue;
      }
      check_query(call.query, all[r]);
      call.params = std::move(params);
      return handlers[r](*this, call);
    }
    if (!allowed.empty()) {
      std::string allow;
      for (const auto& m : allowed)
        allow += (allow.empty() ? "" : ", ") + m;
      Response res = error({http::status::method_not_allowed,
                            "method " + std::string(req.method_string()) + " is not allowed here"});
      res.set(http::field::allow, allow);
      return res;
    }
    return error({http::status::not_found, "no such route: " + std::string(raw_path)});
  } catch (const Failure& f) {
    return error(f);
  } catch (const StoreError& e) {
    return error(
        {http::status::service_unavailable, std::string("database unavailable: ") + e.what()});
  }
}

// ---- tasks -----------------------------------------------------------------------------

Response Api::list_tasks(Call& c) {
  TaskFilter filter;
  filter.page = c.integer("page", 1, 1, 1000000);
  filter.page_size = c.integer("pageSize", 20, 1, kMaxPageSize);
  if (auto type = c.get("type")) {
    filter.type = parse_task_type(*type);
    if (!filter.type) bad_parameter("type", "must be function or http");
  }
  if (auto enabled = c.get("enabled")) {
    if (*enabled == "1" || *enabled == "true") {
      filter.enabled = true;
    } else if (*enabled == "0" || *enabled == "false") {
      filter.enabled = false;
    } else {
      bad_parameter("enabled", "must be true, false, 1 or 0");
    }
  }
  if (auto name = c.get("name"); name && !name->empty()) {
    if (name->size() > 200) bad_parameter("name", "must be at most 200 characters");
    filter.name_contains = std::string(*name);
  }
  // Read before the data: a change during the build moves them, and the page is rebuilt.
  const AnswerCache::Versions versions{store_.version(), engine_.schedule_version()};
  const std::string_view key = c.req.target();
  if (auto body = task_pages_.find(key, versions))
    return respond(http::status::ok, std::move(*body));
  auto page = store_.list_tasks(filter);
  std::vector<std::string_view> ids;
  ids.reserve(page.list.size());
  for (const auto& listed : page.list)
    ids.push_back(listed.task.id);
  auto next_runs = engine_.next_runs(ids);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("list").begin_array();
  for (std::size_t i = 0; i < page.list.size(); ++i) {
    const auto& [t, last_status] = page.list[i];
    w.begin_object();
    write_fields(w, t);
    w.key("nextRun").value(next_runs[i]);
    w.key("lastStatus");
    last_status ? w.value(to_string(*last_status)) : w.null();
    w.end_object();
  }
  w.end_array();
  w.key("total").value(page.total).key("page").value(page.page);
  w.key("pageSize").value(page.page_size);
  w.key("registeredFunctions").begin_array();
  for (const auto& n : registry_.names())
    w.value(n);
  w.end_array().end_object();
  std::string body = std::move(a).text();
  task_pages_.put(key, versions, body);
  return respond(http::status::ok, std::move(body));
}

Response Api::create_task(Call& c) {
  auto task = task_from_create(c.body(), registry_);
  if (!task) invalid(std::move(task.error()));
  return ok_record(tasks_.create(std::move(*task)), http::status::created);
}

Response Api::get_task(Call& c) {
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  auto recent = store_.recent_executions(task->id, kRecentExecutions);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("task").begin_object();
  write_fields(w, *task);
  w.key("nextRun").value(engine_.next_run(task->id));
  w.end_object().key("recentExecutions").begin_array();
  for (const auto& e : recent) {
    w.begin_object();
    write_fields(w, e);
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(a).done();
}

Response Api::update_task(Call& c) {
  json::value body = c.body();
  auto task = tasks_.update(c.id(), [&](const Task& current) {
    auto changed = task_from_update(body, current, registry_);
    if (!changed) invalid(std::move(changed.error()));
    return std::move(*changed);
  });
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  return ok_record(*task);
}

Response Api::delete_task(Call& c) {
  if (!tasks_.remove(c.id())) throw Failure{http::status::not_found, "no task with id " + c.id()};
  return ok(nullptr);
}

Response Api::trigger_task(Call& c) {
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  std::string id = engine_.trigger(*task);
  // `triggered` is the seed's answer, kept for its clients.
  return ok(json::object{{"executionId", id}, {"triggered", true}}, http::status::accepted);
}

Response Api::toggle_task(Call& c) {
  json::value body = c.body();
  auto* o = body.if_object();
  const json::value* enabled = o ? o->if_contains("enabled") : nullptr;
  if (!enabled || !enabled->is_bool()) {
    throw Failure{http::status::bad_request, "the body must be {\"enabled\": true or false}",
                  to_json(FieldErrors{{"enabled", "is required and must be a boolean"}})};
  }
  if (o->size() != 1) {
    for (const auto& [k, v] : *o) {
      if (k != "enabled") invalid({{std::string(k), "is not a field of a toggle"}});
    }
  }
  auto task = tasks_.set_enabled(c.id(), enabled->get_bool());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  return ok_record(*task);
}

// ---- executions and stats --------------------------------------------------------------

Response Api::list_executions(Call& c) {
  ExecutionFilter filter;
  filter.page = c.integer("page", 1, 1, 1000000);
  filter.page_size = c.integer("pageSize", 20, 1, kMaxPageSize);
  if (auto task = c.get("taskId")) filter.task_id = std::string(*task);
  if (auto status = c.get("status")) {
    filter.status = parse_execution_status(*status);
    if (!filter.status) {
      bad_parameter("status", "must be queued, running, success, failed, timed_out or skipped");
    }
  }
  auto page = store_.list_executions(filter);
  std::vector<std::string_view> task_ids;
  for (const auto& e : page.list)
    task_ids.push_back(e.task_id);
  const auto names = store_.task_names(task_ids);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("list").begin_array();
  for (const auto& e : page.list) {
    w.begin_object();
    write_fields(w, e);
    // null only when the task was deleted between the two reads
    auto name = names.find(e.task_id);
    w.key("taskName");
    name != names.end() ? w.value(name->second) : w.null();
    w.end_object();
  }
  w.end_array();
  w.key("total").value(page.total).key("page").value(page.page);
  w.key("pageSize").value(page.page_size).end_object();
  return std::move(a).done();
}

Response Api::get_execution(Call& c) {
  auto e = store_.get_execution(c.id());
  if (!e) throw Failure{http::status::not_found, "no execution with id " + c.id()};
  return ok_record(*e);
}

Response Api::stats(Call&) {
  const Stats stats = store_.stats(clock_.now());
  Answer a;
  a.data().begin_object();
  write_fields(a.data(), stats);
  // `activeJobs` is the seed's name for the same number, kept for its clients.
  const std::int64_t scheduled = engine_.counters().scheduled_tasks;
  a.data().key("scheduledJobs").value(scheduled).key("activeJobs").value(scheduled);
  a.data().end_object();
  return std::move(a).done();
}

Response Api::preview(Call& c) {
  json::value body = c.body();
  auto* o = body.if_object();
  if (!o) invalid({{"body", "must be a JSON object"}});
  FieldErrors errors;
  for (const auto& [k, v] : *o) {
    if (k != "cronExpression" && k != "timezone" && k != "count") {
      errors.push_back({std::string(k), "is not a field of a preview"});
    }
  }
  std::string pattern, zone_name = "UTC";
  int count = 5;
  if (auto* v = o->if_contains("cronExpression"); v && v->is_string()) {
    pattern = std::string(v->get_string());
  } else {
    errors.push_back({"cronExpression", "is required and must be a string"});
  }
  if (auto* v = o->if_contains("timezone")) {
    if (v->is_string()) {
      zone_name = std::string(v->get_string());
    } else {
      errors.push_back({"timezone", "must be a string"});
    }
  }
  if (auto* v = o->if_contains("count")) {
    if (v->is_int64() && v->get_int64() >= 1 && v->get_int64() <= kMaxPreview) {
      count = static_cast<int>(v->get_int64());
    } else {
      errors.push_back(
          {"count", "must be a whole number from 1 to " + std::to_string(kMaxPreview)});
    }
  }
  if (!errors.empty()) invalid(std::move(errors));
  auto zone = cron::Zone::find(zone_name);
  if (!zone) invalid({{"timezone", zone.error()}});
  auto expr = cron::CronExpr::parse(pattern);
  if (!expr) {
    throw Failure{http::status::unprocessable_entity, "validation failed",
                  json::array{json::object{{"field", "cronExpression"},
                                           {"message", expr.error().describe()},
                                           {"column", expr.error().column}}}};
  }
  const Millis now = clock_.now();
  json::array next;
  auto from = cron::Instant{std::chrono::seconds{now / 1000}};
  for (auto t : expr->next_n(from, **zone, static_cast<std::size_t>(count)))
    next.push_back(t.time_since_epoch().count() * 1000);
  return ok(json::object{{"cronExpression", pattern},
                         {"canonical", expr->canonical()},
                         {"timezone", zone_name},
                         {"nextRuns", std::move(next)}});
}

Response Api::healthz(Call&) {
  return ok(json::object{{"status", "ok"}});
}

Response Api::metrics(Call&) {
  static const Metrics none;
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  std::string text = (options_.metrics ? *options_.metrics : none).render(engine_.counters());
  text += "# HELP cronkit_task_page_cache_hits_total Pages of tasks answered from the cache.\n";
  text += "# TYPE cronkit_task_page_cache_hits_total counter\n";
  text += "cronkit_task_page_cache_hits_total " + std::to_string(task_pages_.hits()) + "\n";
  text += "# HELP cronkit_task_page_cache_misses_total Pages of tasks built from the store.\n";
  text += "# TYPE cronkit_task_page_cache_misses_total counter\n";
  text += "cronkit_task_page_cache_misses_total " + std::to_string(task_pages_.misses()) + "\n";
  res.body() = std::move(text);
  res.prepare_payload();
  return res;
}

Response Api::openapi(Call&) {
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::string(openapi_json());
  res.prepare_payload();
  return res;
}

Response Api::readyz(Call&) {
  if (!store_.ping()) {
    throw Failure{http::status::service_unavailable, "not ready: the database does not answer"};
  }
  if (auto failure = engine_.write_failure()) {
    throw Failure{
        http::status::service_unavailable,
        "not ready: execution records cannot be written (they are kept and retried): " + *failure};
  }
  if (!engine_.ready()) {
    throw Failure{http::status::service_unavailable,
                  "not ready: this server's heartbeat has not reached the database lately, so "
                  "it starts nothing"};
  }
  return ok(json::object{{"status", "ready"}});
}

}  // namespace cronkit::api
