// The REST API (quic-tun's, and more) and /metrics, on libevent's evhttp, in the program's loop.
//
//   GET    /tunnels                 quic-tun's list of open tunnels ([] when none); other methods: 405
//   GET    /tunnels/{uuid}          one tunnel
//   DELETE /tunnels/{uuid}          closes it: its application connection is reset
//   PUT    /{uuid}/close_tunnel     the same, as quic-tun spells it
//   GET    /connections             the QUIC connections
//   GET    /healthz                 {"status":"ok"}; never asks for the token
//   GET    /metrics                 Prometheus text format
//
// With [api] token every request but /healthz needs "Authorization: Bearer <token>".
#pragma once

#include <event2/http.h>

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "ops/metrics.hpp"
#include "tunnel/registry.hpp"

namespace quictun::ops {

class ApiServer {
 public:
  struct Sources {
    tunnel::TunnelRegistry& tunnels;
    Metrics& metrics;
    std::function<nlohmann::ordered_json()> connections;  // an array
  };

  // Listens on settings.api_listen_on ("HOST:PORT" or "unix:/path"). Throws UsageError naming
  // the flag or file:line for a bad address or token, RuntimeError when the address is taken.
  ApiServer(event_base* loop, const config::CommonSettings& settings, Sources sources);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  const std::string& address() const { return address_; }  // as bound, for the start-up line

 private:
  struct HttpDeleter {
    void operator()(evhttp* h) const { evhttp_free(h); }
  };
  static void on_request(evhttp_request* req, void* self);
  void handle(evhttp_request* req);
  int listen_unix(const std::string& path, const std::string& origin);
  int listen_tcp(const std::string& text, const std::string& origin, bool& loopback);

  Sources sources_;
  std::unique_ptr<evhttp, HttpDeleter> http_;
  std::string token_;      // empty: no authentication
  std::string unix_path_;  // removed at the end
  std::string address_;
};

// The bearer token [api] token names: the text itself, or the first line of the file after
// "file:" (relative to `base_dir`). Throws UsageError naming `origin` or file:line.
std::string load_api_token(const std::string& value, const std::string& origin, const std::string& base_dir);

}  // namespace quictun::ops
