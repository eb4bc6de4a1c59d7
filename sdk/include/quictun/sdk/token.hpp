// quictun plugin SDK: token sources (client side) and token parsers (server side).
//
// On the client a token source turns each accepted application connection into a token. The
// token travels in the stream's first 512 bytes; on the server a token parser turns it into a
// backend address or refuses it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace quictun::sdk {

// An accepted application connection, as a token source sees it.
struct ConnectionInfo {
  std::uint64_t id = 0;       // the tunnel's number in the host's logs
  std::string listener;       // the listener it arrived on, e.g. "tcp:127.0.0.1:6500"
  std::string scheme;         // transport scheme of the listener: "tcp", "unix", ...
  std::string peer_address;   // "192.0.2.7:51234" or "[2001:db8::7]:51234"; "" for unix sockets
  std::string peer_ip;        // "192.0.2.7" or "2001:db8::7"; "" for unix sockets
};

// What a token source decided for one connection.
struct TokenDecision {
  enum class Kind {
    token,      // `token` is ready; the tunnel opens
    need_more,  // call resolve() again once the application has sent more bytes
    refuse,     // close the application connection; `reason` is logged, `reply` is sent first
  };
  Kind kind = Kind::refuse;
  std::string token;                   // kind == token: at most 512 bytes, no NUL bytes
  std::optional<std::string> forward;  // kind == token: replaces the bytes seen so far (nullopt: send them unchanged)
  std::string reason;                  // kind == refuse: why, for the log
  std::string reply;                   // kind == refuse: bytes written to the application before closing

  static TokenDecision with_token(std::string t) { TokenDecision d; d.kind = Kind::token; d.token = std::move(t); return d; }
  static TokenDecision need_more_bytes() { TokenDecision d; d.kind = Kind::need_more; return d; }
  static TokenDecision refused(std::string why, std::string reply_bytes = {}) {
    TokenDecision d; d.kind = Kind::refuse; d.reason = std::move(why); d.reply = std::move(reply_bytes); return d;
  }
};

// Why a tunnel failed after its token was sent; lets a source answer in its own protocol
// (an HTTP source replies 502 or 504, for instance).
enum class TunnelFailure {
  token_refused,        // the server answered 0x02
  backend_unreachable,  // the server answered 0x03
  server_unreachable,   // no QUIC connection to the server could be had in time
  tunnel_broken,        // the QUIC connection or stream failed before the server answered
};

using TokenCallback = std::function<void(TokenDecision)>;

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Decides the token of a connection. `seen` holds every byte the application has sent so far
  // (empty right after accept); `eof` says the application has finished sending. Call `done`
  // exactly once, now or later on the loop thread. After need_more the host calls again when
  // more bytes arrive, with all of them. Calling `done` after the connection went away is safe.
  virtual void resolve(const ConnectionInfo& connection, std::string_view seen, bool eof,
                       TokenCallback done) = 0;

  // Bytes to send the application when its tunnel fails (empty: just close).
  virtual std::string failure_reply(const ConnectionInfo&, TunnelFailure) const { return {}; }

  // The host got SIGHUP: re-read whatever files the source was built from, now, on the loop
  // thread. Keep the old state if the new one is bad (log why through Host::log, or throw
  // sdk::Error, which the host logs). Open tunnels are not affected. Added last, with a no-op
  // default, so sources written before it need no change.
  virtual void reload() {}
};

// A QUIC client, as a token parser sees it.
struct ClientInfo {
  std::string address;      // "192.0.2.7:443" of the QUIC client
  std::string certificate;  // subject DN of its verified certificate (mTLS), or ""
};

// What a token parser decided.
struct ParseDecision {
  bool accepted = false;
  std::string backend;  // accepted: "tcp:host:port", "unix:/path", ...
  std::string reason;   // refused: why, for the server's log

  static ParseDecision accept(std::string b) { ParseDecision d; d.accepted = true; d.backend = std::move(b); return d; }
  static ParseDecision refuse(std::string why) { ParseDecision d; d.reason = std::move(why); return d; }
};

using ParseCallback = std::function<void(ParseDecision)>;

class TokenParser {
 public:
  virtual ~TokenParser() = default;
  // Maps a token (the 512 bytes with every NUL removed) to a backend. Call `done` exactly once,
  // now or later on the loop thread.
  virtual void parse(std::string_view token, const ClientInfo& client, ParseCallback done) = 0;

  // As TokenSource::reload(): SIGHUP, re-read the parser's files now, keep the old table on error.
  virtual void reload() {}
};

}  // namespace quictun::sdk
