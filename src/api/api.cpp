#include "api/api.h"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/audit.h"
#include "api/handler.h"
#include "api/json_body.h"
#include "api/json_codec.h"
#include "api/request_target.h"
#include "api/secrets.h"
#include "api/task_spec.h"
#include "core/ids.h"
#include "core/text.h"
#include "core/version.h"
#include "cron/cron_expr.h"
#include "cron/zone.h"
#include "engine/timetable.h"

namespace cronkit::api {

namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr int kMaxPageSize = 500;
constexpr int kRecentExecutions = 20;
constexpr int kMaxPreview = 50;
constexpr std::string_view kEventsPath = "/api/scheduler/events";

// Whether the path is answered without a token.
bool is_open(std::string_view path) {
  static const std::vector<std::string> open = [] {
    std::vector<std::string> paths;
    for (const Route& r : Api::routes())
      if (r.open) paths.push_back(r.path);
    return paths;
  }();
  return std::find(open.begin(), open.end(), path) != open.end();
}

// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
// address of X-Forwarded-For ("client, proxy1, proxy2": each proxy appends the address it
// was sent from) that is not a trusted proxy itself. What is not an address ends the walk:
// nothing before it is believed.
std::string client_address(const Request& req, std::string_view peer,
                           const AddressRanges& proxies) {
  if (proxies.empty() || !proxies.contains(peer)) return std::string(peer);
  std::vector<std::string> hops;
  const auto [first, last] = req.equal_range("X-Forwarded-For");
  for (auto field = first; field != last; ++field) {
    for (std::string_view hop : split(field->value(), ',')) {
      while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t'))
        hop.remove_prefix(1);
      while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t'))
        hop.remove_suffix(1);
      hops.emplace_back(hop);
    }
  }
  std::string address(peer);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!parse_address(*it)) break;
    address = *it;
    if (!proxies.contains(*it)) break;
  }
  return address;
}

}  // namespace

Api::Api(Store& store, engine::Engine& engine, const Registry& registry, const Clock& clock,
         ApiOptions options)
    : store_(store),
      engine_(engine),
      registry_(registry),
      clock_(clock),
      options_(std::move(options)),
      auth_(std::make_shared<Authenticator>(store, clock, options_.api_token)),
      tasks_(store, engine, clock,
             [this](std::string_view event, const Task& task) { announce(event, task); }),
      ui_(std::string(kAdminUiPath), options_.ui_files),
      sender_(2, 10000, options_.outbound) {
  engine_.on_limits([this](const std::string& task_id) {
    // A pause cronkit makes itself (pauseAfterFailures) is in the audit trail too.
    tasks_.check_limits(task_id, [this](const Task* before, const Task* after) {
      const Millis now = clock_.now();
      AuditEntry e{.id = new_id(now),
                   .at = now,
                   .actor = "cronkit",
                   .action = "task.pause",
                   .target_id = after->id,
                   .target_name = after->name};
      e.changes = task_changes(*before, *after);
      return e;
    });
  });
}

Api::~Api() {
  engine_.on_limits({});
}

void Api::announce(std::string_view event, const Task& task) {
  // Enough for a client to refresh; never the payload, headers or body.
  if (options_.events) {
    options_.events->publish(
        event, json::object{{"id", task.id}, {"name", task.name}, {"enabled", task.enabled}});
  }
}

void Api::announce(std::string_view event, const Channel& channel) {
  if (options_.events) {
    options_.events->publish(
        event, json::object{
                   {"id", channel.id}, {"name", channel.name}, {"type", to_string(channel.type)}});
  }
}

void Api::announce(const Delivery& d) {
  if (options_.events) {
    options_.events->publish(
        "delivery.finished",
        json::object{{"id", d.id},
                     {"channelId", d.channel_id},
                     {"taskId", d.task_id ? json::value(*d.task_id) : json::value(nullptr)},
                     {"event", to_string(d.event)},
                     {"status", to_string(d.status)}});
  }
}

void Api::delivery_attempted(const Delivery& d, ChannelType type, std::optional<double> seconds) {
  if (d.status == DeliveryStatus::pending) return;  // tried again later
  if (options_.metrics && seconds) {
    options_.metrics->observe_delivery(type, d.status == DeliveryStatus::delivered, *seconds);
  }
  announce(d);
}

const std::vector<Route>& Api::routes() {
  // Handlers are plain function pointers. (Pointers to members make GCC 12's bounds
  // sanitizer report a bogus index.)
  static const std::vector<Route> routes = {
      {"GET",
       "/api/scheduler/tasks",
       Role::viewer,
       {"page", "pageSize", "type", "enabled", "name", "tag"},
       [](Api& a, Call& c) -> Reply { return a.list_tasks(c); }},
      {"POST",
       "/api/scheduler/tasks",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.create_task(c); },
       {"task.create"}},
      {"GET",
       "/api/scheduler/tasks/:id",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.get_task(c); }},
      {"PUT",
       "/api/scheduler/tasks/:id",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.update_task(c); },
       {"task.update"}},
      {"DELETE",
       "/api/scheduler/tasks/:id",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.delete_task(c); },
       {"task.delete"}},
      {"POST",
       "/api/scheduler/tasks/:id/trigger",
       Role::operator_,
       {},
       [](Api& a, Call& c) -> Reply { return a.trigger_task(c); },
       {"task.run"}},
      {"POST",
       "/api/scheduler/tasks/:id/toggle",
       Role::operator_,
       {},
       [](Api& a, Call& c) -> Reply { return a.toggle_task(c); },
       {"task.pause", "task.resume"}},
      {"POST",
       "/api/scheduler/tasks/:id/backfill",
       Role::operator_,
       {},
       [](Api& a, Call& c) -> Reply { return a.backfill_task(c); },
       {"task.backfill"}},
      {"GET",
       "/api/scheduler/tasks/:id/backfill/preview",
       Role::viewer,
       {"from", "to"},
       [](Api& a, Call& c) -> Reply { return a.backfill_preview(c); }},
      {"GET",
       "/api/scheduler/executions",
       Role::viewer,
       {"page", "pageSize", "taskId", "status", "before"},
       [](Api& a, Call& c) -> Reply { return a.list_executions(c); }},
      {"GET",
       "/api/scheduler/executions/:id",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.get_execution(c); }},
      {"POST",
       "/api/scheduler/apply",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.apply_tasks(c); },
       {"task.apply"}},
      {"GET",
       "/api/scheduler/export",
       Role::viewer,
       {"tag"},
       [](Api& a, Call& c) -> Reply { return a.export_tasks(c); }},
      {"GET",
       "/api/scheduler/stats",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.stats(c); }},
      {"POST",
       "/api/scheduler/cron/preview",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.preview(c); }},
      {"GET",
       "/api/scheduler/channels",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.list_channels(c); }},
      {"POST",
       "/api/scheduler/channels",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.create_channel(c); },
       {"channel.create"}},
      {"GET",
       "/api/scheduler/channels/:id",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.get_channel(c); }},
      {"PUT",
       "/api/scheduler/channels/:id",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.update_channel(c); },
       {"channel.update"}},
      {"DELETE",
       "/api/scheduler/channels/:id",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.delete_channel(c); },
       {"channel.delete"}},
      {"POST",
       "/api/scheduler/channels/:id/test",
       Role::operator_,
       {},
       [](Api& a, Call& c) -> Reply { return a.test_channel(c); },
       {"channel.test"}},
      {"GET",
       "/api/scheduler/deliveries",
       Role::viewer,
       {"page", "pageSize", "channelId", "taskId", "status"},
       [](Api& a, Call& c) -> Reply { return a.list_deliveries(c); }},
      {"GET",
       "/api/scheduler/tokens",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.list_tokens(c); }},
      {"POST",
       "/api/scheduler/tokens",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.create_token(c); },
       {"token.create"}},
      {"DELETE",
       "/api/scheduler/tokens/:id",
       Role::admin,
       {},
       [](Api& a, Call& c) -> Reply { return a.revoke_token(c); },
       {"token.revoke"}},
      {"GET",
       "/api/scheduler/audit",
       Role::admin,
       {"page", "pageSize", "target", "actor", "action", "from", "to"},
       [](Api& a, Call& c) -> Reply { return a.list_audit(c); }},
      {"GET",
       "/api/scheduler/me",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.whoami(c); }},
      {"GET",
       "/healthz",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.healthz(c); },
       {},
       true},
      {"GET", "/readyz", Role::viewer, {}, [](Api& a, Call& c) -> Reply { return a.readyz(c); }},
      {"GET", "/metrics", Role::viewer, {}, [](Api& a, Call& c) -> Reply { return a.metrics(c); }},
      {"GET",
       "/api/openapi.json",
       Role::viewer,
       {},
       [](Api& a, Call& c) -> Reply { return a.openapi(c); }},
      // A stream, answered before the table.
      {"GET", std::string(kEventsPath), Role::viewer},
  };
  return routes;
}

bool Api::valid_public_url(const std::string& url) {
  return !url_problem(url) && url.find_first_of("?#") == std::string::npos;
}

bool Api::valid_origin(const std::string& origin) {
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

Reply Api::handle(const Request& req, std::string_view peer) {
  // CORS only for the configured origins, compared exactly: a browser page from anywhere
  // else gets no Access-Control-* header and cannot read an answer.
  const auto origin = req.find(http::field::origin);
  const bool allowed =
      origin != req.end() && std::find(options_.cors_origins.begin(), options_.cors_origins.end(),
                                       origin->value()) != options_.cors_origins.end();
  if (!allowed) return route(req, peer);
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
  Reply reply = route(req, peer);
  const std::string allow_origin{origin->value()};
  auto cors = [allow_origin](Response& res) {
    res.set(http::field::access_control_allow_origin, allow_origin);
    res.set(http::field::vary, "Origin");
  };
  cors(reply.response);
  if (reply.later) {
    reply.later = [later = std::move(reply.later), cors](Respond respond_later) {
      later([respond_later = std::move(respond_later), cors](Response res) {
        cors(res);
        respond_later(std::move(res));
      });
    };
  }
  return reply;
}

Reply Api::route(const Request& req, std::string_view peer) {
  try {
    auto target = parse_request_target(req.target());
    if (!target) throw Failure{http::status::bad_request, std::move(target.error())};
    const std::string_view raw_path = target->path;
    Call call{
        req, {}, std::move(target->query), {}, client_address(req, peer, options_.trusted_proxies)};
    // The admin UI is public, like any login page; its data comes from the API below.
    if (raw_path == "/") {
      Response res{http::status::found, 11};
      res.set(http::field::location, std::string(kAdminUiPath) + "/");
      res.set(http::field::cache_control, "no-store");
      res.prepare_payload();
      return res;
    }
    if (auto page = ui_.serve(req)) return std::move(*page);
    // Who is asking, for every path that is not open; before anything else is told.
    if (!is_open(raw_path)) {
      auto who = auth_->authenticate(req[http::field::authorization]);
      if (!who) {
        // A token that is refused is a failed login; a request without one (a browser's
        // first visit, a probe) is not recorded.
        if (!req[http::field::authorization].empty()) {
          record_refusal(
              call.address, who.error().name, "auth.failed",
              {{"reason", who.error().message},
               {"route", std::string(req.method_string()) + " " + std::string(raw_path)}});
        }
        Response res = error({http::status::unauthorized, std::move(who.error().message)});
        res.set(http::field::www_authenticate, "Bearer");
        return res;
      }
      call.who = std::move(*who);
    }
    if (raw_path == kEventsPath && options_.events) {
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
      // A named token's stream ends within a second of its revocation or expiry.
      EventHub::Check check;
      if (!call.who.token_id.empty()) {
        check = [auth = auth_, header = std::string(req[http::field::authorization])] {
          try {
            if (auto who = auth->authenticate(header); !who) {
              return std::optional{who.error().message};
            }
          } catch (const StoreError&) {
            // The database is away: the stream goes on, like the rest of what is cached.
          }
          return std::optional<std::string>{};
        };
      }
      reply.on_stream = [hub = options_.events, check](std::shared_ptr<StreamSink> sink) {
        hub->subscribe(std::move(sink), check);
      };
      return reply;
    }
    auto segments = split(raw_path, '/');
    std::vector<std::string> allowed;
    for (const Route& route : routes()) {
      if (!route.handler) continue;  // answered above
      auto pattern = split(route.path, '/');
      if (pattern.size() != segments.size()) continue;
      std::vector<std::string> params;
      bool match = true;
      for (std::size_t i = 0; i < pattern.size() && match; ++i) {
        if (pattern[i].starts_with(':')) {
          auto v = percent_decode(segments[i], false);
          match = v && !v->empty();
          if (match) params.push_back(std::move(*v));
        } else {
          match = pattern[i] == segments[i];
        }
      }
      if (!match) continue;
      if (req.method_string() != route.method) {
        allowed.push_back(route.method);
        continue;
      }
      if (!route.open && !allows(call.who.role, route.role)) {
        record_refusal(call.address, call.who.actor, "auth.forbidden",
                       {{"route", route.method + " " + route.path},
                        {"needed", to_string(route.role)},
                        {"role", to_string(call.who.role)}});
        throw Failure{
            http::status::forbidden,
            std::string("this needs the ") + std::string(to_string(route.role)) + " role; " +
                call.who.actor + " has " + std::string(to_string(call.who.role)),
            json::object{{"needed", to_string(route.role)}, {"role", to_string(call.who.role)}}};
      }
      check_query(call.query, route);
      call.params = std::move(params);
      return route.handler(*this, call);
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
    if (!filter.type) bad_parameter("type", "must be function, http or command");
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
  // Each `tag` given narrows the list: a task must carry all of them.
  filter.tags = tag_parameters(c.query);
  // Read before the data: a change during the build moves them, and the page is rebuilt.
  const AnswerCache::Versions versions{store_.version(), engine_.schedule_version()};
  // Secrets are hidden from all but admins: one cached page for each.
  const bool hidden = !sees_secrets(c.who.role);
  const std::string key = std::string(c.req.target()) + (hidden ? " hidden" : "");
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
    write_fields(w, hidden ? hide_secrets(t) : t);
    // A paused task has none, also in the moment before the scheduler follows its pause.
    w.key("nextRun").value(t.enabled ? next_runs[i] : std::nullopt);
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

TaskRules Api::task_rules() {
  return {.commands_allowed = options_.commands_allowed,
          .channel_exists =
              [this](const std::string& id) { return store_.get_channel(id).has_value(); },
          .outbound = &options_.outbound};
}

Response Api::create_task(Call& c) {
  auto task = task_from_create(c.body(), registry_, task_rules());
  if (!task) invalid(std::move(task.error()));
  if (auto errors = restore_hidden(*task, nullptr); !errors.empty()) invalid(std::move(errors));
  return ok_record(tasks_.create(std::move(*task), task_audit(c, "task.create")),
                   http::status::created);
}

Response Api::get_task(Call& c) {
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  auto recent = store_.recent_executions(task->id, kRecentExecutions);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("task").begin_object();
  write_fields(w, sees_secrets(c.who.role) ? *task : hide_secrets(*task));
  w.key("nextRun").value(task->enabled ? engine_.next_run(task->id) : std::nullopt);
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
  auto task = tasks_.update(
      c.id(),
      [&](const Task& current) {
        auto changed = task_from_update(body, current, registry_, task_rules());
        if (!changed) invalid(std::move(changed.error()));
        // A definition read as hidden and sent back leaves the stored secrets as they are.
        if (auto errors = restore_hidden(*changed, &current); !errors.empty()) {
          invalid(std::move(errors));
        }
        return std::move(*changed);
      },
      task_audit(c, "task.update"));
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  return ok_record(*task);
}

Response Api::delete_task(Call& c) {
  if (!tasks_.remove(c.id(), task_audit(c, "task.delete"))) {
    throw Failure{http::status::not_found, "no task with id " + c.id()};
  }
  return ok(nullptr);
}

Reply Api::trigger_task(Call& c) {
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  // The answer waits for the commit, so that an execution reported as accepted is stored
  // (readable at once, kept across a crash) — on the recorder's thread, not this one.
  Reply reply = error({http::status::service_unavailable,
                       "the database did not confirm the execution within 5 s; it is kept and "
                       "runs once written"});
  auto audit = std::make_shared<AuditEntry>(audit_entry(c, "task.run", task->id, task->name));
  reply.later = [this, task = std::move(*task), audit](Respond respond_later) mutable {
    try {
      engine_.trigger(
          task,
          [respond_later](const std::string& id, bool written) {
            if (!written) {
              respond_later(
                  error({http::status::service_unavailable, "the execution could not be stored"}));
              return;
            }
            // `triggered` is the seed's answer, kept for its clients.
            respond_later(
                ok(json::object{{"executionId", id}, {"triggered", true}}, http::status::accepted));
          },
          std::move(audit));
    } catch (const StoreError& e) {
      respond_later(error(
          {http::status::service_unavailable, std::string("database unavailable: ") + e.what()}));
    }
  };
  return reply;
}

Response Api::toggle_task(Call& c) {
  json::value body = c.body();
  auto* o = body.if_object();
  const json::value* enabled = o ? o->if_contains("enabled") : nullptr;
  if (!enabled || !enabled->is_bool()) {
    throw Failure{http::status::bad_request, "the body must be {\"enabled\": true or false}",
                  to_json(FieldErrors{{"enabled", "is required and must be a boolean"}})};
  }
  std::optional<std::string> note;
  for (const auto& [k, v] : *o) {
    if (k == "enabled") continue;
    if (k != "note") invalid({{std::string(k), "is not a field of a toggle"}});
    if (v.is_null()) continue;
    const auto* text = v.if_string();
    if (!text) invalid({{"note", "must be a string or null"}});
    if (enabled->get_bool()) invalid({{"note", "is only taken when pausing (enabled: false)"}});
    if (utf8_length(*text) > kMaxPauseNoteChars) {
      invalid({{"note", "must be at most " + std::to_string(kMaxPauseNoteChars) + " characters"}});
    }
    if (std::any_of(text->begin(), text->end(),
                    [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
      invalid({{"note", "must not contain control characters"}});
    }
    note.emplace(text->data(), text->size());
  }
  std::optional<Task> task;
  try {
    task = tasks_.set_enabled(c.id(), enabled->get_bool(), std::move(note),
                              task_audit(c, enabled->get_bool() ? "task.resume" : "task.pause"));
  } catch (const engine::TaskService::Refused& e) {
    invalid({{e.field, e.what()}});
  }
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  return ok_record(sees_secrets(c.who.role) ? *task : hide_secrets(*task));
}

// ---- backfill ---------------------------------------------------------------------------

namespace {

// The instants of a task's schedule in [from, to), oldest first, at most `limit`. (Its
// startAt and endAt bound the schedule, not a backfill: the range asked for is run.)
std::vector<Millis> backfill_instants(const Task& task, Millis from, Millis to, std::size_t limit) {
  auto expr = cron::CronExpr::parse(task.cron_expression);
  if (!expr) invalid({{"cronExpression", "the task's pattern: " + expr.error().describe()}});
  auto zone = cron::Zone::find(task.timezone);
  if (!zone) invalid({{"timezone", "the task's zone: " + zone.error()}});
  return engine::instants_between(*expr, **zone, {}, from - 1, to - 1, limit);
}

// "holds N instants" for a range, counted up to kMaxBackfillCounted.
std::string instants_in(std::size_t n) {
  return n > kMaxBackfillCounted ? "more than " + std::to_string(kMaxBackfillCounted) + " instants"
                                 : std::to_string(n) + (n == 1 ? " instant" : " instants");
}

}  // namespace

Response Api::backfill_task(Call& c) {
  json::value body = c.body();
  auto* o = body.if_object();
  if (!o) invalid({{"body", "must be a JSON object"}});
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  FieldErrors errors;
  for (const auto& [k, v] : *o) {
    if (k != "from" && k != "to" && k != "overlapPolicy") {
      errors.push_back({std::string(k), "is not a field of a backfill"});
    }
  }
  std::optional<Millis> range[2];
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "from" : "to";
    auto* v = o->if_contains(name);
    if (v && v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxEpochMs) {
      range[i] = v->get_int64();
    } else {
      errors.push_back({name, "is required: a whole number of milliseconds since 1970"});
    }
  }
  std::optional<OverlapPolicy> overlap;
  if (auto* v = o->if_contains("overlapPolicy"); v && !v->is_null()) {
    auto* s = v->if_string();
    overlap = s ? parse_overlap_policy(std::string_view{*s}) : std::nullopt;
    if (!overlap) {
      errors.push_back({"overlapPolicy",
                        "must be \"allow\", \"skip\", \"replace\", \"buffer_one\" or "
                        "\"buffer_all\", or null for the task's own"});
    }
  }
  if (range[0] && range[1] && *range[1] <= *range[0]) {
    errors.push_back({"to", "must be after from"});
  } else if (range[1] && *range[1] > clock_.now()) {
    errors.push_back({"to", "must not be in the future: the schedule runs what is ahead"});
  }
  if (!errors.empty()) invalid(std::move(errors));
  auto instants = backfill_instants(*task, *range[0], *range[1], kMaxBackfillCounted + 1);
  if (instants.size() > kMaxBackfill) {
    invalid({{"to", "the range holds " + instants_in(instants.size()) + "; at most " +
                        std::to_string(kMaxBackfill) + " are run at once"}});
  }
  AuditEntry audit = audit_entry(c, "task.backfill", task->id, task->name);
  json::object detail{{"from", *range[0]}, {"to", *range[1]}, {"count", instants.size()}};
  if (overlap) detail["overlapPolicy"] = to_string(*overlap);
  audit.detail = json::serialize(detail);
  try {
    // Recorded as asked; each instant is then claimed like a firing (one that has an
    // execution already is not run again).
    store_.record(audit);
    engine_.backfill(*task, instants, overlap);
  } catch (const StoreError& e) {
    throw Failure{http::status::service_unavailable,
                  std::string("database unavailable: ") + e.what()};
  }
  return ok(json::object{{"count", instants.size()}}, http::status::accepted);
}

Response Api::backfill_preview(Call& c) {
  auto task = store_.get_task(c.id());
  if (!task) throw Failure{http::status::not_found, "no task with id " + c.id()};
  Millis range[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "from" : "to";
    auto v = c.get(name);
    if (!v) bad_parameter(name, "is required: a whole number of milliseconds since 1970");
    Millis n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size() || n < 0 || n > kMaxEpochMs) {
      bad_parameter(name, "must be a whole number of milliseconds since 1970");
    }
    range[i] = n;
  }
  if (range[1] <= range[0]) bad_parameter("to", "must be after from");
  if (range[1] > clock_.now()) {
    bad_parameter("to", "must not be in the future: the schedule runs what is ahead");
  }
  auto instants = backfill_instants(*task, range[0], range[1], kMaxBackfillCounted + 1);
  json::array first;
  for (std::size_t i = 0; i < instants.size() && i < 20; ++i)
    first.push_back(instants[i]);
  const bool more = instants.size() > kMaxBackfillCounted;
  return ok(json::object{{"count", std::min(instants.size(), kMaxBackfillCounted)},
                         {"more", more},
                         {"allowed", instants.size() <= kMaxBackfill},
                         {"maxCount", kMaxBackfill},
                         {"instants", std::move(first)}});
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
  if (auto before = c.get("before")) {
    if (c.get("page")) bad_parameter("before", "cannot be combined with page");
    if (!looks_like_id(*before)) {
      bad_parameter("before", "must be an execution id (a page's nextCursor)");
    }
    filter.before = std::string(*before);
  }
  auto page = store_.list_executions(filter);
  const auto& names = page.task_names;
  Answer a;
  auto& w = a.data();
  w.begin_object().key("list").begin_array();
  for (const auto& e : page.list) {
    w.begin_object();
    write_fields(w, e);
    // null only when the task was deleted meanwhile
    auto name = names.find(e.task_id);
    w.key("taskName");
    name != names.end() ? w.value(name->second) : w.null();
    w.end_object();
  }
  w.end_array();
  w.key("total").value(page.total).key("totalExact").value(page.total_exact);
  w.key("page").value(page.page).key("pageSize").value(page.page_size);
  w.key("nextCursor");
  page.next_cursor.empty() ? w.null() : w.value(page.next_cursor);
  w.end_object();
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
    if (k != "cronExpression" && k != "timezone" && k != "count" && k != "startAt" &&
        k != "endAt" && k != "jitterSeconds" && k != "taskId") {
      errors.push_back({std::string(k), "is not a field of a preview"});
    }
  }
  std::string pattern, zone_name = "UTC";
  int count = 5;
  if (auto* v = o->if_contains("cronExpression"); v && v->is_string()) {
    pattern = std::string(v->get_string());
    if (utf8_length(pattern) > kMaxCronChars) {
      errors.push_back(
          {"cronExpression", "must be at most " + std::to_string(kMaxCronChars) + " characters"});
    }
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
  // The task's jitter, and its id if it has one: then each run's start is known.
  int jitter = 0;
  if (auto* v = o->if_contains("jitterSeconds")) {
    if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxJitterSeconds) {
      jitter = static_cast<int>(v->get_int64());
    } else {
      errors.push_back({"jitterSeconds",
                        "must be a whole number from 0 to " + std::to_string(kMaxJitterSeconds)});
    }
  }
  std::optional<std::string> task_id;
  if (auto* v = o->if_contains("taskId"); v && !v->is_null()) {
    if (v->is_string() && !v->get_string().empty() && v->get_string().size() <= 64) {
      task_id = std::string(v->get_string());
    } else {
      errors.push_back({"taskId", "must be a task's id (1 to 64 characters), or null"});
    }
  }
  // The task's window, if the preview is for one: runs only within it.
  std::optional<Millis> window[2];
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "startAt" : "endAt";
    if (auto* v = o->if_contains(name); v && !v->is_null()) {
      if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxEpochMs) {
        window[i] = v->get_int64();
      } else {
        errors.push_back({name, "must be a whole number of milliseconds since 1970, or null"});
      }
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
  const Millis now = std::max(clock_.now(), window[0] ? *window[0] - 1 : Millis{0});
  json::array next;
  json::array starts;
  auto from = cron::Instant{std::chrono::seconds{now / 1000}};
  // One instant more than asked: a jittered start comes before the following instant.
  const auto instants = expr->next_n(from, **zone, static_cast<std::size_t>(count) + 1);
  for (std::size_t i = 0; i < instants.size() && i < static_cast<std::size_t>(count); ++i) {
    const Millis at = engine::to_millis(instants[i]);
    if (window[1] && at > *window[1]) break;
    next.push_back(at);
    if (!task_id) continue;
    Millis limit = jitter * Millis{1000};
    if (i + 1 < instants.size() &&
        (!window[1] || engine::to_millis(instants[i + 1]) <= *window[1])) {
      limit = std::min(limit, engine::to_millis(instants[i + 1]) - at);
    }
    starts.push_back(at + engine::jitter_delay(*task_id, at, limit));
  }
  json::object answer{{"cronExpression", pattern},
                      {"canonical", expr->canonical()},
                      {"timezone", zone_name},
                      {"jitterSeconds", jitter},
                      {"nextRuns", std::move(next)}};
  // When each run starts, its jitter delay after its instant: known for a task's id.
  if (task_id) answer.emplace("startsAt", std::move(starts));
  return ok(std::move(answer));
}

Response Api::healthz(Call&) {
  return ok(
      json::object{{"status", "ok"}, {"version", build_version()}, {"commit", build_commit()}});
}

Response Api::metrics(Call&) {
  static const Metrics none;
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  std::string text = (options_.metrics ? *options_.metrics : none).render(engine_.counters());
  text += "# HELP cronkit_build_info The version and commit of the server; always 1.\n";
  text += "# TYPE cronkit_build_info gauge\n";
  text += "cronkit_build_info{version=\"" + std::string(build_version()) + "\",commit=\"" +
          std::string(build_commit()) + "\"} 1\n";
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
  // Ready, and how far behind: a loaded server is still ready, and says so.
  const auto c = engine_.counters();
  return ok(json::object{{"status", "ready"},
                         {"behindSeconds", static_cast<double>(c.behind_ms) / 1000.0},
                         {"running", c.running},
                         {"waiting", c.waiting + c.held}});
}

}  // namespace cronkit::api
