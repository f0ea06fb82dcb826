#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cronkit::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// The rest of a streaming response (Server-Sent Events), pushed as it comes. Thread-safe.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Queues `chunk` for the client. False once the client is gone or has fallen too far
  /// behind; the stream is then closed and later chunks are dropped.
  virtual bool send(std::string chunk) = 0;
};

/// Sends the answer to a request whose reply came `later`; callable from any thread, once.
using Respond = std::function<void(Response)>;

/// What a handler answers: a whole response; or with `on_stream` set, the header of a
/// response whose body follows through the sink given to on_stream (until either side
/// closes the connection); or with `later` set, an answer that comes later, when something
/// the handler started has happened: `later` is called at once with the function that sends
/// it, and if that has not been called within `later_timeout`, `response` is sent instead.
/// No server thread waits meanwhile.
struct Reply {
  Reply(Response r) : response(std::move(r)) {}  // NOLINT: a plain response is a reply
  Response response;
  std::function<void(std::shared_ptr<StreamSink>)> on_stream;
  std::function<void(Respond)> later;
  std::chrono::milliseconds later_timeout{5000};
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 3399;  // 0: any free port (see HttpServer::port())
  int threads = 2;
  std::size_t body_limit = 1 << 20;       // larger bodies are answered 413
  std::size_t header_limit = 16384;       // larger headers are answered 431
  std::chrono::seconds read_timeout{30};  // for a whole request: slow clients are cut off
  int max_connections = 1024;             // more are closed as soon as they are accepted
};

/// An HTTP/1.1 server on Boost.Beast: keep-alive, pipelining in order, bounded requests.
/// Each request is answered by `handler`, called on one of the server's threads.
///   HttpServer s{{.port = 0}, [](const Request& r) { ... return response; }};
///   s.start();  ...  s.stop();
class HttpServer {
 public:
  /// Answers a request from `peer`, the client's IP address.
  using Handler = std::function<Reply(const Request&, std::string_view peer)>;

  /// Binds at once; throws boost::system::system_error if the address is taken.
  HttpServer(HttpServerOptions options, Handler handler);
  /// The same, for a handler that does not ask who is calling.
  HttpServer(HttpServerOptions options, std::function<Reply(const Request&)> handler)
      : HttpServer(std::move(options),
                   [handler = std::move(handler)](const Request& r, std::string_view) {
                     return handler(r);
                   }) {}
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  unsigned short port() const { return port_; }
  void start();
  /// Stops accepting, closes every connection and joins the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

}  // namespace cronkit::api
