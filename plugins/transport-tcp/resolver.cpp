#include "resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include <quictun/sdk.hpp>

namespace quictun::transport_tcp {

// One lookup in flight. Owned by libevent's pending request (through `arg`) from resolve() until
// on_answer(), which libevent calls exactly once per request, for a cancelled one too.
struct Resolver::Lookup {
  Resolver& resolver;                            // outlives every lookup (see shut_down())
  Callback done;                                 // empty once dropped by shut_down()
  evdns_getaddrinfo_request* request = nullptr;  // null until evdns_getaddrinfo() returns
  bool answered = false;                         // on_answer() already ran
};

Resolver::Resolver(event_base* loop, sdk::Host& host, const std::vector<SocketAddress>& nameservers) {
  // DISABLE_WHEN_INACTIVE keeps the nameserver sockets from holding the host's loop open when
  // nothing is being resolved, or the host could never leave its loop on shutdown. libevent
  // 2.1 honours the flag only for nameservers added after evdns_base_new(), so the system
  // configuration is read in a second step rather than with INITIALIZE_NAMESERVERS.
  dns_.reset(evdns_base_new(loop, EVDNS_BASE_DISABLE_WHEN_INACTIVE));
  if (!dns_) throw sdk::Error("cannot start the DNS resolver: out of memory");
  if (nameservers.empty()) {
    // Also loads /etc/hosts. On failure libevent falls back to a nameserver on 127.0.0.1.
    if (int r = evdns_base_resolv_conf_parse(dns_.get(), DNS_OPTIONS_ALL, "/etc/resolv.conf"); r != 0)
      host.log(sdk::LogLevel::warn, "cannot use /etc/resolv.conf (evdns error " + std::to_string(r) +
                                        "); asking a nameserver on 127.0.0.1");
  } else {
    for (const auto& server : nameservers)
      if (evdns_base_nameserver_sockaddr_add(dns_.get(), server.get(), server.length, 0) != 0)
        throw sdk::Error("cannot use nameserver " + format_endpoint(server.get(), server.length));
    // Names in /etc/hosts (localhost above all) mean the same whichever nameservers are asked.
    evdns_base_load_hosts(dns_.get(), nullptr);
  }
  settle_.reset(evtimer_new(loop, &Resolver::on_settled, this));
  if (!settle_) throw sdk::Error("cannot start the DNS resolver: out of memory");
}

Resolver::~Resolver() = default;

void Resolver::resolve(const std::string& host, const std::string& port, int family, Callback done) {
  evutil_addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = EVUTIL_AI_NUMERICSERV;

  auto* lookup = new Lookup{*this, std::move(done)};  // libevent owns it now: on_answer() deletes it
  pending_.insert(lookup);
  evdns_getaddrinfo_request* request =
      evdns_getaddrinfo(dns_.get(), host.c_str(), port.c_str(), &hints, &Resolver::on_answer, lookup);
  if (lookup->answered) {
    // Answered on the spot (/etc/hosts): on_answer() left the Lookup for us. `this` may be gone.
    delete lookup;
    return;
  }
  if (!request) {
    // libevent promises a callback whenever it returns null; should it ever break that
    // promise, the caller still hears back exactly once.
    pending_.erase(lookup);
    Callback orphan = std::move(lookup->done);
    delete lookup;
    orphan(EVUTIL_EAI_FAIL, AddressList(nullptr, &evutil_freeaddrinfo));
    return;
  }
  lookup->request = request;
}

void Resolver::on_answer(int result, evutil_addrinfo* addresses, void* arg) {
  auto* lookup = static_cast<Lookup*>(arg);
  AddressList list(addresses, &evutil_freeaddrinfo);
  Resolver& self = lookup->resolver;
  Callback done = std::move(lookup->done);
  lookup->answered = true;
  self.pending_.erase(lookup);
  if (lookup->request) {
    delete lookup;
    // From the loop, libevent may still use the evdns_base after this callback returns, in
    // this loop turn (its getaddrinfo timeout cancels the other family's query and reports
    // that later): armed, the settle timer keeps the resolver alive until the next turn,
    // whoever shuts it down meanwhile. An answer from /etc/hosts, inside resolve(), leaves
    // nothing behind in libevent.
    self.settle_later();
  }  // else resolve() deletes it after evdns_getaddrinfo() returns
  // Last: done() may destroy the transport and so shut this resolver down.
  if (done) done(result, std::move(list));
}

void Resolver::settle_later() {
  // A zero timeout rather than event_active(): it fires on the next loop turn, after the
  // deferred callbacks evdns queued in this one.
  timeval now{0, 0};
  evtimer_add(settle_.get(), &now);
}

void Resolver::on_settled(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Resolver*>(arg);
  if (self->shut_down_) self->free_when_settled();
}

void Resolver::free_when_settled() {
  // Every lookup reported, and a loop turn since the last report: libevent is done with us.
  if (pending_.empty() && !evtimer_pending(settle_.get(), nullptr)) delete this;
}

void ShutDownResolver::operator()(Resolver* resolver) const { Resolver::shut_down(resolver); }

void Resolver::shut_down(Resolver* self) {
  self->shut_down_ = true;
  for (Lookup* lookup : self->pending_) {
    lookup->done = nullptr;
    // Reported later, with EVUTIL_EAI_CANCEL, from a callback that still reads the evdns_base.
    if (lookup->request) evdns_getaddrinfo_cancel(lookup->request);
  }
  // The cancelled lookups need the evdns_base for their reports, but not its sockets: closing
  // them now stops all traffic and takes the resolver's events off the host's loop.
  evdns_base_clear_nameservers_and_suspend(self->dns_.get());
  self->free_when_settled();
}

}  // namespace quictun::transport_tcp
