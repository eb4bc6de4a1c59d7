// Named network namespaces (the /run/netns ones `ip netns` manages) and the TUN device the
// emulator keeps in each.
#pragma once

#include <netinet/in.h>

#include <string>

#include "fd.hpp"

namespace quictun::netem {

// An IPv4 address with its prefix length, e.g. 10.77.0.1/24.
struct Ipv4Prefix {
  in_addr addr{};    // the interface's address
  int length = 24;   // prefix length, in bits
  std::string text;  // as the user wrote it, for messages
};
Ipv4Prefix parse_ipv4_prefix(const std::string& flag, const std::string& text);
bool same_subnet(const Ipv4Prefix& a, const Ipv4Prefix& b);

// A named network namespace. If this object created it, it deletes it when destroyed, so the
// namespaces go away on every exit path short of SIGKILL.
class Netns {
 public:
  // Creates `name`; if it already exists, uses it when `reuse` is set and fails otherwise.
  // Refuses the emulator's own namespace: bridging into it would expose the real network.
  static Netns open(const std::string& name, bool reuse);

  Netns(Netns&& other) noexcept;
  Netns& operator=(Netns&&) = delete;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns();

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  bool created() const { return created_; }

 private:
  Netns(std::string name, Fd fd, bool created)
      : name_(std::move(name)), fd_(std::move(fd)), created_(created) {}

  std::string name_;
  Fd fd_;                 // open handle on /run/netns/<name>
  bool created_ = false;  // we made it, so we delete it
};

// Runs the calling thread in another network namespace for the object's lifetime. Sockets and
// TUN fds opened meanwhile stay bound to that namespace after the thread returns.
class ScopedNetns {
 public:
  explicit ScopedNetns(const Netns& target);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

 private:
  Fd home_;  // the namespace to return to
};

// Settings of the TUN interface inside one namespace.
struct TunConfig {
  std::string device;  // interface name, at most 15 characters
  Ipv4Prefix address;  // address and prefix given to the interface
  int mtu = 1500;      // interface MTU, in bytes
};

// Opens a TUN device inside `ns`, gives it its address and brings it and the loopback up.
// The device disappears when the returned fd is closed.
Fd open_tun(const Netns& ns, const TunConfig& config);

}  // namespace quictun::netem
