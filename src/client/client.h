#pragma once
// A running server's REST API, as the command-line client calls it (libcurl).

#include <boost/json/value.hpp>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cronkit::client {

/// How a command ends, as its exit status. Documented in docs/cli.md.
enum class Exit : int {
  ok = 0,
  refused = 1,       // 422: the request was invalid (each field is printed)
  usage = 2,         // the command line is wrong
  unreachable = 3,   // no answer from the server
  unauthorized = 4,  // 401: no token, or a wrong one
  not_found = 5,     // 404
  conflict = 6,      // 409: e.g. names that match several tasks
  failed = 7,        // 5xx, or an answer that is not the API's
  run_failed = 8,    // tasks run --wait: the run ended failed, timed out or skipped
  forbidden = 9,     // 403: the token's role may not do this
};

/// A command that cannot go on: what to print, and the exit status.
struct Stop : std::runtime_error {
  Stop(Exit e, const std::string& message) : std::runtime_error(message), exit(e) {}
  Exit exit;
};

struct Options {
  std::string server = "http://127.0.0.1:3399";
  std::string token;  // sent as a bearer token; never printed
  long timeout_ms = 30000;
};

/// An answer of the API: its status and its JSON envelope ({code, message, data}).
struct Answer {
  long status = 0;
  boost::json::value body;
  const boost::json::value& data() const;
};

class Client {
 public:
  explicit Client(Options options);

  /// Calls the API; `body` is sent as JSON. Throws Stop when the server cannot be reached
  /// or answers with an error (its message, and each field of a 422).
  Answer call(std::string_view method, const std::string& path,
              const std::optional<boost::json::value>& body = std::nullopt) const;
  /// call(), but a 4xx/5xx is returned rather than thrown (unreachable still throws).
  Answer call_raw(std::string_view method, const std::string& path,
                  const std::optional<boost::json::value>& body = std::nullopt) const;

  /// Reads the event stream at `path`, calling `on_event(event, data)` for each event as it
  /// arrives, until `on_event` returns false or the stream ends. Throws Stop as call() does.
  void follow(
      const std::string& path,
      const std::function<bool(std::string_view event, std::string_view data)>& on_event) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
};

/// Throws the Stop an error answer calls for: its message, each field of a 422.
[[noreturn]] void stop_for(const Answer& answer);

/// `text` percent-encoded for a URL's path segment or query value.
std::string escape(std::string_view text);

}  // namespace cronkit::client
