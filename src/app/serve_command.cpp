#include "app/serve_command.h"

#include <unistd.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include "api/api.h"
#include "api/http_server.h"
#include "core/clock.h"
#include "engine/builtin.h"
#include "engine/engine.h"
#include "store/open_store.h"

namespace cronkit::app {
namespace {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 3399;
  std::string db = "sqlite:./data/cronkit.db";
  int max_concurrency = 5;
  int retention_days = 30;
  int grace_seconds = 30;
  std::string node_id;
};

std::string default_node_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

int serve(const ServeOptions& o, Registry& registry) {
  // Block the signals before any thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = store::open_store(o.db);
  if (!store) {
    std::cerr << "cronkit: " << store.error() << "\n";
    return 1;
  }
  SystemClock clock;
  engine::add_builtin_functions(registry, **store, clock);
  engine::Engine engine{**store,
                        clock,
                        registry,
                        {.max_concurrency = o.max_concurrency,
                         .log_retention_days = o.retention_days,
                         .node_id = o.node_id.empty() ? default_node_id() : o.node_id,
                         .shutdown_grace_ms = o.grace_seconds * Millis{1000}}};
  try {
    engine.start();
  } catch (const StoreError& e) {
    std::cerr << "cronkit: cannot start: " << e.what() << "\n";
    return 1;
  }
  api::Api api{**store, engine, registry, clock};
  std::unique_ptr<api::HttpServer> server;
  try {
    server = std::make_unique<api::HttpServer>(
        api::HttpServerOptions{.host = o.host, .port = static_cast<unsigned short>(o.port)},
        [&api](const api::Request& r) { return api.handle(r); });
  } catch (const std::exception& e) {
    std::cerr << "cronkit: cannot listen on " << o.host << ":" << o.port << ": " << e.what()
              << "\n";
    engine.stop();
    return 1;
  }
  server->start();
  auto c = engine.counters();
  std::cerr << "cronkit: scheduling " << c.scheduled_tasks << " task"
            << (c.scheduled_tasks == 1 ? "" : "s") << " from " << o.db << "; listening on http://"
            << o.host << ":" << server->port() << "\n";

  int signal = 0;
  sigwait(&signals, &signal);
  std::cerr << "cronkit: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ": stopping, letting running executions finish\n";
  server->stop();
  engine.stop();
  std::cerr << "cronkit: stopped\n";
  return 0;
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
  cmd->add_option("--db", o->db, "Database URL: sqlite:PATH")
      ->envname("CRONKIT_DB")
      ->capture_default_str();
  cmd->add_option("--max-concurrency", o->max_concurrency,
                  "Executions running at once; the rest wait in order")
      ->envname("SCHEDULER_MAX_CONCURRENCY")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--log-retention-days", o->retention_days,
                  "Successful executions older than this are deleted daily")
      ->envname("SCHEDULER_LOG_RETENTION_DAYS")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", o->grace_seconds,
                  "Seconds running executions get to finish on SIGTERM")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->add_option("--node-id", o->node_id, "Name recorded with each execution (default: host:pid)")
      ->envname("CRONKIT_NODE_ID");
  cmd->callback([o, &registry, &exit_code] { exit_code = serve(*o, registry); });
}

}  // namespace cronkit::app
