#include "app/serve_command.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "api/api.h"
#include "api/http_server.h"
#include "api/json_codec.h"
#include "app/config_file.h"
#include "app/logging.h"
#include "app/outcome_log.h"
#include "app/service_manager.h"
#include "core/clock.h"
#include "core/ids.h"
#include "engine/builtin.h"
#include "engine/engine.h"
#include "engine/missed_watch.h"
#include "notify/outbox.h"
#include "store/open_store.h"
#include "web/admin_ui.h"

namespace cronkit::app {
namespace {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 3399;
  std::string db = "sqlite:./data/cronkit.db";
  int max_concurrency = 5;
  int max_queued = 10000;
  int retention_days = 30;
  int audit_retention_days = 365;
  int grace_seconds = 30;
  std::string node_id;
  std::string api_token;
  std::vector<std::string> cors_origins;
  std::vector<std::string> http_allow;
  std::vector<std::string> http_deny;
  std::vector<std::string> trusted_proxies;
  std::string public_url;
  bool insecure = false;
  int max_connections = 1024;
  int request_timeout_seconds = 30;
  std::string log_format = "text";
  std::string log_level = "info";
  std::int64_t clock_offset_ms = 0;
  std::int64_t notify_retry_ms = 10'000;
  int log_summary_seconds = 60;
  bool allow_commands = false;
  bool start_before_stored = false;
  std::string command_user;
  int command_kill_grace_seconds = 5;
  std::string state_dir;
};

// Where command tasks run by default and the server keeps the marks of its programs: the
// SQLite database's directory, or ./data.
std::string state_directory(const ServeOptions& o) {
  namespace fs = std::filesystem;
  fs::path dir = o.state_dir;
  if (dir.empty()) {
    constexpr std::string_view kSqlite = "sqlite:";
    const std::string_view db = o.db;
    dir = db.starts_with(kSqlite) && db != "sqlite::memory:"
              ? fs::path(db.substr(kSqlite.size())).parent_path()
              : fs::path("data");
    if (dir.empty()) dir = ".";
  }
  if (o.allow_commands) {
    std::error_code ec;
    fs::create_directories(dir, ec);  // a failure shows when the runner starts
  }
  return fs::weakly_canonical(fs::absolute(dir)).string();
}

// Raises the soft limit on open files to the hard one (a thousand running programs and
// connections need more than the usual 1,024) and returns the old one, which programs get.
rlim_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  return before;
}

std::string default_node_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

// One line per finished execution: its outcome, never the task's headers or body.
bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

int serve(const ServeOptions& o, Registry& registry) {
  // Block the signals before any thread starts (the log writer is the first), so that only
  // sigwait below takes them: a thread that did not block them would let their default
  // action end the process before the main thread waits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (auto problem = setup_logging(o.log_format, o.log_level); !problem.empty()) {
    std::cerr << "cronkit: " << problem << "\n";
    return 2;
  }
  struct Flush {
    ~Flush() { finish_logging(); }
  } flush_log_at_exit;
  if (!is_loopback(o.host) && o.api_token.empty() && !o.insecure) {
    std::cerr << "cronkit: refusing to listen on " << o.host
              << " without --api-token: anyone who can reach it could create tasks that run "
                 "HTTP requests and functions here. Set --api-token (or CRONKIT_API_TOKEN), "
                 "or pass --insecure to do it anyway.\n";
    return 2;
  }
  if (o.allow_commands && o.api_token.empty() && !o.insecure) {
    std::cerr << "cronkit: refusing to allow command tasks without --api-token: anyone who can "
                 "reach the API could run programs here, even on loopback (other local users, "
                 "a browser page). Set --api-token (or CRONKIT_API_TOKEN), or pass --insecure "
                 "to do it anyway.\n";
    return 2;
  }
  if (o.start_before_stored && !o.db.starts_with("sqlite:")) {
    std::cerr << "cronkit: --start-before-stored is for SQLite: with PostgreSQL an attempt "
                 "always starts once it is stored as running, which is what lets another "
                 "server take over its work\n";
    return 2;
  }
  auto outbound = OutboundRules::parse(o.http_allow, o.http_deny);
  if (!outbound) {
    std::cerr << "cronkit: --http-allow/--http-deny: " << outbound.error() << "\n";
    return 2;
  }
  auto proxies = AddressRanges::parse(o.trusted_proxies);
  if (!proxies) {
    std::cerr << "cronkit: --trusted-proxy: " << proxies.error() << "\n";
    return 2;
  }
  std::optional<engine::CommandUser> command_user;
  if (!o.command_user.empty()) {
    std::string error;
    command_user = engine::find_command_user(o.command_user, error);
    if (!command_user) {
      std::cerr << "cronkit: --command-user " << o.command_user << ": " << error << "\n";
      return 2;
    }
    if (geteuid() != 0) {
      std::cerr << "cronkit: --command-user needs the server to run as root\n";
      return 2;
    }
  }
  auto store = store::open_store(o.db);
  if (!store) {
    spdlog::error("cannot open the database: {}", store.error());
    return 1;
  }
  SystemClock clock{o.clock_offset_ms};
  const rlim_t file_limit = raise_file_limit();
  engine::add_builtin_functions(registry, **store, clock);
  api::EventHub events;
  api::Metrics metrics;
  OutcomeLog outcomes{std::chrono::seconds{o.log_summary_seconds}};
  outcomes.start();
  engine::Engine engine{
      **store,
      clock,
      registry,
      {.max_concurrency = o.max_concurrency,
       .log_retention_days = o.retention_days,
       .audit_retention_days = o.audit_retention_days,
       .node_id = o.node_id.empty() ? default_node_id() : o.node_id,
       .shutdown_grace_ms = o.grace_seconds * Millis{1000},
       .start_before_stored = o.start_before_stored,
       .max_queued = o.max_queued,
       .commands = {.allowed = o.allow_commands,
                    .state_directory = state_directory(o),
                    .user = command_user,
                    .kill_grace = std::chrono::seconds{o.command_kill_grace_seconds},
                    .child_file_limit = file_limit},
       .outbound = *outbound,
       .on_change =
           [&events, &metrics, &outcomes](const Execution& e) {
             outcomes.ended(e);
             metrics.observe(e);
             if (events.subscribers() == 0) return;
             events.publish_text(e.status == ExecutionStatus::queued ? "execution.queued"
                                 : is_terminal(e.status)             ? "execution.finished"
                                                                     : "execution.started",
                                 api::to_json_text(e));
           },
       .alive_every_ms = service_manager::watchdog_every_ms(),
       .on_alive = service_manager::watchdog_alive}};
  try {
    engine.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  api::Api api{**store,
               engine,
               registry,
               clock,
               {.api_token = o.api_token,
                .events = &events,
                .metrics = &metrics,
                .ui_files = web::admin_ui_files(),
                .cors_origins = o.cors_origins,
                .commands_allowed = o.allow_commands,
                .outbound = *outbound,
                .trusted_proxies = *proxies,
                .public_url = o.public_url}};
  std::unique_ptr<api::HttpServer> server;
  try {
    server = std::make_unique<api::HttpServer>(
        api::HttpServerOptions{.host = o.host,
                               .port = static_cast<unsigned short>(o.port),
                               .read_timeout = std::chrono::seconds{o.request_timeout_seconds},
                               .max_connections = o.max_connections},
        [&api](const api::Request& r, std::string_view peer) {
          const auto begin = std::chrono::steady_clock::now();
          api::Reply reply = api.handle(r, peer);
          if (!spdlog::should_log(spdlog::level::debug)) return reply;
          // The path without its query; never headers or bodies.
          std::string_view target = r.target();
          auto log = [method = std::string(r.method_string()),
                      path = std::string(target.substr(0, target.find('?'))),
                      begin](const api::Response& res) {
            spdlog::debug(
                "{} {} {} {:.2f} ms", method, path, res.result_int(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                    .count());
          };
          if (!reply.later) {
            log(reply.response);
            return reply;
          }
          // Logged when it is answered (a timeout's answer is not logged).
          reply.later = [later = std::move(reply.later), log](api::Respond respond) {
            later([respond = std::move(respond), log](api::Response res) {
              log(res);
              respond(std::move(res));
            });
          };
          return reply;
        });
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}:{}: {}", o.host, o.port, e.what());
    engine.stop();
    return 1;
  }
  // Notifications: the deliveries that executions' ends queued, sent from the outbox.
  notify::Sender sender{2, 10000, *outbound};
  std::string admin_url;
  if (!o.public_url.empty()) {
    admin_url = o.public_url;
    while (admin_url.ends_with('/'))
      admin_url.pop_back();
    admin_url += api::kAdminUiPath;
  }
  notify::Outbox outbox{
      **store,
      sender,
      clock,
      {.owner = (o.node_id.empty() ? default_node_id() : o.node_id) + "/" + new_id(clock.now()),
       .admin_url = admin_url,
       .first_retry_ms = o.notify_retry_ms,
       .on_attempt = [&api](const Delivery& d, ChannelType type, std::optional<double> seconds) {
         api.delivery_attempted(d, type, seconds);
       }}};
  (*store)->on_deliveries_queued([&outbox] { outbox.wake(); });
  outbox.start();
  engine::MissedWatch missed{**store, clock};
  missed.start();
  server->start();
  auto c = engine.counters();
  spdlog::info("scheduling {} task{} from {}; listening on http://{}:{}", c.scheduled_tasks,
               c.scheduled_tasks == 1 ? "" : "s", store::redact_url(o.db), o.host, server->port());
  service_manager::ready("scheduling " + std::to_string(c.scheduled_tasks) +
                         " tasks; listening on http://" + o.host + ":" +
                         std::to_string(server->port()));

  int signal = 0;
  sigwait(&signals, &signal);
  service_manager::stopping();
  spdlog::info("{}: stopping, letting running executions finish",
               signal == SIGINT ? "SIGINT" : "SIGTERM");
  events.close();  // closes the event streams, so that the server can stop
  server->stop();
  engine.stop();
  missed.stop();
  (*store)->on_deliveries_queued({});
  outbox.stop();
  spdlog::info("stopped");
  return 0;
}

// A CLI11 check: the value passes `valid`, or is refused with `reason`.
CLI::Validator checked(bool (*valid)(const std::string&), std::string reason, std::string name) {
  return CLI::Validator(
      [valid, reason = std::move(reason)](const std::string& value) {
        return valid(value) ? std::string{} : reason;
      },
      std::move(name));
}

}  // namespace

void add_serve_command(CLI::App& app, Registry& registry, int& exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the scheduler until SIGINT or SIGTERM");
  cmd->add_option("--host", o->host, "Address to listen on")
      ->envname("CRONKIT_HOST")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "Port to listen on (0: any free port)")
      ->envname("PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--db", o->db, "Database URL: sqlite:PATH or postgresql://USER@HOST:PORT/DB")
      ->envname("CRONKIT_DB")
      ->capture_default_str();
  cmd->add_option("--max-concurrency", o->max_concurrency,
                  "Executions running at once; the rest wait in order")
      ->envname("SCHEDULER_MAX_CONCURRENCY")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--max-queued", o->max_queued,
                  "Firings claimed and not yet running, at most, beyond --max-concurrency: at "
                  "the limit the scheduler claims no more until executions finish (firings "
                  "later than a minute are recorded as skipped)")
      ->envname("CRONKIT_MAX_QUEUED")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--log-retention-days", o->retention_days,
                  "Successful executions older than this are deleted daily (on PostgreSQL "
                  "with their month, once all of it is older)")
      ->envname("SCHEDULER_LOG_RETENTION_DAYS")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  cmd->add_option("--audit-retention-days", o->audit_retention_days,
                  "Entries of the audit trail older than this are deleted daily")
      ->envname("CRONKIT_AUDIT_RETENTION_DAYS")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", o->grace_seconds,
                  "Seconds running executions get to finish on SIGTERM")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->add_option("--api-token", o->api_token,
                  "The bootstrap admin token: every route but /healthz then needs Authorization: "
                  "Bearer with it or a named token (cronkit tokens create)")
      ->envname("CRONKIT_API_TOKEN");
  cmd->add_option("--cors-origin", o->cors_origins,
                  "Let browser pages from this origin (scheme://host[:port]) call the API; "
                  "repeat for more. Default: none, no CORS headers")
      ->check(checked(api::Api::valid_origin,
                      "must be scheme://host[:port], like https://ops.example.com", "ORIGIN"));
  auto rule_check =
      checked([](const std::string& v) { return OutboundRules::parse({v}, {}).has_value(); },
              "must be an address (169.254.169.254), a range (10.0.0.0/8, fd00::/8) or a host name "
              "(db.internal, *.internal)",
              "RULE");
  cmd->add_option("--http-allow", o->http_allow,
                  "Where HTTP tasks and notifications may go: addresses, ranges, host names; "
                  "repeat for more. Given, everything else is refused. Default: anywhere but "
                  "link-local and cloud metadata addresses")
      ->check(rule_check);
  cmd->add_option("--http-deny", o->http_deny,
                  "Where HTTP tasks and notifications may not go (addresses, ranges, host names; "
                  "checked first, on every connection and redirect); repeat for more")
      ->check(rule_check);
  cmd->add_option("--trusted-proxy", o->trusted_proxies,
                  "A reverse proxy (address or range) whose X-Forwarded-For names the client: "
                  "the audit trail then records the client's address; repeat for more. Default: "
                  "none, the header is ignored")
      ->check(checked([](const std::string& v) { return AddressRanges::parse({v}).has_value(); },
                      "must be an address (127.0.0.1) or a range (10.0.0.0/8, fd00::/8)", "RANGE"));
  cmd->add_option("--public-url", o->public_url,
                  "Where people reach this server (scheme://host[:port][/path]): notifications "
                  "link to its admin UI. Default: none, no links")
      ->envname("CRONKIT_PUBLIC_URL")
      ->check(checked(api::Api::valid_public_url,
                      "must be an http or https URL, like https://cronkit.example.com", "URL"));
  cmd->add_option("--log-format", o->log_format, "text, or json for one object per line")
      ->envname("CRONKIT_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--log-level", o->log_level,
                  "trace, debug (one line per request), info, warn, error or off")
      ->envname("CRONKIT_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  cmd->add_option("--max-connections", o->max_connections,
                  "Open connections at most; more are closed when accepted")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->request_timeout_seconds,
                  "Seconds a request may take to arrive whole; slower and idle clients are cut off")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_flag("--insecure", o->insecure,
                "Allow listening on a non-loopback address, or command tasks, without --api-token");
  cmd->add_flag("--start-before-stored", o->start_before_stored,
                "SQLite: start an attempt without waiting for its `running` record to commit "
                "(2-2.5x the executions a second for tiny function tasks; a crash in between "
                "runs the attempt again at restart)")
      ->envname("CRONKIT_START_BEFORE_STORED");
  cmd->add_flag("--allow-commands", o->allow_commands,
                "Allow tasks of type command: programs run on this server (needs --api-token "
                "unless --insecure)")
      ->envname("CRONKIT_ALLOW_COMMANDS");
  cmd->add_option("--command-user", o->command_user,
                  "Run command tasks as this user (its groups set too); the server must be root")
      ->envname("CRONKIT_COMMAND_USER");
  cmd->add_option("--command-kill-grace", o->command_kill_grace_seconds,
                  "Seconds between SIGTERM and SIGKILL when a command is stopped (timeout, "
                  "replace, shutdown)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir,
                  "Where command tasks run by default (default: the SQLite database's "
                  "directory, else ./data)")
      ->envname("CRONKIT_STATE_DIR");
  cmd->add_option("--node-id", o->node_id, "Name recorded with each execution (default: host:pid)")
      ->envname("CRONKIT_NODE_ID");
  // For tests of servers whose clocks disagree; hidden from --help.
  cmd->add_option("--clock-offset-ms", o->clock_offset_ms,
                  "Shift this server's clock by this many milliseconds (testing)")
      ->envname("CRONKIT_CLOCK_OFFSET_MS")
      ->check(CLI::Range(-86400000LL, 86400000LL))
      ->group("");
  // For tests of notification retries, which would otherwise wait 10 s, 20 s, 40 s...
  cmd->add_option("--notify-retry-ms", o->notify_retry_ms,
                  "A failed notification's first retry after this many milliseconds (testing)")
      ->envname("CRONKIT_NOTIFY_RETRY_MS")
      ->check(CLI::Range(100LL, 3600000LL))
      ->group("");
  // For tests of the summary of execution outcomes logged every minute.
  cmd->add_option("--log-summary-seconds", o->log_summary_seconds,
                  "Seconds between the info lines that sum up how executions ended (testing)")
      ->check(CLI::Range(1, 3600))
      ->group("");
  auto config = std::make_shared<std::string>();
  auto print_config = std::make_shared<bool>(false);
  add_config_option(*cmd, *config);
  cmd->add_flag("--print-config", *print_config,
                "Print the effective settings (command line, environment, config file and "
                "defaults; secrets masked) as a config file, then exit");
  cmd->callback([o, cmd, config, print_config, &registry, &exit_code] {
    if (!read_config_file(*cmd, *config)) {
      exit_code = 2;
      return;
    }
    const auto file = config_to_read(*config);
    if (*print_config) {
      std::cout << "# cronkit serve: the effective settings"
                << (file.empty() ? std::string(" (no config file)")
                                 : " (config file " + file.string() + ")")
                << "\n"
                << effective_config(*cmd, [](const std::string& key, const std::string& value) {
                     if (key == "api-token" && !value.empty()) return std::string("********");
                     if (key == "db") return store::redact_url(value);
                     return value;
                   });
      exit_code = 0;
      return;
    }
    exit_code = serve(*o, registry);
  });
}

}  // namespace cronkit::app
