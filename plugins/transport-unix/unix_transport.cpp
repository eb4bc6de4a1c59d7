#include "unix_transport.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "unix_address.hpp"

namespace quictun::transport_unix {
namespace {

constexpr int listen_backlog = 1024;

std::string errno_text(int error) { return std::generic_category().message(error); }

sdk::Fd open_socket() { return sdk::Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)); }

sdk::ConnectResult failure(std::string why) {
  sdk::ConnectResult result;
  result.error = std::move(why);
  return result;
}

enum class Probe { live, stale, gone };

// Whether a process still listens on the socket file at `address`. A crashed server leaves its
// file behind and a new bind() fails with EADDRINUSE; only a connect tells a stale file
// (ECONNREFUSED) from a live one. The probe connection is closed at once: a live server sees
// one connection that ends before sending anything.
Probe probe(const UnixAddress& address) {
  sdk::Fd fd = open_socket();
  if (!fd) throw sdk::Error(address.text + ": cannot listen: " + errno_text(errno));
  if (::connect(fd.get(), address.get(), address.length) == 0) return Probe::live;
  switch (errno) {
    case ECONNREFUSED:
      return Probe::stale;
    case ENOENT:
      return Probe::gone;
    case EAGAIN:       // a live listener whose backlog is full
    case EINPROGRESS:
    case EPROTOTYPE:   // bound by a datagram or seqpacket socket: in use all the same
      return Probe::live;
    default:
      throw sdk::Error(address.text + ": cannot listen: cannot tell whether " + address.path +
                       " is in use: " + errno_text(errno));
  }
}

[[noreturn]] void in_use(const UnixAddress& address) {
  throw sdk::Error(address.text + ": another process is listening there");
}

}  // namespace

int UnixTransport::listen(std::string_view text) {
  UnixAddress address = parse_unix_address(text);
  auto fail = [&](int error) { return sdk::Error(address.text + ": cannot listen: " + errno_text(error)); };

  if (!address.abstract) {
    struct stat st {};
    if (::lstat(address.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw sdk::Error(address.text + ": cannot listen: " + address.path + " exists and is not a socket");
      switch (probe(address)) {
        case Probe::live:
          in_use(address);
        case Probe::stale:
          if (::unlink(address.path.c_str()) != 0 && errno != ENOENT)
            throw sdk::Error(address.text + ": cannot remove the stale socket file: " + errno_text(errno));
          host_.log(sdk::LogLevel::info, "removed stale socket file " + address.path);
          break;
        case Probe::gone:
          break;
      }
    } else if (errno != ENOENT) {
      throw fail(errno);
    }
  }

  sdk::Fd fd = open_socket();
  if (!fd) throw fail(errno);
  if (::bind(fd.get(), address.get(), address.length) != 0) {
    // For an abstract name this is the only sign of a live owner; for a path, someone bound
    // it between our probe and our bind.
    if (errno == EADDRINUSE) in_use(address);
    throw fail(errno);
  }

  Listener listener;
  listener.address = address.text;
  if (!address.abstract) {
    listener.path = address.path;
    struct stat st {};
    if (::lstat(address.path.c_str(), &st) == 0) {
      listener.device = st.st_dev;
      listener.inode = st.st_ino;
    }
  }
  if (::listen(fd.get(), listen_backlog) != 0) {
    int error = errno;
    if (!listener.path.empty()) ::unlink(listener.path.c_str());
    throw fail(error);
  }
  listeners_[fd.get()] = std::move(listener);
  return fd.release();
}

std::optional<sdk::AcceptedConnection> UnixTransport::accept(int listen_fd) {
  // Each dropped connection uses up one entry of the queue, so this ends; the bound only
  // guards against an error that would repeat forever.
  for (int attempt = 0; attempt < listen_backlog; ++attempt) {
    sdk::Fd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd) {
      sdk::AcceptedConnection connection;
      connection.fd = fd.release();
      return connection;
    }
    switch (errno) {
      case EAGAIN:
        return std::nullopt;
      case EINTR:
      case ECONNABORTED:  // the client gave up before we took its connection
        continue;
      default: {
        auto it = listeners_.find(listen_fd);
        std::string name = it != listeners_.end() ? it->second.address : "unix listener (fd " + std::to_string(listen_fd) + ")";
        throw sdk::Error(name + ": cannot accept: " + errno_text(errno));
      }
    }
  }
  return std::nullopt;
}

void UnixTransport::connect(std::string_view text, sdk::ConnectCallback done) {
  UnixAddress address;
  try {
    address = parse_unix_address(text);
  } catch (const sdk::Error& e) {
    done(failure(e.what()));
    return;
  }
  sdk::Fd fd = open_socket();
  if (!fd) {
    done(failure(address.text + ": cannot connect: " + errno_text(errno)));
    return;
  }
  if (::connect(fd.get(), address.get(), address.length) != 0 && errno != EINPROGRESS) {
    // On a UNIX socket EAGAIN is not "in progress": nothing was queued and the socket will
    // never connect, so it is a failure like any other.
    std::string why = errno == EAGAIN ? "the listener's backlog is full" : errno_text(errno);
    done(failure(address.text + ": cannot connect: " + why));
    return;
  }
  sdk::ConnectResult result;
  result.fd = fd.release();
  done(std::move(result));
}

void UnixTransport::unlisten(std::string_view, int listen_fd) {
  auto node = listeners_.extract(listen_fd);
  if (node.empty() || node.mapped().path.empty()) return;
  const Listener& listener = node.mapped();
  // Another server may have taken the path over (after finding our socket stale, say): its
  // file is not ours to remove.
  struct stat st {};
  if (::lstat(listener.path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_dev != listener.device ||
      st.st_ino != listener.inode)
    return;
  if (::unlink(listener.path.c_str()) != 0 && errno != ENOENT)
    host_.log(sdk::LogLevel::warn, "cannot remove socket file " + listener.path + ": " + errno_text(errno));
}

}  // namespace quictun::transport_unix
