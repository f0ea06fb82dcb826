#pragma once

#include <boost/json/object.hpp>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/access.h"
#include "api/answer_cache.h"
#include "api/events.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/static_files.h"
#include "api/task_spec.h"
#include "core/clock.h"
#include "core/store.h"
#include "cronkit/registry.h"
#include "engine/engine.h"
#include "engine/task_service.h"
#include "notify/sender.h"

namespace cronkit::api {

struct ApiOptions {
  /// The bootstrap token, an admin's. When set, every route but /healthz needs
  /// `Authorization: Bearer <token>` with it or a named token of the store, and answers 401
  /// without one. Empty: no route needs a token, and named tokens cannot be made.
  std::string api_token;
  /// Where task changes are announced and /api/scheduler/events subscribes (optional).
  EventHub* events = nullptr;
  /// What /metrics reports (optional: without it /metrics has only the engine's gauges).
  Metrics* metrics = nullptr;
  /// The admin UI, served at /admin/scheduler (none: those paths answer 404).
  std::span<const StaticFile> ui_files;
  /// Origins (scheme://host[:port]) whose pages may call the API from a browser. Empty:
  /// no CORS headers at all, and preflight requests are refused like any OPTIONS.
  std::vector<std::string> cors_origins;
  /// Whether tasks of type `command` may be created (the server's --allow-commands).
  bool commands_allowed = false;
  /// Where HTTP tasks and notifications may go (--http-allow, --http-deny): a task or
  /// channel whose URL names a denied literal address or host is refused; test
  /// notifications are held to them.
  OutboundRules outbound;
  /// Reverse proxies (--trusted-proxy): a request from one of them is taken to come from the
  /// address its X-Forwarded-For names (the nearest one that is not a trusted proxy too).
  /// Empty: every request comes from its peer, and the header is ignored.
  AddressRanges trusted_proxies;
  /// Where people reach this server (--public-url): notifications link to its admin UI.
  /// Empty: no links.
  std::string public_url;
};

/// Where the admin UI lives; "/" redirects there.
inline constexpr std::string_view kAdminUiPath = "/admin/scheduler";

/// The API's OpenAPI 3.1 description (src/api/openapi/openapi.json).
std::string_view openapi_json();

class Api;
struct ApiCall;  // what a handler knows of its request

/// One endpoint: a method, a path whose `:name` segments match any one segment, the least
/// role that may call it, the query parameters it takes (any other, or one given twice, is
/// a 400), its handler, and the action it records in the audit trail when it succeeds.
struct Route {
  std::string method;
  std::string path;
  Role role = Role::admin;
  std::vector<std::string> query = {};
  Reply (*handler)(Api&, ApiCall&) = nullptr;  // null: answered before the table
  /// The actions it records (one per successful call); none: it changes nothing (every
  /// GET, the cron preview).
  std::vector<std::string_view> audit = {};
  bool open = false;  // answered without a token (the liveness check)
};

/// The REST API: the seed's endpoints under /api/scheduler plus health checks, answering
/// with the seed's envelope ({"code":0,"message":"ok","data":...} or
/// {"code":<status>,"message":...,"data":<details or null>}). Thread-safe.
///   Api api{store, engine, registry, clock};
///   HttpServer server{{}, [&](const Request& r) { return api.handle(r); }};
class Api {
 public:
  /// Has the engine check tasks' limits (maxRuns, pauseAfterFailures) through its
  /// TaskService, until destroyed.
  Api(Store& store, engine::Engine& engine, const Registry& registry, const Clock& clock,
      ApiOptions options = {});
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answers a request from `peer` (its IP address, which the audit trail records).
  Reply handle(const Request& req, std::string_view peer = {});
  /// Whether `origin` is usable in --cors-origin: scheme://host[:port] and nothing else.
  static bool valid_origin(const std::string& origin);
  /// Whether `url` is usable in --public-url: an http or https URL with a host, no query.
  static bool valid_public_url(const std::string& url);
  /// Every route, for tests and the API description.
  static const std::vector<Route>& routes();
  /// An attempt at a delivery from the outbox was written: once the delivery finished it is
  /// counted (by channel type and outcome, with its time from the event in `seconds`) and
  /// announced (delivery.finished).
  void delivery_attempted(const Delivery& d, ChannelType type, std::optional<double> seconds);

 private:
  using Call = ApiCall;
  Reply route(const Request& req, std::string_view peer);
  Response list_tasks(Call& c);
  // The rules of task bodies on this server: commands allowed or not, channels that exist.
  TaskRules task_rules();
  Response create_task(Call& c);
  Response get_task(Call& c);
  Response update_task(Call& c);
  Response delete_task(Call& c);
  Reply trigger_task(Call& c);
  Response toggle_task(Call& c);
  Response backfill_task(Call& c);
  Response backfill_preview(Call& c);
  Response list_executions(Call& c);
  Response get_execution(Call& c);
  Response stats(Call& c);
  Response preview(Call& c);
  Response healthz(Call& c);
  Response readyz(Call& c);
  Response metrics(Call& c);
  Response openapi(Call& c);
  Response list_channels(Call& c);
  Response create_channel(Call& c);
  Response get_channel(Call& c);
  Response update_channel(Call& c);
  Response delete_channel(Call& c);
  Reply test_channel(Call& c);
  Response list_deliveries(Call& c);
  Response list_tokens(Call& c);  // tokens.cpp
  Response create_token(Call& c);
  Response revoke_token(Call& c);
  Response whoami(Call& c);
  Response apply_tasks(Call& c);  // apply.cpp
  Response export_tasks(Call& c);
  Response list_audit(Call& c);  // audit.cpp
  // An entry of the audit trail: the caller of `c` did `action` to a target now.
  AuditEntry audit_entry(const Call& c, std::string_view action, std::string_view target_id,
                         std::string_view target_name) const;
  // The entries of a task change by the caller of `c` (task_changes for an update).
  engine::TaskService::Audit task_audit(const Call& c, std::string_view action) const;
  // Records a refused request (auth.failed, auth.forbidden) with `detail`, at most once a
  // minute per address and actor, so that a flood of bad tokens cannot flood the database;
  // the next entry counts the ones left out ("unrecorded").
  void record_refusal(std::string_view address, std::string_view actor, std::string_view action,
                      boost::json::object detail);
  void announce(std::string_view event, const Task& task);
  // channel.created, .updated, .deleted: {id, name, type}, never a secret.
  void announce(std::string_view event, const Channel& channel);
  // delivery.finished: {id, channelId, taskId, event, status}.
  void announce(const Delivery& delivery);

  Store& store_;
  engine::Engine& engine_;
  const Registry& registry_;
  const Clock& clock_;
  const ApiOptions options_;
  // Shared with the event stream's checks of named tokens, which the hub may run later.
  std::shared_ptr<Authenticator> auth_;
  engine::TaskService tasks_;
  // Pages of tasks, which UIs poll: the same page is built once per change of the data.
  AnswerCache task_pages_;
  StaticSite ui_;
  notify::Sender sender_;  // test notifications
  struct Refusals {
    Millis last = 0;              // when one was last recorded
    std::int64_t unrecorded = 0;  // since then
  };
  std::mutex refusals_mutex_;
  std::unordered_map<std::string, Refusals> refusals_;  // by action, address and actor
};

}  // namespace cronkit::api
