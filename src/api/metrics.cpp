#include "api/metrics.h"

#include <cstdio>

namespace cronkit::api {

void Metrics::Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i])
    ++i;
  buckets[i].fetch_add(1, std::memory_order_relaxed);
  sum_us.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6),
                   std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::Histogram::render(std::string& out, const char* name) const {
  std::uint64_t cumulative = 0;
  char line[160];
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets[i].load(std::memory_order_relaxed);
    if (i < kBounds.size()) {
      std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, kBounds[i],
                    static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                    static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_sum %.6f\n%s_count %llu\n", name,
                static_cast<double>(sum_us.load(std::memory_order_relaxed)) / 1e6, name,
                static_cast<unsigned long long>(count.load(std::memory_order_relaxed)));
  out += line;
}

void Metrics::observe(const Execution& e) {
  if (e.status == ExecutionStatus::queued) {
    queued_.fetch_add(1, std::memory_order_relaxed);
  } else if (is_terminal(e.status)) {
    finished_[static_cast<std::size_t>(e.status)].fetch_add(1, std::memory_order_relaxed);
    if (e.duration_ms) duration_.observe(static_cast<double>(*e.duration_ms) / 1000);
  } else if (e.status == ExecutionStatus::running && e.attempts == 1 && !e.error_message &&
             e.started_at && (e.trigger == Trigger::schedule || e.trigger == Trigger::catch_up)) {
    // The first attempt of a firing starts: how late after its instant.
    lag_.observe(static_cast<double>(*e.started_at - e.scheduled_for) / 1000);
  }
}

void Metrics::observe_delivery(ChannelType type, bool delivered, double seconds) {
  deliveries_[static_cast<std::size_t>(type)][delivered ? 1 : 0].fetch_add(
      1, std::memory_order_relaxed);
  delivery_lag_.observe(seconds);
}

std::string Metrics::render(const engine::EngineCounters& c) const {
  std::string out;
  out +=
      "# HELP cronkit_executions_queued_total Executions stored as queued since the start.\n"
      "# TYPE cronkit_executions_queued_total counter\n";
  out += "cronkit_executions_queued_total " + std::to_string(queued_.load()) + "\n";
  out +=
      "# HELP cronkit_executions_finished_total Executions that ended, by final status.\n"
      "# TYPE cronkit_executions_finished_total counter\n";
  for (auto s : {ExecutionStatus::success, ExecutionStatus::failed, ExecutionStatus::timed_out,
                 ExecutionStatus::skipped}) {
    out += "cronkit_executions_finished_total{status=\"" + std::string(to_string(s)) + "\"} " +
           std::to_string(finished_[static_cast<std::size_t>(s)].load()) + "\n";
  }
  out +=
      "# HELP cronkit_execution_duration_seconds From the first attempt's start to the end.\n"
      "# TYPE cronkit_execution_duration_seconds histogram\n";
  duration_.render(out, "cronkit_execution_duration_seconds");
  out +=
      "# HELP cronkit_firing_lag_seconds From a scheduled instant to its first attempt's "
      "start.\n"
      "# TYPE cronkit_firing_lag_seconds histogram\n";
  lag_.render(out, "cronkit_firing_lag_seconds");
  out +=
      "# HELP cronkit_notification_deliveries_total Notification deliveries that finished, by "
      "channel type and outcome.\n"
      "# TYPE cronkit_notification_deliveries_total counter\n";
  for (auto type : {ChannelType::webhook, ChannelType::slack, ChannelType::email}) {
    for (int delivered : {1, 0}) {
      out += "cronkit_notification_deliveries_total{type=\"" + std::string(to_string(type)) +
             "\",outcome=\"" + (delivered ? "delivered" : "failed") + "\"} " +
             std::to_string(
                 deliveries_[static_cast<std::size_t>(type)][static_cast<std::size_t>(delivered)]
                     .load()) +
             "\n";
    }
  }
  out +=
      "# HELP cronkit_notification_delivery_seconds From a delivery's making to its end.\n"
      "# TYPE cronkit_notification_delivery_seconds histogram\n";
  delivery_lag_.render(out, "cronkit_notification_delivery_seconds");
  auto gauge = [&](const char* name, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
  };
  gauge("cronkit_queue_depth", "Executions waiting for a free slot or for a retry.", c.waiting);
  gauge("cronkit_running_executions", "Executions running now.", c.running);
  gauge("cronkit_held_firings", "Firings claimed ahead of their instant.", c.held);
  gauge("cronkit_scheduled_tasks", "Enabled tasks in the scheduler.", c.scheduled_tasks);
  gauge("cronkit_cluster_members",
        "Servers sharing the database whose heartbeat is recent, this one included (0: no "
        "cluster).",
        c.cluster_members);
  out +=
      "# HELP cronkit_executions_taken_over_total Executions taken over from servers that "
      "stopped responding.\n"
      "# TYPE cronkit_executions_taken_over_total counter\n"
      "cronkit_executions_taken_over_total " +
      std::to_string(c.taken_over) + "\n";
  char behind[32];
  std::snprintf(behind, sizeof behind, "%.3f", static_cast<double>(c.behind_ms) / 1000.0);
  out += std::string(
             "# HELP cronkit_scheduler_behind_seconds How late the scheduler is: from the "
             "earliest firing it has not handled to now (0 when it keeps up; it grows while "
             "--max-queued holds firings back).\n"
             "# TYPE cronkit_scheduler_behind_seconds gauge\n"
             "cronkit_scheduler_behind_seconds ") +
         behind +
         "\n"
         "# HELP cronkit_firings_missed_total Firings recorded as skipped because they came "
         "later than the misfire grace.\n"
         "# TYPE cronkit_firings_missed_total counter\n"
         "cronkit_firings_missed_total " +
         std::to_string(c.missed) + "\n";
  return out;
}

}  // namespace cronkit::api
