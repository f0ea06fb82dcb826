#include "api/events.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace cronkit::api {

EventHub::EventHub(std::chrono::milliseconds heartbeat, std::chrono::milliseconds check_every) {
  heartbeat_ = std::thread([this, heartbeat, check_every] {
    using Clock = std::chrono::steady_clock;
    auto next_beat = Clock::now() + heartbeat;
    std::unique_lock lock{mutex_};
    while (!closed_) {
      const auto until = std::min(next_beat, Clock::now() + check_every);
      if (wake_.wait_until(lock, until, [&] { return closed_; })) return;
      lock.unlock();
      recheck();
      if (Clock::now() >= next_beat) {
        broadcast(": heartbeat\n\n");
        next_beat = Clock::now() + heartbeat;
      }
      lock.lock();
    }
  });
}

EventHub::~EventHub() {
  close();
}

void EventHub::subscribe(std::shared_ptr<StreamSink> sink, Check check) {
  // Under the lock, so that every event published after ": connected" reaches the client.
  // Clients reconnect after 2 s if the connection drops.
  std::lock_guard lock{mutex_};
  if (closed_ || !sink->send("retry: 2000\n: connected\n\n")) return;
  clients_.push_back({std::move(sink), std::move(check)});
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
  std::vector<Client> gone;
  std::lock_guard lock{mutex_};
  std::erase_if(clients_, [&](Client& c) {
    if (c.sink->send(chunk)) return false;
    gone.push_back(std::move(c));
    return true;
  });
  // `gone` releases the dropped sinks after the lock, closing their connections.
}

void EventHub::recheck() {
  std::vector<Client> checked;
  {
    std::lock_guard lock{mutex_};
    for (const auto& c : clients_)
      if (c.check) checked.push_back(c);
  }
  std::vector<std::pair<std::shared_ptr<StreamSink>, std::string>> refused;
  for (const auto& c : checked) {
    if (auto why = c.check()) refused.emplace_back(c.sink, std::move(*why));
  }
  checked.clear();
  if (refused.empty()) return;
  std::vector<Client> gone;
  {
    std::lock_guard lock{mutex_};
    std::erase_if(clients_, [&](Client& c) {
      for (const auto& [sink, why] : refused) {
        if (c.sink != sink) continue;
        c.sink->send("event: auth.refused\ndata: " +
                     boost::json::serialize(boost::json::object{{"message", why}}) + "\n\n");
        gone.push_back(std::move(c));
        return true;
      }
      return false;
    });
  }
  // `gone` and `refused` release the sinks after the lock, closing their connections.
}

std::size_t EventHub::subscribers() const {
  std::lock_guard lock{mutex_};
  return clients_.size();
}

void EventHub::close() {
  std::vector<Client> clients;
  {
    std::lock_guard lock{mutex_};
    closed_ = true;
    clients.swap(clients_);
  }
  wake_.notify_all();
  if (heartbeat_.joinable() && heartbeat_.get_id() != std::this_thread::get_id()) {
    heartbeat_.join();
  }
}

}  // namespace cronkit::api
