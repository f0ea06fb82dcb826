#pragma once

// A small HTTP/1.1 server on 127.0.0.1 and a free port, for tests of outbound requests.
//   /status/404       answers 404 Not Found
//   /slow/1500        answers 200 after 1.5 s
//   /together/100     answers 200 once 100 such requests are open at once (503 after 60 s)
//   /redirect/3       redirects three times, then /status/200
//   /redirect-to?URL  redirects to URL
//   /echo             answers with the request it got
//   /big              answers 10 MB
//   /binary           answers bytes that are not UTF-8, and a NUL
//   /retry-after/30   answers 503 with Retry-After: 30
//   /retry-after-date answers 429 with a Retry-After an hour ahead, as an HTTP date
//   /hang             never answers
//   /reset            resets the connection
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cronkit::testing {

class TestHttpServer {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::int64_t received_at_ms = 0;  // the system clock when the request was read
  };

  TestHttpServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // any free port
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 4096);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestHttpServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::vector<std::thread> handlers;
    {
      std::lock_guard lock{mutex_};
      handlers.swap(handlers_);
    }
    for (auto& h : handlers)
      h.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::size_t request_count() const {
    std::lock_guard lock{mutex_};
    return requests_.size();
  }
  std::vector<Request> requests() const {
    std::lock_guard lock{mutex_};
    return requests_;
  }
  int max_concurrent() const { return max_concurrent_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock{mutex_};
      handlers_.emplace_back([this, fd] { handle(fd); });
    }
  }

  static bool send_all(int fd, const std::string& data) {
    for (std::size_t sent = 0; sent < data.size();) {
      ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  static void respond(int fd, int status, const std::string& reason, const std::string& body,
                      const std::string& extra = "") {
    send_all(fd, "HTTP/1.1 " + std::to_string(status) + " " + reason +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n" + extra + "\r\n" + body);
  }

  void handle(int fd) {
    int now = ++concurrent_;
    for (int peak = max_concurrent_;
         now > peak && !max_concurrent_.compare_exchange_weak(peak, now);) {
    }
    Request req;
    if (read_request(fd, req)) {
      req.received_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
      {
        std::lock_guard lock{mutex_};
        requests_.push_back(req);
      }
      serve(fd, req);
    }
    --concurrent_;
    ::close(fd);
  }

  bool read_request(int fd, Request& req) {
    std::string data;
    char buf[8192];
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    std::string head = data.substr(0, end);
    std::string rest = data.substr(end + 4);
    auto line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    auto sp1 = line.find(' ');
    auto sp2 = line.find(' ', sp1 + 1);
    req.method = line.substr(0, sp1);
    req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (std::size_t pos = line_end + 2; pos < head.size() + 2 && line_end != std::string::npos;) {
      auto next = head.find("\r\n", pos);
      std::string h = head.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      auto colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
          value.erase(0, 1);
        req.headers[name] = value;
      }
      if (next == std::string::npos) break;
      pos = next + 2;
    }
    std::size_t length =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    while (rest.size() < length) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      rest.append(buf, static_cast<std::size_t>(n));
    }
    req.body = rest.substr(0, length);
    return true;
  }

  void serve(int fd, const Request& req) {
    const std::string& p = req.path;
    if (p.starts_with("/status/")) {
      int status = std::stoi(p.substr(8));
      static const std::map<int, std::string> reasons = {{200, "OK"},
                                                         {201, "Created"},
                                                         {204, "No Content"},
                                                         {404, "Not Found"},
                                                         {500, "Internal Server Error"},
                                                         {503, "Service Unavailable"}};
      auto it = reasons.find(status);
      respond(fd, status, it == reasons.end() ? "Whatever" : it->second,
              status == 204 ? "" : "status " + std::to_string(status));
    } else if (p.starts_with("/slow/")) {
      auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds{std::stoi(p.substr(6))};
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
      respond(fd, 200, "OK", "slow");
    } else if (p.starts_with("/together/")) {
      const int n = std::stoi(p.substr(10));
      ++together_;
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds{60};
      while (!stopping_ && together_ < n && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
      if (together_ >= n) {
        respond(fd, 200, "OK", "together");
      } else {
        respond(fd, 503, "Service Unavailable", "alone");
      }
    } else if (p.starts_with("/redirect/")) {
      int n = std::stoi(p.substr(10));
      respond(
          fd, 302, "Found", "",
          "Location: " + (n > 0 ? "/redirect/" + std::to_string(n - 1) : "/status/200") + "\r\n");
    } else if (p.starts_with("/redirect-to?")) {
      respond(fd, 302, "Found", "", "Location: " + p.substr(13) + "\r\n");
    } else if (p == "/echo") {
      std::string body = req.method + " " + req.path + "\n";
      for (const auto& [k, v] : req.headers)
        body += k + ": " + v + "\n";
      body += "\n" + req.body;
      respond(fd, 200, "OK", body);
    } else if (p.starts_with("/retry-after/")) {
      respond(fd, 503, "Service Unavailable", "busy", "Retry-After: " + p.substr(13) + "\r\n");
    } else if (p == "/retry-after-date") {
      const std::time_t later = std::time(nullptr) + 3600;
      std::tm tm{};
      gmtime_r(&later, &tm);
      char date[64];
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      respond(fd, 429, "Too Many Requests", "slow down",
              "Retry-After: " + std::string(date) + "\r\n");
    } else if (p == "/binary") {
      respond(fd, 200, "OK", std::string("PNG\x89\xff\xfe\0end\xC3", 11));
    } else if (p == "/big") {
      respond(fd, 200, "OK", std::string(10 * 1024 * 1024, 'x'));
    } else if (p == "/hang") {
      while (!stopping_)
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    } else if (p == "/reset") {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    } else {
      respond(fd, 404, "Not Found", "no route");
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> together_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> handlers_;
  std::vector<Request> requests_;
};

}  // namespace cronkit::testing
