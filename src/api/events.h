#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/http_server.h"

namespace cronkit::api {

/// Fans events out to every Server-Sent Events client: "event: <name>\ndata: <json>\n\n",
/// with a comment line as heartbeat every `heartbeat` so that proxies keep the connection
/// and dead clients are found. A client subscribed with a check is checked every
/// `check_every`, and dropped once the check refuses it (its token was revoked or expired).
/// Thread-safe.
///   EventHub hub;  hub.subscribe(sink);  hub.publish("task.created", json);
class EventHub {
 public:
  /// Why a client may no longer listen, or nothing while it may.
  using Check = std::function<std::optional<std::string>()>;

  explicit EventHub(std::chrono::milliseconds heartbeat = std::chrono::seconds{15},
                    std::chrono::milliseconds check_every = std::chrono::seconds{1});
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// With a `check`, the client gets an `auth.refused` event with the reason, and is
  /// dropped, once the check refuses it. `check` runs on the hub's thread, without its lock.
  void subscribe(std::shared_ptr<StreamSink> sink, Check check = {});
  void publish(std::string_view event, const boost::json::value& data);
  /// `json` is the event's data as JSON text already.
  void publish_text(std::string_view event, std::string_view json);
  std::size_t subscribers() const;
  /// Drops every client (their connections close) and stops the heartbeat.
  void close();

 private:
  struct Client {
    std::shared_ptr<StreamSink> sink;
    Check check;
  };
  void broadcast(const std::string& chunk);
  // Drops the clients whose check refuses them now.
  void recheck();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Client> clients_;
  bool closed_ = false;
  std::thread heartbeat_;
};

}  // namespace cronkit::api
