#include "api/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <deque>
#include <optional>
#include <vector>

namespace cronkit::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Response plain_error(http::status status, std::string_view message, unsigned version) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = R"({"code":)" + std::to_string(static_cast<int>(status)) + R"(,"message":")" +
               std::string(message) + R"(","data":null})";
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

// The client's IP address (an IPv4-mapped IPv6 address as IPv4); empty if unknown.
std::string peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return {};
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, const HttpServer::Handler& handler,
          std::atomic<int>& connections)
      : stream_(std::move(socket)),
        peer_(peer_address(stream_.socket())),
        options_(options),
        handler_(handler),
        connections_(connections) {}
  ~Session() { --connections_; }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    stream_.expires_after(options_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    if (ec == http::error::body_limit) {
      // The client is probably still sending: answer, then read and drop the rest for a
      // moment, so that it sees the answer instead of a reset connection.
      draining_ = true;
      return send(plain_error(http::status::payload_too_large, "request body is over 1 MiB", 11));
    }
    if (ec == http::error::header_limit) {
      return send(plain_error(http::status::request_header_fields_too_large,
                              "request headers are too large", 11));
    }
    if (ec) {
      // Anything else the parser refuses is a malformed request.
      return send(plain_error(http::status::bad_request, "malformed HTTP request", 11));
    }
    Request req = parser_->release();
    // RFC 9112 3.2: an HTTP/1.1 request without exactly one Host is refused with a 400.
    if (req.version() >= 11 && req.count(http::field::host) != 1) {
      return send(plain_error(http::status::bad_request,
                              "an HTTP/1.1 request needs exactly one Host header", 11));
    }
    // RFC 9112 6.3: a transfer coding other than a final chunked leaves the body's length
    // unknown; the request is refused and the connection closed, so that the bytes after
    // it are never read as another request.
    if (req.find(http::field::transfer_encoding) != req.end() && !req.chunked()) {
      return send(plain_error(http::status::bad_request,
                              "unsupported Transfer-Encoding: only chunked is accepted", 11));
    }
    std::optional<Reply> reply;
    try {
      reply.emplace(handler_(req, peer_));
    } catch (const std::exception&) {
      reply.emplace(
          plain_error(http::status::internal_server_error, "internal error", req.version()));
    }
    if (reply->on_stream) return start_stream(std::move(*reply), req.version());
    if (reply->later) return await(std::move(*reply), req.version(), req.keep_alive());
    Response res = std::move(reply->response);
    res.version(req.version());
    if (res.keep_alive()) res.keep_alive(req.keep_alive());
    send(std::move(res));
  }

  // An answer that comes later: the connection reads nothing more until it is sent (so
  // pipelined answers keep their order), and no thread waits for it.
  void await(Reply reply, unsigned version, bool keep_alive) {
    struct Pending {
      explicit Pending(asio::any_io_executor ex) : timer(std::move(ex)) {}
      asio::steady_timer timer;
      bool answered = false;
    };
    auto pending = std::make_shared<Pending>(stream_.get_executor());
    // Runs on this connection's strand: the first answer wins.
    auto finish = [self = shared_from_this(), pending, version, keep_alive](Response res) {
      if (pending->answered) return;
      pending->answered = true;
      pending->timer.cancel();
      res.version(version);
      if (res.keep_alive()) res.keep_alive(keep_alive);
      self->send(std::move(res));
    };
    stream_.expires_never();
    pending->timer.expires_after(reply.later_timeout);
    pending->timer.async_wait([finish, fallback = std::move(reply.response)](beast::error_code ec) {
      if (!ec) finish(fallback);
    });
    auto executor = stream_.get_executor();
    try {
      reply.later([executor, finish](Response res) {
        asio::post(executor, [finish, res = std::move(res)]() mutable { finish(std::move(res)); });
      });
    } catch (const std::exception&) {
      finish(plain_error(http::status::internal_server_error, "internal error", version));
    }
  }

  void send(Response res) {
    // Every answer, whoever built it: a browser must never guess a type.
    res.set("X-Content-Type-Options", "nosniff");
    auto msg = std::make_shared<Response>(std::move(res));
    stream_.expires_after(options_.read_timeout);
    http::async_write(stream_, *msg,
                      [self = shared_from_this(), msg](beast::error_code ec, std::size_t) {
                        if (!ec && self->draining_) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return self->drain();
                        }
                        if (ec || !msg->keep_alive()) return self->close();
                        self->read();
                      });
  }

  // Reads and drops what the client still sends, for at most 2 s and 16 MiB.
  void drain() {
    if (drained_ == 0) stream_.expires_after(std::chrono::seconds{2});  // for all of it
    drain_buffer_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code e, std::size_t n) {
                              self->drained_ += n;
                              if (e || self->drained_ > (16u << 20)) return self->close();
                              self->drain();
                            });
  }

  // A streaming response: the header now, then whatever the sink is given, until the
  // connection closes. The body ends with the connection (no length, no chunks).
  void start_stream(Reply reply, unsigned version) {
    auto header =
        std::make_shared<http::response<http::empty_body>>(reply.response.result(), version);
    for (const auto& field : reply.response)
      header->set(field.name_string(), field.value());
    header->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    stream_.expires_never();
    http::async_write_header(
        stream_, *serializer,
        [self = shared_from_this(), header, serializer, on_stream = std::move(reply.on_stream)](
            beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          on_stream(std::make_shared<Sink>(self));
        });
  }

  class Sink final : public StreamSink {
   public:
    explicit Sink(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    ~Sink() override {
      asio::post(session_->stream_.get_executor(), [s = session_] { s->close(); });
    }
    bool send(std::string chunk) override {
      if (session_->dead_) return false;
      asio::post(session_->stream_.get_executor(),
                 [s = session_, chunk = std::move(chunk)]() mutable { s->push(std::move(chunk)); });
      return true;
    }

   private:
    std::shared_ptr<Session> session_;
  };

  // On the session's strand.
  void push(std::string chunk) {
    if (dead_) return;
    queued_bytes_ += chunk.size();
    if (queued_bytes_ > kMaxQueuedBytes) {  // a client this far behind is not reading
      dead_ = true;
      return close();
    }
    outbox_.push_back(std::move(chunk));
    if (outbox_.size() == 1) write_next();
  }

  void write_next() {
    asio::async_write(stream_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->dead_ = true;
                          return self->close();
                        }
                        self->queued_bytes_ -= self->outbox_.front().size();
                        self->outbox_.pop_front();
                        if (!self->outbox_.empty()) self->write_next();
                      });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const std::string peer_;  // the client's IP address
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool draining_ = false;
  static constexpr std::size_t kMaxQueuedBytes = 4u << 20;
  std::atomic<bool> dead_{false};
  std::deque<std::string> outbox_;
  std::size_t queued_bytes_ = 0;
  std::vector<char> drain_buffer_;
  std::size_t drained_ = 0;
  const HttpServerOptions& options_;
  const HttpServer::Handler& handler_;
  std::atomic<int>& connections_;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<int> connections{0};

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (connections.fetch_add(1) >= options.max_connections) {
          --connections;  // over the limit: closed at once, the others keep being served
          beast::error_code ignored;
          s.close(ignored);
        } else {
          std::make_shared<Session>(std::move(s), options, handler, connections)->run();
        }
      }
      accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler) : impl_(new Impl) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  tcp::endpoint endpoint{asio::ip::make_address(impl_->options.host), impl_->options.port};
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = impl_->acceptor.local_endpoint().port();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  impl_->accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

void HttpServer::stop() {
  if (!impl_ || impl_->io.stopped()) return;
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace cronkit::api
