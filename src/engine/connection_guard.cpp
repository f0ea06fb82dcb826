#include "engine/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>

namespace cronkit::engine {

namespace {

// The host part of the URL libcurl is working on (after a redirect, the new one's).
std::string current_host(CURL* easy) {
  char* url = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url) return {};
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parts{curl_url(), &curl_url_cleanup};
  char* host = nullptr;
  if (!parts || curl_url_set(parts.get(), CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(parts.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    return {};
  }
  std::string out = host;
  curl_free(host);
  if (out.size() > 2 && out.front() == '[') out = out.substr(1, out.size() - 2);
  return out;
}

}  // namespace

void ConnectionGuard::attach(CURL* easy, const OutboundRules& rules) {
  easy_ = easy;
  rules_ = &rules;
  refused_.clear();
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &ConnectionGuard::open);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
}

curl_socket_t ConnectionGuard::open(void* self, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<ConnectionGuard*>(self);
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = nullptr;
  if (address->family == AF_INET) {
    raw = &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr;
  } else if (address->family == AF_INET6) {
    raw = &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr;
  }
  if (!raw || !inet_ntop(address->family, raw, text, sizeof text)) {
    guard->refused_ = "a connection of an unknown address family is refused";
    return CURL_SOCKET_BAD;
  }
  if (auto refusal = guard->rules_->check(current_host(guard->easy_), text)) {
    guard->refused_ = std::move(refusal->message);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace cronkit::engine
