// Plugin "token-http": token source "http", compatible with quic-tun's Http token source.
// For every connection it asks `GET <url>?addr=<client ip:port>` and expects
// `{"token": "..."}` back, without ever blocking the event loop: libevent's HTTP client on
// host.loop(), evdns for names, a timer for the whole exchange.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <quictun/sdk.hpp>

#include "response.hpp"

namespace quictun::token_http {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t max_response_body = 64 * 1024;   // a token answer is tiny; more is an error page
constexpr std::size_t max_response_headers = 16 * 1024;
constexpr std::size_t max_cache_entries = 65536;       // bounds memory against address scans

using sdk::EventPtr;
using ConnectionPtr = sdk::EvhttpConnectionPtr;
using DnsPtr = sdk::EvdnsBasePtr;
using UriPtr = sdk::EvhttpUriPtr;

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string url_encode(std::string_view text) {
  char* encoded = evhttp_uriencode(text.data(), static_cast<ev_ssize_t>(text.size()), 0);
  if (!encoded) throw std::bad_alloc();
  std::string out(encoded);
  std::free(encoded);
  return out;
}

// The token server, split once at start-up.
struct Endpoint {
  std::string url;          // as configured, for messages
  std::string connect_host; // what to dial: a name or an IP literal without brackets
  std::string host_header;  // "name" or "name:port", as HTTP/1.1 wants it
  int port = 80;
  std::string target_prefix;  // "/path?query&" or "/path?": `addr=...` is appended per request
};

struct Options {
  Endpoint endpoint;
  std::chrono::milliseconds timeout{5000};    // for the whole exchange, DNS included
  std::chrono::milliseconds cache_ttl{0};     // how long a token is reused per client IP; 0 = never
};

Endpoint parse_url(const std::string& url, const std::function<sdk::Error(const std::string&)>& error) {
  UriPtr uri(evhttp_uri_parse(url.c_str()));
  if (!uri) throw error("'" + url + "' is not a valid URL");
  const char* scheme = evhttp_uri_get_scheme(uri.get());
  if (!scheme || std::string_view(scheme) != "http") {
    throw error("'" + url + "': only http:// URLs are supported (libevent's HTTP client has no TLS); put the token "
                "server on a trusted network or behind a local proxy");
  }
  if (evhttp_uri_get_userinfo(uri.get())) throw error("'" + url + "': user:password in the URL is not supported");
  const char* host = evhttp_uri_get_host(uri.get());
  if (!host || !*host) throw error("'" + url + "' names no host");

  Endpoint e;
  e.url = url;
  e.connect_host = host;
  if (e.connect_host.front() == '[' && e.connect_host.back() == ']')
    e.connect_host = e.connect_host.substr(1, e.connect_host.size() - 2);
  int port = evhttp_uri_get_port(uri.get());
  e.port = port < 0 ? 80 : port;
  if (e.port <= 0 || e.port > 65535) throw error("'" + url + "' has a bad port");
  e.host_header = std::string(host) + (port < 0 ? "" : ":" + std::to_string(port));
  const char* path = evhttp_uri_get_path(uri.get());
  const char* query = evhttp_uri_get_query(uri.get());
  e.target_prefix = (path && *path ? std::string(path) : std::string("/")) + "?";
  if (query && *query) e.target_prefix += std::string(query) + "&";
  return e;
}

Options read_options(const sdk::PluginConfig& config) {
  static const std::set<std::string> known = {"url", "timeout_ms", "cache_ttl_ms", "argument"};
  for (const auto& [key, value] : config.table) {
    if (!known.count(key))
      throw config.error(key, "is not a setting of token source 'http' (known: url, timeout_ms, cache_ttl_ms)");
  }
  Options o;
  if (!config.argument.empty()) {
    o.endpoint = parse_url(config.argument, [&](const std::string& what) { return config.argument_error(what); });
  } else if (auto url = config.get_string("url")) {
    o.endpoint = parse_url(*url, [&](const std::string& what) { return config.error("url", what); });
  } else {
    throw sdk::Error("token source 'http' needs the token server's URL: pass --token-source URL or set 'url'");
  }
  auto timeout = config.get_int("timeout_ms").value_or(o.timeout.count());
  if (timeout < 1 || timeout > 600000) throw config.error("timeout_ms", "must be between 1 and 600000");
  o.timeout = std::chrono::milliseconds(timeout);
  auto ttl = config.get_int("cache_ttl_ms").value_or(0);
  if (ttl < 0 || ttl > 7 * 24 * 3600 * 1000ll) throw config.error("cache_ttl_ms", "must be between 0 and 604800000");
  o.cache_ttl = std::chrono::milliseconds(ttl);
  return o;
}

const char* describe(evhttp_request_error error) {
  switch (error) {
    case EVREQ_HTTP_TIMEOUT: return "timed out";
    case EVREQ_HTTP_EOF: return "connection refused or closed early";
    case EVREQ_HTTP_INVALID_HEADER: return "malformed HTTP response";
    case EVREQ_HTTP_BUFFER_ERROR: return "I/O error";
    case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG: return "response too large";
  }
  return "request failed";
}

class HttpTokenSource final : public sdk::TokenSource {
 public:
  HttpTokenSource(const sdk::PluginConfig& config, sdk::Host& host) : options_(read_options(config)), host_(host) {
    if (!is_ip_literal(options_.endpoint.connect_host)) {
      // Without an evdns base libevent would resolve the name with a blocking getaddrinfo().
      dns_.reset(evdns_base_new(host_.loop(), EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE));
      if (!dns_) throw sdk::Error("token source 'http': cannot set up DNS resolution for " + options_.endpoint.url);
    }
    reaper_.reset(event_new(host_.loop(), -1, 0, &HttpTokenSource::on_reap, this));
    if (!reaper_) throw sdk::Error("token source 'http': cannot create an event on the host loop");
  }

  ~HttpTokenSource() override {
    // Connections go first (their pending requests die without calling back), then the rest.
    graveyard_.clear();
    fetches_.clear();
  }

  void resolve(const sdk::ConnectionInfo& connection, std::string_view, bool, sdk::TokenCallback done) override {
    const std::string& key = connection.peer_ip;
    if (caching()) {
      auto hit = cache_.find(key);
      if (hit != cache_.end()) {
        if (Clock::now() < hit->second.expires) {
          done(sdk::TokenDecision::with_token(hit->second.token));
          return;
        }
        cache_.erase(hit);
      }
      // One question per address at a time: a burst of connections from one client waits for
      // the same answer.
      if (auto running = in_flight_.find(key); running != in_flight_.end()) {
        running->second->waiters.push_back(std::move(done));
        return;
      }
    }
    start(connection, std::move(done));
  }

 private:
  struct Fetch {
    HttpTokenSource* owner = nullptr;
    std::string key;                     // the client IP, for the cache
    std::vector<sdk::TokenCallback> waiters;
    ConnectionPtr connection;
    EventPtr deadline;
    std::string failure;                 // what the error callback said, for the reason
    bool finished = false;               // answered; later callbacks are ignored
  };
  struct CacheEntry {
    std::string token;
    Clock::time_point expires;
  };

  bool caching() const { return options_.cache_ttl.count() > 0; }

  void start(const sdk::ConnectionInfo& connection, sdk::TokenCallback done) {
    const Endpoint& e = options_.endpoint;
    auto fetch = std::make_unique<Fetch>();
    fetch->owner = this;
    fetch->key = connection.peer_ip;
    fetch->waiters.push_back(std::move(done));

    fetch->connection.reset(evhttp_connection_base_new(host_.loop(), dns_.get(), e.connect_host.c_str(),
                                                       static_cast<ev_uint16_t>(e.port)));
    fetch->deadline.reset(event_new(host_.loop(), -1, 0, &HttpTokenSource::on_deadline, fetch.get()));
    if (!fetch->connection || !fetch->deadline) {
      fail_now(*fetch, "cannot create an HTTP connection");
      return;
    }
    timeval timeout = to_timeval(options_.timeout);
    // libevent's own per-step timeouts only back up the deadline below, which covers the whole
    // exchange and gives the clearer message.
    timeval backstop = to_timeval(options_.timeout + std::chrono::seconds(1));
    evhttp_connection_set_timeout_tv(fetch->connection.get(), &backstop);
    evhttp_connection_set_max_body_size(fetch->connection.get(), max_response_body);
    evhttp_connection_set_max_headers_size(fetch->connection.get(), max_response_headers);

    // libevent frees the request itself once the callback has run (or the connection dies).
    evhttp_request* request = evhttp_request_new(&HttpTokenSource::on_response, fetch.get());
    if (!request) {
      fail_now(*fetch, "cannot create an HTTP request");
      return;
    }
    evhttp_request_set_error_cb(request, &HttpTokenSource::on_error);
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Host", e.host_header.c_str());
    evhttp_add_header(headers, "Accept", "application/json");
    evhttp_add_header(headers, "User-Agent", "quictun-token-http/0.1");
    evhttp_add_header(headers, "Connection", "close");
    std::string target = e.target_prefix + "addr=" + url_encode(connection.peer_address);

    // Registered before the request goes out: libevent may report a failure from inside
    // evhttp_make_request, and finish() must find the fetch then.
    Fetch& registered = *fetch;
    if (caching()) in_flight_[fetch->key] = fetch.get();
    fetches_.emplace(fetch.get(), std::move(fetch));
    event_add(registered.deadline.get(), &timeout);
    if (evhttp_make_request(registered.connection.get(), request, EVHTTP_REQ_GET, target.c_str()) != 0 &&
        !registered.finished) {
      finish(registered, sdk::TokenDecision::refused("token server " + e.url + ": cannot send the HTTP request"));
    }
  }

  void fail_now(Fetch& fetch, const std::string& why) {
    for (auto& waiter : fetch.waiters) waiter(sdk::TokenDecision::refused("token server " + options_.endpoint.url + ": " + why));
  }

  static void on_error(evhttp_request_error error, void* arg) {
    auto* fetch = static_cast<Fetch*>(arg);
    int saved = errno;  // libevent leaves the socket error here for this callback
    fetch->failure = describe(error);
    if (saved != 0 && error != EVREQ_HTTP_TIMEOUT) fetch->failure += std::string(" (") + std::strerror(saved) + ")";
  }

  static void on_response(evhttp_request* request, void* arg) {
    auto* fetch = static_cast<Fetch*>(arg);
    HttpTokenSource& self = *fetch->owner;
    const std::string& server = self.options_.endpoint.url;
    if (fetch->finished) return;
    if (!request || evhttp_request_get_response_code(request) == 0) {
      // libevent 2.1 reports a failed connect (a refused one above all) by calling this
      // callback alone, without the error callback (evhttp_connection_cb_cleanup).
      std::string why = fetch->failure.empty() ? "cannot connect (refused or unreachable)" : fetch->failure;
      self.finish(*fetch, sdk::TokenDecision::refused("token server " + server + ": " + why));
      return;
    }
    int status = evhttp_request_get_response_code(request);
    if (status != 200) {
      const char* phrase = evhttp_request_get_response_code_line(request);
      self.finish(*fetch, sdk::TokenDecision::refused("token server " + server + " answered " + std::to_string(status) +
                                                      (phrase && *phrase ? std::string(" ") + phrase : "") +
                                                      " (expected 200)"));
      return;
    }
    evbuffer* input = evhttp_request_get_input_buffer(request);
    std::string body(evbuffer_get_length(input), '\0');
    evbuffer_copyout(input, body.data(), body.size());
    self.finish(*fetch, token_from_body(body, server));
  }

  static void on_deadline(evutil_socket_t, short, void* arg) {
    auto* fetch = static_cast<Fetch*>(arg);
    HttpTokenSource& self = *fetch->owner;
    self.finish(*fetch, sdk::TokenDecision::refused("token server " + self.options_.endpoint.url + ": no answer within " +
                                                    std::to_string(self.options_.timeout.count()) + " ms"));
  }

  static void on_reap(evutil_socket_t, short, void* arg) { static_cast<HttpTokenSource*>(arg)->graveyard_.clear(); }

  // Answers everyone waiting for `fetch`. The fetch (and its connection) cannot be freed here,
  // since this may run inside libevent's own request callback; it is freed on the next loop turn.
  void finish(Fetch& fetch, sdk::TokenDecision decision) {
    if (fetch.finished) return;
    fetch.finished = true;
    event_del(fetch.deadline.get());
    if (caching()) {
      in_flight_.erase(fetch.key);
      if (decision.kind == sdk::TokenDecision::Kind::token) remember(fetch.key, decision.token);
    }
    std::vector<sdk::TokenCallback> waiters = std::move(fetch.waiters);
    if (auto it = fetches_.find(&fetch); it != fetches_.end()) {
      graveyard_.push_back(std::move(it->second));
      fetches_.erase(it);
      event_active(reaper_.get(), EV_TIMEOUT, 0);
    }
    // Last, since a callback may come straight back into resolve().
    for (auto& waiter : waiters) waiter(decision);
  }

  void remember(const std::string& key, const std::string& token) {
    if (cache_.size() >= max_cache_entries) {
      auto now = Clock::now();
      std::erase_if(cache_, [&](const auto& entry) { return entry.second.expires <= now; });
      if (cache_.size() >= max_cache_entries) cache_.clear();
    }
    cache_[key] = CacheEntry{token, Clock::now() + options_.cache_ttl};
  }

  Options options_;
  sdk::Host& host_;
  DnsPtr dns_;      // null when the URL names an IP address
  EventPtr reaper_; // frees finished fetches outside libevent's callbacks
  std::unordered_map<Fetch*, std::unique_ptr<Fetch>> fetches_;  // in flight
  std::vector<std::unique_ptr<Fetch>> graveyard_;               // finished, freed by reaper_
  std::unordered_map<std::string, Fetch*> in_flight_;            // client IP -> its fetch (caching only)
  std::unordered_map<std::string, CacheEntry> cache_;            // client IP -> token (caching only)
};

sdk::PluginDescriptor describe_plugin() {
  sdk::PluginDescriptor d;
  d.name = "token-http";
  d.version = "0.1.0";
  d.description = "token of a connection from an HTTP token server (quic-tun's Http source)";
  d.token_sources.push_back({
      "http",
      "token from GET URL?addr=<client ip:port> answering {\"token\": \"...\"}",
      [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::TokenSource> {
        return std::make_unique<HttpTokenSource>(config, host);
      },
  });
  return d;
}

}  // namespace

}  // namespace quictun::token_http

QUICTUN_PLUGIN(quictun::token_http::describe_plugin)
QUICTUN_PLUGIN_PROVIDES(token_source, http)
