// Asynchronous host-name lookups on the host's loop, through libevent's evdns.
//
// evdns reports the cancellation of a lookup later, from the loop, and touches its evdns_base
// while doing so. A transport that is destroyed with lookups pending therefore cannot free the
// evdns_base on the spot: it retires the Resolver, which frees itself one loop turn after the
// last of its lookups has been reported. The host keeps running its loop after destroying a
// transport (until shutdown), so this completes before the plugin is unloaded.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <quictun/sdk.hpp>

#include "tcp_address.hpp"

namespace quictun::transport_tcp {

// The addresses a name resolved to (nullptr when the lookup failed), freed with the object.
using AddressList = std::unique_ptr<evutil_addrinfo, decltype(&evutil_freeaddrinfo)>;

class Resolver {
 public:
  // result: 0 or an EVUTIL_EAI_* code. Never called for a cancelled lookup.
  using Callback = std::function<void(int result, AddressList addresses)>;
  class Lookup;

  // Asks `nameservers`, or those of /etc/resolv.conf when there are none; reads /etc/hosts
  // either way. Throws sdk::Error when evdns cannot start.
  Resolver(event_base* loop, sdk::Host& host, const std::vector<SocketAddress>& nameservers);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts resolving `host` for `family` (AF_UNSPEC, AF_INET or AF_INET6); `done` runs once,
  // unless cancelled. Returns a handle for cancel(), valid until `done` runs, or null when
  // `done` has already run (a name from /etc/hosts is answered before resolve() returns).
  Lookup* resolve(const std::string& host, const std::string& port, int family, Callback done);

  // Drops a pending lookup: its callback is destroyed without being called.
  void cancel(Lookup* lookup);

  // Hands the resolver over to itself; it frees itself once libevent is done with it.
  static void retire(std::unique_ptr<Resolver> resolver);

 private:
  static void on_answer(int result, evutil_addrinfo* addresses, void* arg);
  static void on_reap(evutil_socket_t, short, void* arg);
  void lookup_finished();
  void reap_when_idle();

  sdk::EvdnsBasePtr dns_;    // one resolver per transport
  sdk::EventPtr reaper_;     // frees a retired resolver a loop turn later
  std::size_t pending_ = 0;  // lookups libevent has not reported yet
  bool retired_ = false;     // no owner any more: free when idle
};

}  // namespace quictun::transport_tcp
