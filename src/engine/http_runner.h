#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/outbound.h"
#include "core/task.h"
#include "engine/runner.h"

namespace cronkit::engine {

/// One HTTP request of an http task's attempt.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string headers_json;  // a JSON object of strings, or empty
  std::string body;
  Millis timeout_ms = 300000;
  // Sent with every request so that receivers can de-duplicate; a task's own headers
  // cannot override them.
  std::string task_id;
  std::string execution_id;
  Millis scheduled_for = 0;
};

struct HttpResult {
  bool ok = false;  // a 2xx answer
  bool timed_out = false;
  bool refused = false;  // the outbound rules refused a connection (summary says why)
  int status = 0;        // 0 when no answer came
  std::string summary;   // "HTTP 200 OK", or why the request failed
  std::string output;    // the first 4 KiB of the body
  // A 429 or 503 answer's Retry-After (seconds, or an HTTP date), in ms from now.
  std::optional<Millis> retry_after_ms;
};

/// Runs HTTP requests for http tasks on one thread with libcurl's multi interface, so
/// that a thousand slow requests in flight need no thread each. Only http and https, also
/// after redirects (up to 5), and only to where `rules` allow, checked on every connection.
///   HttpRunner r;  r.start();
///   r.send(1, request, [](HttpResult res) { ... });   r.cancel(1);
/// As a Runner, it runs an http task's attempt as its request. Thread-safe.
class HttpRunner final : public Runner {
 public:
  using Answered = std::function<void(HttpResult)>;

  explicit HttpRunner(OutboundRules rules = {});
  ~HttpRunner() override;
  HttpRunner(const HttpRunner&) = delete;
  HttpRunner& operator=(const HttpRunner&) = delete;

  void start() override;
  /// Aborts what is in flight (their callbacks are not called) and stops the thread.
  void stop() override;
  /// Starts a request; `answered` runs on the runner's thread when it ends. `id` names it
  /// for cancel().
  void send(std::uint64_t id, HttpRequest request, Answered answered);
  /// Sends the request of each http task's attempt: its method, URL, headers and body, the
  /// task's timeout.
  using Runner::submit;
  void submit(std::vector<Job> jobs) override;
  /// Aborts the request `id` if it is still in flight; its callback is not called.
  void cancel(std::uint64_t id) override;

  std::size_t in_flight() const;

 private:
  struct Transfer;
  std::unique_ptr<Transfer> make_transfer(std::uint64_t id, HttpRequest request, Answered done);
  // Hands transfers to the runner's thread, waking it once.
  void add(std::vector<std::unique_ptr<Transfer>> transfers);
  void run();
  void add_pending();
  void finish(Transfer* t, int curl_code);

  void* multi_ = nullptr;  // CURLM*
  const OutboundRules rules_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Transfer>> pending_;  // submitted, not yet added
  std::vector<std::uint64_t> cancelled_;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> active_;  // runner thread only
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// A Retry-After value as milliseconds from now: whole seconds, or an HTTP date (past dates
/// are 0). Nullopt if it is neither.
std::optional<Millis> retry_after_ms(const std::string& value);

/// "2026-03-08T07:00:00Z" for the X-Cronkit-Scheduled-For header.
std::string rfc3339(Millis t);

}  // namespace cronkit::engine
