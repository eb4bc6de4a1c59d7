// Plugin "token-http-header": token source "http-header" for HTTP/1.x applications. The token
// comes from a request header or from the Host the request is for; failures are answered in
// HTTP so that browsers and curl show something better than a reset.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include <event2/event.h>
#include <quictun/sdk.hpp>

#include "request_head.hpp"

namespace quictun::token_http_header {

namespace {

using sdk::EventPtr;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string token_problem(std::string_view token) {
  if (token.empty()) return "is empty";
  if (token.size() > sdk::max_token_bytes) return "is longer than " + std::to_string(sdk::max_token_bytes) + " bytes";
  if (token.find('\0') != std::string_view::npos) return "contains a NUL byte";
  return {};
}

// "a.example:8080" -> "a.example", "[::1]:80" -> "[::1]"; "" when there is no port.
std::string without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':')
      return std::string(host.substr(0, close + 1));
    return {};
  }
  auto colon = host.find(':');
  if (colon == std::string_view::npos || host.find(':', colon + 1) != std::string_view::npos) return {};
  return std::string(host.substr(0, colon));
}

// Host as written in a request or in the `hosts` table, without the trailing dot of a
// fully-qualified name: "a.example.:80" and "a.example:80" are the same site.
std::string strip_dot(std::string host) {
  std::string port;
  if (auto bare = without_port(host); !bare.empty()) {
    port = host.substr(bare.size());
    host = bare;
  }
  if (host.size() > 1 && host.back() == '.') host.pop_back();
  return host + port;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 421: return "Misdirected Request";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

// A complete HTTP/1.1 response that closes the connection, so that no client waits for more.
std::string http_reply(int status, std::string_view message) {
  std::string body = "quictun: " + std::string(message) + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

struct Options {
  std::string header = "X-Quictun-Token";   // where the token is read from
  bool use_header = true;                    // false: only the Host mapping decides
  bool strip_header = false;                 // remove the token header before forwarding
  std::map<std::string, std::string> hosts;  // normalized host (maybe with port) -> token; "*" = default
  std::size_t max_head_bytes = 16 * 1024;    // request line + headers, in bytes
  std::chrono::milliseconds read_timeout{10000};  // from accept until the head is complete
};

Options read_options(const sdk::PluginConfig& config) {
  static const std::set<std::string> known = {"header", "hosts", "strip_header", "max_head_bytes", "read_timeout_ms",
                                              "argument"};
  for (const auto& [key, value] : config.table) {
    if (!known.count(key))
      throw config.error(key, "is not a setting of token source 'http-header' (known: header, hosts, strip_header, "
                              "max_head_bytes, read_timeout_ms)");
  }

  Options o;
  bool header_given = false;
  if (!config.argument.empty()) {
    o.header = config.argument;
    header_given = true;
  } else if (auto header = config.get_string("header")) {
    o.header = *header;
    header_given = true;
  }
  if (o.header.empty() || !std::all_of(o.header.begin(), o.header.end(), is_tchar)) {
    std::string what = "'" + o.header + "' is not a valid HTTP header name";
    throw config.argument.empty() ? config.error("header", what) : config.argument_error(what);
  }

  if (const sdk::ConfigTable* hosts = config.get_table("hosts")) {
    for (const auto& [host, value] : *hosts) {
      const std::string* token = value.get_if<std::string>();
      std::string where = value.origin().empty() ? config.table_origin : value.origin();
      std::string prefix = (where.empty() ? std::string() : where + ": ") + "hosts.\"" + host + "\" ";
      if (!token) throw sdk::Error(prefix + "must be a string (the token)");
      if (auto problem = token_problem(*token); !problem.empty()) throw sdk::Error(prefix + "token " + problem);
      if (trim(host).empty()) throw sdk::Error(prefix + "names no host");
      std::string key = host == "*" ? host : strip_dot(lower(trim(host)));
      if (!o.hosts.emplace(key, *token).second) throw sdk::Error(prefix + "is listed twice (as " + key + ")");
    }
    if (o.hosts.empty()) throw config.error("hosts", "is empty");
    // With a host map the operator chose the backends; a client header may pick only if the
    // header was named on purpose.
    o.use_header = header_given;
  }

  o.strip_header = config.get_bool("strip_header").value_or(false);
  if (o.strip_header && !o.use_header)
    throw config.error("strip_header", "needs a token header: name one with the argument or 'header'");

  auto head = config.get_int("max_head_bytes").value_or(static_cast<std::int64_t>(o.max_head_bytes));
  // libhttp-parser refuses heads over 80 KiB on its own; stay well inside that.
  if (head < 256 || head > 65536) throw config.error("max_head_bytes", "must be between 256 and 65536");
  o.max_head_bytes = static_cast<std::size_t>(head);

  auto timeout = config.get_int("read_timeout_ms").value_or(o.read_timeout.count());
  if (timeout < 100 || timeout > 600000) throw config.error("read_timeout_ms", "must be between 100 and 600000");
  o.read_timeout = std::chrono::milliseconds(timeout);
  return o;
}

class HttpHeaderSource final : public sdk::TokenSource {
 public:
  HttpHeaderSource(const sdk::PluginConfig& config, sdk::Host& host) : options_(read_options(config)), host_(host) {}

  void resolve(const sdk::ConnectionInfo& connection, std::string_view seen, bool eof, sdk::TokenCallback done) override {
    Pending* pending = find_or_start(connection.id, seen);
    if (!pending) {
      done(sdk::TokenDecision::refused("could not start the read timer", http_reply(503, "out of resources")));
      return;
    }
    if (pending->expired) {
      pending_.erase(connection.id);
      done(sdk::TokenDecision::refused(
          "no complete request head within " + std::to_string(options_.read_timeout.count()) + " ms",
          http_reply(408, "the request head took too long")));
      return;
    }

    RequestHead& head = *pending->head;
    switch (head.feed(seen, options_.max_head_bytes)) {
      case RequestHead::State::complete: {
        sdk::TokenDecision decision = decide(head, seen);
        pending_.erase(connection.id);
        done(std::move(decision));
        return;
      }
      case RequestHead::State::malformed: {
        std::string why = "malformed HTTP request head: " + head.error();
        pending_.erase(connection.id);
        done(sdk::TokenDecision::refused(why, http_reply(400, why)));
        return;
      }
      case RequestHead::State::incomplete:
        break;
    }
    if (head.consumed() >= options_.max_head_bytes) {
      pending_.erase(connection.id);
      std::string why = "request head larger than " + std::to_string(options_.max_head_bytes) + " bytes";
      done(sdk::TokenDecision::refused(why, http_reply(400, why)));
      return;
    }
    if (eof) {
      pending_.erase(connection.id);
      if (seen.empty()) {
        done(sdk::TokenDecision::refused("the client closed before sending a request"));
      } else {
        std::string why = "the client stopped sending in the middle of the request head";
        done(sdk::TokenDecision::refused(why, http_reply(400, why)));
      }
      return;
    }
    done(sdk::TokenDecision::need_more_bytes());
  }

  std::string failure_reply(const sdk::ConnectionInfo&, sdk::TunnelFailure failure) const override {
    switch (failure) {
      case sdk::TunnelFailure::token_refused:
        return http_reply(502, "the tunnel server refused this request's token");
      case sdk::TunnelFailure::backend_unreachable:
        return http_reply(504, "the tunnel server could not reach the backend");
      case sdk::TunnelFailure::server_unreachable:
        return http_reply(503, "the tunnel server cannot be reached");
      case sdk::TunnelFailure::tunnel_broken:
        return http_reply(502, "the tunnel broke before the backend answered");
    }
    return http_reply(502, "tunnel failure");
  }

 private:
  // One connection whose head is still arriving. The SDK gives no "connection closed" call, so
  // a timer bounds how long its state may outlive a client that went away.
  struct Pending {
    HttpHeaderSource* owner = nullptr;
    std::uint64_t id = 0;
    std::unique_ptr<RequestHead> head;  // null once expired, to free its buffers early
    bool expired = false;  // the timer fired: the next call answers 408, later the entry goes
    EventPtr timer;
  };

  Pending* find_or_start(std::uint64_t id, std::string_view seen) {
    auto it = pending_.find(id);
    // Fewer bytes than already parsed can only mean a new connection reusing the number.
    if (it != pending_.end() && (it->second->expired || seen.size() >= it->second->head->consumed())) return it->second.get();

    auto pending = std::make_unique<Pending>();
    pending->owner = this;
    pending->id = id;
    pending->head = std::make_unique<RequestHead>();
    pending->timer.reset(event_new(host_.loop(), -1, 0, &HttpHeaderSource::on_timer, pending.get()));
    if (!pending->timer || !arm(*pending)) return nullptr;
    Pending* raw = pending.get();
    pending_[id] = std::move(pending);
    return raw;
  }

  bool arm(Pending& pending) {
    auto ms = options_.read_timeout.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    return event_add(pending.timer.get(), &tv) == 0;
  }

  static void on_timer(evutil_socket_t, short, void* arg) {
    auto* pending = static_cast<Pending*>(arg);
    pending->owner->expire(*pending);
  }

  void expire(Pending& pending) {
    if (pending.expired || !arm(pending)) {
      // A second period without news: the connection is gone (or will get a fresh start).
      pending_.erase(pending.id);  // frees the event from inside its own callback, which is allowed
      return;
    }
    // No resolve() call is outstanding now (each one is answered at once), so the 408 waits
    // for the next bytes; the host's own handshake timeout closes clients that send nothing.
    pending.expired = true;
    pending.head.reset();
    host_.log(sdk::LogLevel::debug, "connection " + std::to_string(pending.id) + ": no complete request head after " +
                                        std::to_string(options_.read_timeout.count()) + " ms");
  }

  sdk::TokenDecision decide(const RequestHead& head, std::string_view seen) const {
    if (options_.use_header) {
      auto values = head.values(options_.header);
      if (values.size() > 1) return bad_request(options_.header + " header appears " + std::to_string(values.size()) + " times");
      if (values.size() == 1) {
        if (auto problem = token_problem(values[0]); !problem.empty())
          return bad_request(options_.header + " header " + problem);
        sdk::TokenDecision decision = sdk::TokenDecision::with_token(values[0]);
        if (options_.strip_header) {
          decision.forward = without_header(seen.substr(0, head.head_size()), options_.header);
          decision.forward->append(seen.substr(head.head_size()));
        }
        return decision;
      }
      if (options_.hosts.empty()) return bad_request("missing " + options_.header + " header");
    }
    return by_host(head);
  }

  sdk::TokenDecision by_host(const RequestHead& head) const {
    auto hosts = head.values("Host");
    auto fallback = options_.hosts.find("*");
    if (hosts.size() > 1) return bad_request("Host header appears " + std::to_string(hosts.size()) + " times");
    if (hosts.empty() || hosts[0].empty()) {
      if (fallback != options_.hosts.end()) return sdk::TokenDecision::with_token(fallback->second);
      return bad_request(options_.use_header ? "missing " + options_.header + " and Host headers" : "missing Host header");
    }
    std::string host = strip_dot(lower(hosts[0]));
    auto it = options_.hosts.find(host);
    if (it == options_.hosts.end()) {
      if (auto bare = without_port(host); !bare.empty()) it = options_.hosts.find(bare);
    }
    if (it == options_.hosts.end()) it = fallback;
    if (it != options_.hosts.end()) return sdk::TokenDecision::with_token(it->second);
    std::string why = "no token for Host '" + hosts[0].substr(0, 255) + "'";
    return sdk::TokenDecision::refused(why, http_reply(421, why));
  }

  static sdk::TokenDecision bad_request(const std::string& why) {
    return sdk::TokenDecision::refused(why, http_reply(400, why));
  }

  Options options_;
  sdk::Host& host_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;  // by connection id
};

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "token-http-header";
  d.version = "0.1.0";
  d.description = "token of an HTTP/1.x connection from a request header or its Host";
  d.token_sources.push_back({
      "http-header",
      "token from request header ARG (default X-Quictun-Token) or from the Host via the 'hosts' table",
      [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::TokenSource> {
        return std::make_unique<HttpHeaderSource>(config, host);
      },
  });
  return d;
}

}  // namespace

}  // namespace quictun::token_http_header

QUICTUN_PLUGIN(quictun::token_http_header::describe)
QUICTUN_PLUGIN_PROVIDES(token_source, http_header)
