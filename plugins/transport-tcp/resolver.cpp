#include "resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include <quictun/sdk.hpp>

namespace quictun::transport_tcp {

// One lookup in flight. Owned by libevent's pending request (through `arg`) from resolve() until
// on_answer(), which is always called exactly once, even for a cancelled request.
class Resolver::Lookup {
 public:
  Lookup(Resolver& resolver, Callback done) : resolver(resolver), done(std::move(done)) {}
  Resolver& resolver;                              // outlives every lookup (see retire())
  Callback done;                                   // empty once cancelled
  evdns_getaddrinfo_request* request = nullptr;    // null until evdns_getaddrinfo() returns
  bool answered = false;                           // on_answer() already ran
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
  reaper_.reset(evtimer_new(loop, &Resolver::on_reap, this));
  if (!reaper_) throw sdk::Error("cannot start the DNS resolver: out of memory");
}

Resolver::~Resolver() = default;

Resolver::Lookup* Resolver::resolve(const std::string& host, const std::string& port, int family,
                                    Callback done) {
  evutil_addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = EVUTIL_AI_NUMERICSERV;

  auto lookup = std::make_unique<Lookup>(*this, std::move(done));
  Lookup* raw = lookup.release();  // libevent owns it now: on_answer() deletes it
  ++pending_;
  evdns_getaddrinfo_request* request =
      evdns_getaddrinfo(dns_.get(), host.c_str(), port.c_str(), &hints, &Resolver::on_answer, raw);
  if (raw->answered) {
    // Answered on the spot (a literal or /etc/hosts): on_answer() left the Lookup for us.
    delete raw;
    return nullptr;
  }
  if (!request) {
    // libevent promises a callback whenever it returns null; should it ever break that
    // promise, the caller still hears back exactly once.
    Callback orphan = std::move(raw->done);
    delete raw;
    lookup_finished();
    if (orphan) orphan(EVUTIL_EAI_FAIL, AddressList(nullptr, &evutil_freeaddrinfo));
    return nullptr;
  }
  raw->request = request;
  return raw;
}

void Resolver::cancel(Lookup* lookup) {
  if (!lookup || !lookup->done) return;
  lookup->done = nullptr;
  if (lookup->request) evdns_getaddrinfo_cancel(lookup->request);
}

void Resolver::on_answer(int result, evutil_addrinfo* addresses, void* arg) {
  auto* lookup = static_cast<Lookup*>(arg);
  AddressList list(addresses, &evutil_freeaddrinfo);
  Callback done = std::move(lookup->done);
  Resolver& self = lookup->resolver;
  bool synchronous = lookup->request == nullptr;
  lookup->answered = true;
  lookup->done = nullptr;
  if (!synchronous) delete lookup;  // else resolve() deletes it after evdns_getaddrinfo() returns
  // Counted as finished only after done() returns: done() may destroy the transport and so
  // retire this resolver, and we are still inside evdns, which uses the evdns_base after we
  // return; the reaper must not even be scheduled before that.
  if (done && result != EVUTIL_EAI_CANCEL) done(result, std::move(list));
  self.lookup_finished();
}

void Resolver::lookup_finished() {
  --pending_;
  reap_when_idle();
}

void Resolver::reap_when_idle() {
  if (!retired_ || pending_ != 0) return;
  // A zero timeout rather than event_active(): it fires on the next loop turn, after the
  // deferred callbacks evdns queued in this one, which may still use the evdns_base.
  timeval now{0, 0};
  evtimer_add(reaper_.get(), &now);
}

void Resolver::retire(std::unique_ptr<Resolver> resolver) {
  Resolver* self = resolver.release();
  self->retired_ = true;
  self->reap_when_idle();
}

void Resolver::on_reap(evutil_socket_t, short, void* arg) {
  delete static_cast<Resolver*>(arg);
}

}  // namespace quictun::transport_tcp
