#include "app/resolver.hpp"

#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <utility>

#include "util/error.hpp"

namespace quictun::app {

struct Resolver::State {
  explicit State(event_base* loop) : loop(loop) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Fails what is still queued; libevent reports those failures without touching the base.
  ~State() { if (dns) evdns_base_free(dns, 1); }
  event_base* loop;
  evdns_base* dns = nullptr;
};

struct Resolver::Lookup {
  std::shared_ptr<State> state;                  // keeps the evdns_base alive until libevent reports
  Resolver* owner = nullptr;                     // null once cancelled
  evdns_getaddrinfo_request* request = nullptr;  // null until evdns_getaddrinfo() returns
  bool answered = false;                         // answered on the spot, inside evdns_getaddrinfo()
};

Resolver::Resolver(event_base* loop, const std::vector<std::string>& nameservers)
    : loop_(loop), state_(std::make_shared<State>(loop)) {
  // DISABLE_WHEN_INACTIVE: idle nameserver sockets must not keep the loop running at shutdown.
  // libevent 2.1 applies it only to nameservers added after evdns_base_new(), hence two steps.
  state_->dns = evdns_base_new(loop, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  if (!state_->dns) throw RuntimeError("cannot start the DNS resolver: out of memory");
  if (nameservers.empty()) {
    // Also reads /etc/hosts. On failure evdns falls back to a nameserver on 127.0.0.1, as the
    // C library does; a numeric server address needs no nameserver at all, so this only warns.
    if (int r = evdns_base_resolv_conf_parse(state_->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf"); r != 0)
      spdlog::warn("cannot use /etc/resolv.conf (evdns error {}); asking a nameserver on 127.0.0.1", r);
  } else {
    for (const auto& ns : nameservers) {
      if (evdns_base_nameserver_ip_add(state_->dns, ns.c_str()) != 0)
        throw RuntimeError("nameserver \"" + ns + "\": not usable (expected IP or IP:PORT)");
    }
    evdns_base_load_hosts(state_->dns, nullptr);  // localhost and friends still come from /etc/hosts
  }
  deliver_.assign(loop, -1, 0, [this](short) {
    Callback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(answer_), error_);
  });
}

Resolver::~Resolver() { cancel(); }

void Resolver::cancel() {
  deliver_.del();
  done_ = nullptr;
  if (!lookup_) return;
  Lookup* lookup = std::exchange(lookup_, nullptr);
  lookup->owner = nullptr;
  evdns_getaddrinfo_cancel(lookup->request);  // reported later, from the loop: on_answer() frees it
}

void Resolver::resolve(const HostPort& hp, std::string what, Callback done) {
  cancel();
  host_ = hp.host;
  what_ = std::move(what);
  done_ = std::move(done);
  answer_.reset();
  error_.clear();
  evutil_addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = EVUTIL_AI_NUMERICSERV;
  auto* lookup = new Lookup{state_, this};  // libevent owns it from here: on_answer() deletes it
  evdns_getaddrinfo_request* request =
      evdns_getaddrinfo(state_->dns, hp.host.c_str(), hp.port.c_str(), &hints, &Resolver::on_answer, lookup);
  if (lookup->answered || !request) {
    // A literal address or a name from /etc/hosts is answered inside evdns_getaddrinfo(), which
    // then returns null; on_answer() left the Lookup to us.
    if (!lookup->answered) {
      // libevent promises to report whenever it returns null; should it not, fail rather than hang.
      error_ = what_ + ": cannot resolve \"" + host_ + "\": " + evutil_gai_strerror(EVUTIL_EAI_FAIL);
    }
    delete lookup;
    deliver_.activate();
    return;
  }
  lookup->request = request;
  lookup_ = lookup;
}

void Resolver::on_answer(int result, evutil_addrinfo* addresses, void* arg) {
  auto* lookup = static_cast<Lookup*>(arg);
  Resolver* owner = lookup->owner;
  if (owner) owner->finish(result, addresses);
  if (addresses) evutil_freeaddrinfo(addresses);
  if (!lookup->request) {
    lookup->answered = true;  // inside evdns_getaddrinfo(): resolve() takes it from here
    return;
  }
  if (owner) {
    owner->lookup_ = nullptr;
    owner->deliver_.activate();
  }
  // We are inside evdns, which still uses its base when we return: the base may go only on a
  // later loop turn. A zero timeout rather than event_active() runs after this turn's deferred
  // callbacks.
  auto* keep = new std::shared_ptr<State>(std::move(lookup->state));
  delete lookup;
  timeval now{0, 0};
  if (event_base_once((*keep)->loop, -1, EV_TIMEOUT,
                      [](evutil_socket_t, short, void* p) { delete static_cast<std::shared_ptr<State>*>(p); }, keep,
                      &now) != 0) {
    // Cannot schedule: `keep` stays allocated, for keeping the base is safer than freeing it
    // under evdns' feet.
  }
}

void Resolver::finish(int result, evutil_addrinfo* addresses) {
  if (result == 0 && addresses) {
    answer_ = from_sockaddr(addresses->ai_addr, static_cast<socklen_t>(addresses->ai_addrlen));
    return;
  }
  error_ = what_ + ": cannot resolve \"" + host_ + "\": " + evutil_gai_strerror(result ? result : EVUTIL_EAI_FAIL);
}

}  // namespace quictun::app
