#pragma once

#include <curl/curl.h>

#include <string>

#include "core/outbound.h"

namespace cronkit::engine {

/// Holds each connection a libcurl handle opens — the first and every redirect's — to the
/// outbound rules, by the address it is about to connect to (after name resolution, so a
/// name that resolves to a denied address is refused too). A refused connection is never
/// opened (libcurl then fails with CURLE_COULDNT_CONNECT) and refused() says why.
///   ConnectionGuard guard;  guard.attach(easy, rules);  curl_easy_perform(easy);
///   if (!guard.refused().empty()) ...
class ConnectionGuard {
 public:
  /// `rules` must outlive the transfer; the guard must not move once attached.
  void attach(CURL* easy, const OutboundRules& rules);
  const std::string& refused() const { return refused_; }

 private:
  static curl_socket_t open(void* self, curlsocktype purpose, curl_sockaddr* address);

  CURL* easy_ = nullptr;
  const OutboundRules* rules_ = nullptr;
  std::string refused_;
};

}  // namespace cronkit::engine
