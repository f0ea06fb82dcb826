#include "api/events.h"

#include <boost/json/serialize.hpp>

namespace cronkit::api {

EventHub::EventHub(std::chrono::milliseconds heartbeat) {
  heartbeat_ = std::thread([this, heartbeat] {
    std::unique_lock lock{mutex_};
    while (!closed_) {
      if (wake_.wait_for(lock, heartbeat, [&] { return closed_; })) return;
      lock.unlock();
      broadcast(": heartbeat\n\n");
      lock.lock();
    }
  });
}

EventHub::~EventHub() {
  close();
}

void EventHub::subscribe(std::shared_ptr<StreamSink> sink) {
  // Clients reconnect after 2 s if the connection drops.
  if (!sink->send("retry: 2000\n: connected\n\n")) return;
  std::lock_guard lock{mutex_};
  if (!closed_) sinks_.push_back(std::move(sink));
}

void EventHub::publish(std::string_view event, const boost::json::value& data) {
  if (subscribers() == 0) return;  // nobody listens: not even the serialisation is paid
  publish_text(event, boost::json::serialize(data));
}

void EventHub::publish_text(std::string_view event, std::string_view json) {
  std::string chunk = "event: ";
  chunk += event;
  chunk += "\ndata: ";
  chunk += json;
  chunk += "\n\n";
  broadcast(chunk);
}

void EventHub::broadcast(const std::string& chunk) {
  std::vector<std::shared_ptr<StreamSink>> gone;
  std::lock_guard lock{mutex_};
  std::erase_if(sinks_, [&](const std::shared_ptr<StreamSink>& s) {
    if (s->send(chunk)) return false;
    gone.push_back(s);
    return true;
  });
  // `gone` releases the dropped sinks after the lock, closing their connections.
}

std::size_t EventHub::subscribers() const {
  std::lock_guard lock{mutex_};
  return sinks_.size();
}

void EventHub::close() {
  std::vector<std::shared_ptr<StreamSink>> sinks;
  {
    std::lock_guard lock{mutex_};
    closed_ = true;
    sinks.swap(sinks_);
  }
  wake_.notify_all();
  if (heartbeat_.joinable() && heartbeat_.get_id() != std::this_thread::get_id()) {
    heartbeat_.join();
  }
}

}  // namespace cronkit::api
