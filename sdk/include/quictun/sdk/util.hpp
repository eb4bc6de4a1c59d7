// quictun plugin SDK: the small helpers every plugin needs and none should write again.
//
//   sdk::max_token_bytes   the most bytes a token can have
//   sdk::Fd                a file descriptor that closes itself
//   sdk::quote()           untrusted text made safe for one log line or error message
//   sdk::equals_ignoring_case()  ASCII comparison for names users type in any case
//   sdk::EventPtr, ...     owning pointers for libevent handles (when libevent is installed)
#pragma once

#include <unistd.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace quictun::sdk {

// The stream handshake carries the token in a block of exactly this many bytes, padded with NUL
// bytes (WIRE.md): a longer token can never reach the server, so refuse it where it is made.
inline constexpr std::size_t max_token_bytes = 512;

// Owns one file descriptor and closes it on destruction, so that no error path leaks a socket.
// Hand a descriptor to the host with release(): from then on the host closes it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// `text` in double quotes for a message: printable ASCII as it is, `"` and `\` escaped with a
// backslash, every other byte as \xNN. Tokens and addresses come from the network or from
// users; quoted like this, a NUL cannot cut a message short, a newline cannot forge a log line
// and an escape sequence cannot reach a terminal. Only the first `max_bytes` bytes are shown;
// a cut is marked after the closing quote, where it cannot be mistaken for the text:
// "abc"... (600 bytes).
inline std::string quote(std::string_view text, std::size_t max_bytes = 200) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string_view shown = text.substr(0, max_bytes);
  std::string out = "\"";
  for (char c : shown) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  out += '"';
  if (shown.size() < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// Whether `a` and `b` are equal but for the case of ASCII letters: keywords and names users may
// type in any case ("Base64", "LOCALHOST"). Unlike strcasecmp, it ignores the locale.
inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Calls `free_fn` on a handle: the deleter of an owning pointer for one C handle type.
template <auto free_fn>
struct FreeWith {
  template <typename T>
  void operator()(T* handle) const {
    free_fn(handle);
  }
};

}  // namespace quictun::sdk

// Owning pointers for the libevent handles plugins use. A plugin that does I/O includes
// libevent anyway; one that does not, and builds where libevent is not installed, simply
// does not get these.
#if __has_include(<event2/event.h>)
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

namespace quictun::sdk {

namespace detail {
// Pending lookups are failed with DNS_ERR_SHUTDOWN, which libevent reports later from the loop
// without touching the freed evdns_base; freeing without failing them would leave their
// timeout events behind, pointing at the freed base. evdns_getaddrinfo() callers must
// therefore expect one more call, with an error, after the base is gone.
inline void free_evdns_base(evdns_base* base) { evdns_base_free(base, 1); }
}  // namespace detail

using EventBasePtr = std::unique_ptr<event_base, FreeWith<&event_base_free>>;  // tests own a loop
using EventPtr = std::unique_ptr<event, FreeWith<&event_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, FreeWith<&bufferevent_free>>;
using EvconnListenerPtr = std::unique_ptr<evconnlistener, FreeWith<&evconnlistener_free>>;
using EvhttpPtr = std::unique_ptr<evhttp, FreeWith<&evhttp_free>>;
using EvhttpConnectionPtr = std::unique_ptr<evhttp_connection, FreeWith<&evhttp_connection_free>>;
using EvhttpUriPtr = std::unique_ptr<evhttp_uri, FreeWith<&evhttp_uri_free>>;
using EvdnsBasePtr = std::unique_ptr<evdns_base, FreeWith<&detail::free_evdns_base>>;

}  // namespace quictun::sdk
#endif
