#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "api/http_server.h"

namespace cronkit::api {

/// Fans events out to every Server-Sent Events client: "event: <name>\ndata: <json>\n\n",
/// with a comment line as heartbeat every `heartbeat` so that proxies keep the connection
/// and dead clients are found. Thread-safe.
///   EventHub hub;  hub.subscribe(sink);  hub.publish("task.created", json);
class EventHub {
 public:
  explicit EventHub(std::chrono::milliseconds heartbeat = std::chrono::seconds{15});
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void subscribe(std::shared_ptr<StreamSink> sink);
  void publish(std::string_view event, const boost::json::value& data);
  /// `json` is the event's data as JSON text already.
  void publish_text(std::string_view event, std::string_view json);
  std::size_t subscribers() const;
  /// Drops every client (their connections close) and stops the heartbeat.
  void close();

 private:
  void broadcast(const std::string& chunk);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<StreamSink>> sinks_;
  bool closed_ = false;
  std::thread heartbeat_;
};

}  // namespace cronkit::api
