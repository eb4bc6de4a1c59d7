// Looks up the server's name without blocking the loop, through libevent's evdns: a slow or
// dead nameserver must not freeze the client's tunnels, timers and signals while it thinks.
//
// evdns reports a cancelled lookup later, from the loop, and uses its evdns_base while doing
// so. A Resolver destroyed mid-lookup therefore leaves the evdns_base to the lookup, which
// frees it one loop turn after libevent has reported it (the client runs its loop a few turns
// after tearing down, for exactly this).
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/address.hpp"
#include "util/event.hpp"

namespace quictun::app {

class Resolver {
 public:
  // `address` is the first address found, or empty with `error` saying why.
  using Callback = std::function<void(std::optional<SocketAddress> address, const std::string& error)>;

  // `nameservers`: "IP" or "IP:PORT" each; empty means /etc/resolv.conf. /etc/hosts is read
  // either way. Throws RuntimeError when evdns cannot start or refuses a nameserver.
  Resolver(event_base* loop, const std::vector<std::string>& nameservers);
  ~Resolver();  // cancels the pending lookup: its callback never runs
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Looks `hp` up for UDP, cancelling any lookup still pending. `done` runs once, from the loop,
  // never before resolve() returns (so the caller's state is settled when it runs); `what`
  // names the setting in error messages.
  void resolve(const HostPort& hp, std::string what, Callback done);
  void cancel();
  bool pending() const { return lookup_ != nullptr || deliver_.pending(EV_TIMEOUT); }

 private:
  struct State;   // the evdns_base, shared by the resolver and its lookup in flight
  struct Lookup;  // one evdns_getaddrinfo() request, owned by libevent until it reports
  static void on_answer(int result, struct evutil_addrinfo* addresses, void* arg);
  void finish(int result, struct evutil_addrinfo* addresses);

  event_base* loop_;
  std::shared_ptr<State> state_;
  Lookup* lookup_ = nullptr;  // the pending request, if any
  Event deliver_;             // hands an answer evdns gave on the spot to the caller from the loop
  std::optional<SocketAddress> answer_;
  std::string error_;
  std::string host_;  // what is being looked up, and the setting it came from, for messages
  std::string what_;
  Callback done_;
};

}  // namespace quictun::app
