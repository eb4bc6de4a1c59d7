// What the plugin tests share: loading a real plugin file, a small Host over a real libevent
// loop, and blocking socket helpers for the test side of each connection.
#pragma once

#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <quictun/sdk.hpp>

namespace quictun::testing {

// One plugin file, loaded like the host loads it. Everything the plugin creates must be gone
// before this object is, since its code and vtables live in the file.
class PluginLibrary {
 public:
  explicit PluginLibrary(const std::string& name)
      : library_(std::filesystem::path(QUICTUN_TEST_PLUGIN_DIR) / ("quictun-" + name + ".so")),
        descriptor_(library_.get_alias<const sdk::PluginDescriptor&()>("quictun_plugin_descriptor")()) {}

  const sdk::PluginDescriptor& descriptor() const { return descriptor_; }
  std::uint32_t abi() const { return library_.get_alias<const std::uint32_t>("quictun_plugin_abi"); }
  bool provides(const std::string& marker) const { return library_.has("quictun_provides__" + marker); }

  const sdk::TransportFactory& transport(const std::string& scheme) const {
    for (const auto& factory : descriptor_.transports)
      for (const auto& s : factory.schemes)
        if (s == scheme) return factory;
    throw std::logic_error("plugin provides no transport " + scheme);
  }
  const sdk::TokenSourceFactory& token_source(const std::string& name) const {
    for (const auto& factory : descriptor_.token_sources)
      if (factory.name == name) return factory;
    throw std::logic_error("plugin provides no token source " + name);
  }
  const sdk::TokenParserFactory& token_parser(const std::string& name) const {
    for (const auto& factory : descriptor_.token_parsers)
      if (factory.name == name) return factory;
    throw std::logic_error("plugin provides no token parser " + name);
  }

 private:
  boost::dll::shared_library library_;
  const sdk::PluginDescriptor& descriptor_;
};

// The host side: a real event_base and a log the tests can read.
class TestHost final : public sdk::Host {
 public:
  TestHost() : loop_(event_base_new()) {
    if (!loop_) throw std::runtime_error("event_base_new failed");
  }
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  event_base* loop() override { return loop_.get(); }
  void log(sdk::LogLevel, std::string_view message) override { lines.emplace_back(message); }
  sdk::Side side() const override { return side_as; }
  sdk::Side side_as = sdk::Side::client;  // the program the plugin believes it runs in

  // Runs the loop until `done()` holds; false if `limit` passes first.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      timeval slice{0, 10 * 1000};
      event_base_loopexit(loop_.get(), &slice);
      event_base_dispatch(loop_.get());
    }
    return true;
  }

  // Lets work the plugin left on the loop (cancellations, deferred frees) finish.
  void drain() {
    for (int i = 0; i < 8; ++i) event_base_loop(loop_.get(), EVLOOP_NONBLOCK);
  }

  bool logged(std::string_view part) const {
    for (const auto& line : lines)
      if (line.find(part) != std::string::npos) return true;
    return false;
  }

  std::vector<std::string> lines;  // every log line, in order

 private:
  sdk::EventBasePtr loop_;
};

// A descriptor the test owns; closed on scope exit.
using sdk::Fd;

inline bool wait_for(int fd, short events, int timeout_ms = 5000) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLERR | POLLHUP)) != 0;
}

inline int socket_error(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  return error;
}

inline int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  ::getsockopt(fd, level, name, &value, &length);
  return value;
}

inline bool is_nonblocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
inline bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

// Sends `data` on a non-blocking socket, waiting whenever its buffer is full.
inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ASSERT_TRUE(wait_for(fd, POLLOUT));
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads exactly `size` bytes from a non-blocking socket (fewer only at EOF or timeout).
inline std::string receive(int fd, std::size_t size) {
  std::string out;
  char buffer[4096];
  while (out.size() < size && wait_for(fd, POLLIN)) {
    ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - out.size()), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Accepts through the plugin, waiting until a connection is there.
inline std::optional<sdk::AcceptedConnection> accept_one(sdk::Transport& transport, int listen_fd) {
  if (!wait_for(listen_fd, POLLIN)) return std::nullopt;
  return transport.accept(listen_fd);
}

// Connects through the plugin; `result` is filled whenever `done` runs.
struct ConnectProbe {
  std::optional<sdk::ConnectResult> result;  // what `done` passed
  int calls = 0;                             // how often `done` ran: must end up exactly 1

  sdk::ConnectCallback callback() {
    return [this](sdk::ConnectResult r) {
      ++calls;
      result = std::move(r);
    };
  }
};

// The message of the sdk::Error `f` throws, or "" when it throws nothing.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace quictun::testing
