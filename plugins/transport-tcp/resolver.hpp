// Asynchronous host-name lookups on the host's loop, through libevent's evdns.
//
// What libevent allows at destruction: evdns reports every lookup, a cancelled one included,
// from a deferred callback on the loop, and that callback reads the evdns_base. So a Resolver
// whose lookups libevent has not reported yet cannot free its evdns_base on the spot. shut_down()
// does all it can at once: no callback given to resolve() runs any more, no query is sent any
// more, and the nameserver sockets are closed and their events removed from the loop. Only
// memory is left behind when lookups were pending (or just answered): the Resolver frees itself
// one loop turn after libevent's last report. A Resolver with nothing pending is freed at once.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <quictun/sdk.hpp>

#include "tcp_address.hpp"

namespace quictun::transport_tcp {

// The addresses a name resolved to (nullptr when the lookup failed), freed with the object.
using AddressList = std::unique_ptr<evutil_addrinfo, decltype(&evutil_freeaddrinfo)>;

class Resolver;

// Owns a Resolver; destroying it shuts the resolver down (see the top of this file).
struct ShutDownResolver {
  void operator()(Resolver* resolver) const;
};
using ResolverPtr = std::unique_ptr<Resolver, ShutDownResolver>;

class Resolver {
 public:
  // result: 0 or an EVUTIL_EAI_* code.
  using Callback = std::function<void(int result, AddressList addresses)>;

  // Asks `nameservers`, or those of /etc/resolv.conf when there are none; reads /etc/hosts
  // either way. Throws sdk::Error when evdns cannot start.
  Resolver(event_base* loop, sdk::Host& host, const std::vector<SocketAddress>& nameservers);
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts resolving `host` for `family` (AF_UNSPEC, AF_INET or AF_INET6); `done` runs once,
  // unless the resolver is shut down first. `done` may run before resolve() returns (a name in
  // /etc/hosts is answered at once), and may shut the resolver down.
  void resolve(const std::string& host, const std::string& port, int family, Callback done);

  // The end of a resolver (see the top of this file): drops every pending callback, cancels
  // the lookups, closes the nameserver sockets, and frees the resolver now or, when libevent
  // still has to report to it, one loop turn after it has. ResolverPtr calls it.
  static void shut_down(Resolver* resolver);

 private:
  ~Resolver();  // only from shut_down(), or from the settle timer after it

  struct Lookup;
  static void on_answer(int result, evutil_addrinfo* addresses, void* arg);
  static void on_settled(evutil_socket_t, short, void* arg);
  void settle_later();
  void free_when_settled();

  sdk::EvdnsBasePtr dns_;                  // one resolver per transport
  sdk::EventPtr settle_;                   // armed at each answer; fires once libevent is done with it
  std::unordered_set<Lookup*> pending_;    // lookups libevent has not reported yet
  bool shut_down_ = false;                 // no owner any more: free once settled
};

}  // namespace quictun::transport_tcp
