// Example plugin "token-by-port": token source "by-port" picks the token by the port of the
// listener a connection arrived on (or, with match = "peer", by the client's source port).
//
// One quictun-client with several listeners can then reach several backends without a token
// server:
//
//   [token_source.by-port]
//   ports = { "6500" = "tcp:10.0.0.5:22", "6501" = "unix:/run/pg.sock", "7000-7099" = "tcp:10.0.0.9:80" }
//   default = "tcp:10.0.0.6:80"     # optional
//   match = "listener"               # or "peer"
//
// or on the command line: --token-source '6500=tcp:10.0.0.5:22,6501=unix:/run/pg.sock'.
#include <charconv>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <quictun/sdk.hpp>

namespace by_port {

namespace {

// "6500" -> 6500; nullopt unless it is a number in 0-65535.
std::optional<unsigned> parse_port(std::string_view digits) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port > 65535) return std::nullopt;
  return port;
}

// The port at the end of "tcp:127.0.0.1:6500", "tcp:[::1]:6500" or "192.0.2.7:51234".
std::optional<unsigned> port_of(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return parse_port(address.substr(colon + 1));
}

// "6500" or "7000-7099" -> {first, last}; nullopt when malformed.
std::optional<std::pair<unsigned, unsigned>> port_range(std::string_view text) {
  auto dash = text.find('-');
  auto first = parse_port(text.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parse_port(text.substr(dash + 1));
  if (!first || !last || *first == 0 || *first > *last) return std::nullopt;
  return std::make_pair(*first, *last);
}

class ByPortSource final : public quictun::sdk::TokenSource {
 public:
  explicit ByPortSource(const quictun::sdk::PluginConfig& config) {
    for (const auto& [key, value] : config.table) {
      if (key != "ports" && key != "default" && key != "match" && key != "argument")
        throw config.error(key, "is not a setting of token source 'by-port' (known: ports, default, match)");
    }
    if (!config.argument.empty()) {
      std::string_view rest = config.argument;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        auto equals = item.find('=');
        if (equals == std::string_view::npos)
          throw config.argument_error("'" + std::string(item) + "' is not PORT=TOKEN or FIRST-LAST=TOKEN");
        add(std::string(item.substr(0, equals)), std::string(item.substr(equals + 1)),
            [&](const std::string& what) { return config.argument_error(what); });
      }
    } else if (const auto* ports = config.get_table("ports")) {
      for (const auto& [range, value] : *ports) {
        auto fail = [&](const std::string& what) {
          return quictun::sdk::Error(value.origin() + ": ports.\"" + range + "\": " + what);
        };
        const auto* token = value.get_if<std::string>();
        if (!token) throw fail("the token must be a string");
        add(range, *token, fail);
      }
    }
    if (auto fallback = config.get_string("default")) {
      if (fallback->empty() || fallback->size() > quictun::sdk::max_token_bytes) throw config.error("default", "must be 1-512 bytes");
      default_ = *fallback;
    }
    if (ranges_.empty() && !default_)
      throw quictun::sdk::Error("token source 'by-port' needs ports: --token-source 'PORT=TOKEN,...' or a 'ports' table");
    std::string match = config.get_string("match").value_or("listener");
    if (match != "listener" && match != "peer") throw config.error("match", "must be \"listener\" or \"peer\"");
    by_peer_ = match == "peer";
  }

  void resolve(const quictun::sdk::ConnectionInfo& connection, std::string_view, bool,
               quictun::sdk::TokenCallback done) override {
    const std::string& address = by_peer_ ? connection.peer_address : connection.listener;
    if (auto port = port_of(address)) {
      // The range starting at or below the port is the only candidate, ranges never overlap.
      auto it = ranges_.upper_bound(*port);
      if (it != ranges_.begin() && *port <= std::prev(it)->second.last) {
        done(quictun::sdk::TokenDecision::with_token(std::prev(it)->second.token));
        return;
      }
    }
    if (default_) {
      done(quictun::sdk::TokenDecision::with_token(*default_));
      return;
    }
    done(quictun::sdk::TokenDecision::refused("no port rule matches " + std::string(by_peer_ ? "client " : "listener ") +
                                              (address.empty() ? "(a UNIX socket)" : address)));
  }

 private:
  struct Range {
    unsigned last;
    std::string token;
  };

  template <typename Fail>
  void add(const std::string& range_text, const std::string& token, Fail fail) {
    auto range = port_range(range_text);
    if (!range) throw fail("'" + range_text + "' is not a port (1-65535) or a range FIRST-LAST");
    if (token.empty() || token.size() > quictun::sdk::max_token_bytes || token.find('\0') != std::string::npos)
      throw fail("the token must be 1-512 bytes without NUL");
    auto next = ranges_.lower_bound(range->first);
    bool overlaps_next = next != ranges_.end() && next->first <= range->second;
    bool overlaps_previous = next != ranges_.begin() && std::prev(next)->second.last >= range->first;
    if (overlaps_next || overlaps_previous) throw fail("'" + range_text + "' overlaps another port rule");
    ranges_.emplace(range->first, Range{range->second, token});
  }

  std::map<unsigned, Range> ranges_;  // first port -> rule
  std::optional<std::string> default_;
  bool by_peer_ = false;              // match the client's source port instead of the listener's
};

quictun::sdk::PluginDescriptor describe() {
  quictun::sdk::PluginDescriptor d;
  d.name = "token-by-port";
  d.version = "0.1.0";
  d.description = "example: token chosen by the listener's (or the client's) port";
  d.token_sources.push_back({
      "by-port",
      "token by port: 'PORT=TOKEN,FIRST-LAST=TOKEN' or a 'ports' table",
      [](const quictun::sdk::PluginConfig& config, quictun::sdk::Host&) -> std::unique_ptr<quictun::sdk::TokenSource> {
        return std::make_unique<ByPortSource>(config);
      },
  });
  return d;
}

}  // namespace

}  // namespace by_port

QUICTUN_PLUGIN(by_port::describe)
QUICTUN_PLUGIN_PROVIDES(token_source, by_port)
