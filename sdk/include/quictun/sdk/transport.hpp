// quictun plugin SDK: transport adapters, the application-side socket kinds.
//
// An address is "scheme:rest" ("tcp:127.0.0.1:22", "unix:/run/app.sock"); the host picks the
// adapter by scheme and passes it the whole address. Adapters hand back plain non-blocking file
// descriptors; the host owns and closes them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace quictun::sdk {

struct AcceptedConnection {
  int fd = -1;               // connected, non-blocking, close-on-exec
  std::string peer_address;  // "192.0.2.7:51234", "[::1]:4000"; "" for unix sockets
  std::string peer_ip;       // "192.0.2.7"; "" for unix sockets
};

struct ConnectResult {
  int fd = -1;        // non-blocking socket whose connect() is under way or done; -1 on error
  std::string error;  // why, when fd == -1
};

using ConnectCallback = std::function<void(ConnectResult)>;

class Transport {
 public:
  virtual ~Transport() = default;

  // Opens a listening, non-blocking socket for `address`. Throws Error with a clear message.
  virtual int listen(std::string_view address) = 0;

  // Accepts one connection from a listening socket; nullopt when none is waiting. Throws Error
  // on failures other than "try again".
  virtual std::optional<AcceptedConnection> accept(int listen_fd) = 0;

  // Starts a non-blocking connect to `address` and calls `done` (now, before connect()
  // returns, or later, on the loop thread) with the socket. The host waits for it to become
  // writable and applies its timeout. Does not throw: every failure goes to `done`.
  virtual void connect(std::string_view address, ConnectCallback done) = 0;

  // Undoes what listen() left behind beyond the descriptor (a unix socket file, for instance).
  virtual void unlisten(std::string_view /*address*/, int /*listen_fd*/) {}
};

}  // namespace quictun::sdk
