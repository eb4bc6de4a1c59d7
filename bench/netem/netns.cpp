#include "netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "units.hpp"

extern char** environ;

namespace quictun::netem {
namespace {

const std::string kNetnsDir = "/run/netns/";
constexpr int kTunTxQueueLen = 4096;  // packets

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Runs a command without a shell (names come from the command line) and returns its exit code.
int run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The caller blocks the stop signals for sigwait; the child must not inherit that.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    throw std::system_error(err, std::generic_category(), "cannot run " + argv[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid " + argv[0]);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool valid_netns_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

ino_t inode_of(int fd) {
  struct stat st {};
  if (fstat(fd, &st) < 0) throw_errno("fstat namespace");
  return st.st_ino;
}

void ifreq_ioctl(int sock, unsigned long request, ifreq& ifr, const std::string& what) {
  if (ioctl(sock, request, &ifr) < 0) throw_errno(what + " " + ifr.ifr_name);
}

void set_up(int sock, const std::string& device) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
  ifreq_ioctl(sock, SIOCGIFFLAGS, ifr, "SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP;
  ifreq_ioctl(sock, SIOCSIFFLAGS, ifr, "bring up");
}

void set_sockaddr(ifreq& ifr, in_addr addr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = addr;
  std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
}

// Kept off so the links carry only what the benchmark sends: no router solicitations or
// duplicate-address probes in the counters. Best effort: a kernel without IPv6 has no knob.
void disable_ipv6(const std::string& device) {
  const std::string path = "/proc/sys/net/ipv6/conf/" + device + "/disable_ipv6";
  Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (f) (void)!::write(f.get(), "1", 1);
}

}  // namespace

Ipv4Prefix parse_ipv4_prefix(const std::string& flag, const std::string& text) {
  Ipv4Prefix p;
  p.text = text;
  const auto slash = text.find('/');
  const std::string host = text.substr(0, slash);
  if (inet_pton(AF_INET, host.c_str(), &p.addr) != 1) {
    throw UsageError(flag + ": '" + text + "' is not an IPv4 address (expected e.g. 10.77.0.1/24)");
  }
  if (slash != std::string::npos) {
    const std::string len = text.substr(slash + 1);
    char* end = nullptr;
    const long n = std::strtol(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0' || n < 8 || n > 30) {
      throw UsageError(flag + ": '" + text + "' needs a prefix length between 8 and 30");
    }
    p.length = static_cast<int>(n);
  }
  return p;
}

bool same_subnet(const Ipv4Prefix& a, const Ipv4Prefix& b) {
  if (a.length != b.length) return false;
  const std::uint32_t mask = a.length == 0 ? 0 : ~std::uint32_t{0} << (32 - a.length);
  return (ntohl(a.addr.s_addr) & mask) == (ntohl(b.addr.s_addr) & mask);
}

Netns Netns::open(const std::string& name, bool reuse) {
  if (!valid_netns_name(name)) {
    throw UsageError("namespace name '" + name + "' must be 1-64 characters of [A-Za-z0-9._-]");
  }
  const std::string path = kNetnsDir + name;
  bool created = false;
  if (access(path.c_str(), F_OK) == 0) {
    if (!reuse) {
      throw UsageError("namespace " + name +
                       " already exists (left over from a crash? remove it "
                       "with `ip netns del " +
                       name + "`, or pass --reuse-ns to use it)");
    }
  } else {
    if (run({"ip", "netns", "add", name}) != 0) {
      throw std::runtime_error("`ip netns add " + name + "` failed (are you root?)");
    }
    created = true;
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (created) run({"ip", "netns", "del", name});
    throw std::system_error(err, std::generic_category(), "open " + path);
  }
  Netns ns(name, std::move(fd), created);
  Fd self(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) throw_errno("open /proc/self/ns/net");
  if (inode_of(self.get()) == inode_of(ns.fd())) {
    throw UsageError("namespace " + name +
                     " is the emulator's own network namespace; refusing "
                     "to bridge the real network");
  }
  return ns;
}

Netns::Netns(Netns&& other) noexcept
    : name_(std::move(other.name_)),
      fd_(std::move(other.fd_)),
      created_(std::exchange(other.created_, false)) {}

Netns::~Netns() {
  if (!created_) return;
  fd_.reset();
  try {
    if (run({"ip", "netns", "del", name_}) != 0) {
      std::fprintf(stderr, "quictun-netem: warning: could not delete namespace %s\n",
                   name_.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quictun-netem: warning: could not delete namespace %s: %s\n",
                 name_.c_str(), e.what());
  }
}

ScopedNetns::ScopedNetns(const Netns& target)
    : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  if (!home_) throw_errno("open /proc/thread-self/ns/net");
  if (setns(target.fd(), CLONE_NEWNET) < 0) throw_errno("setns into " + target.name());
}

ScopedNetns::~ScopedNetns() {
  // Failing to return would leave this thread's later work in the wrong namespace: no safe way on.
  if (setns(home_.get(), CLONE_NEWNET) < 0) {
    std::perror("quictun-netem: setns back to the original namespace");
    std::abort();
  }
}

Fd open_tun(const Netns& ns, const TunConfig& config) {
  const std::string where = " in namespace " + ns.name();
  ScopedNetns inside(ns);

  Fd tun(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tun) throw_errno("open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, config.device.c_str(), IFNAMSIZ - 1);
  if (ioctl(tun.get(), TUNSETIFF, &ifr) < 0)
    throw_errno("create TUN device " + config.device + where);

  disable_ipv6(config.device);

  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("socket" + where);
  try {
    std::memset(&ifr, 0, sizeof ifr);
    std::strncpy(ifr.ifr_name, config.device.c_str(), IFNAMSIZ - 1);
    ifr.ifr_mtu = config.mtu;
    ifreq_ioctl(sock.get(), SIOCSIFMTU, ifr, "set MTU of");
    // The kernel queues a sender's packets here until the emulator reads them. The default 500
    // overflows when the emulator thread is briefly descheduled on a busy machine, adding loss
    // nobody asked for; the emulated bottleneck queue is the emulator's own, not this one.
    ifr.ifr_qlen = kTunTxQueueLen;
    ifreq_ioctl(sock.get(), SIOCSIFTXQLEN, ifr, "set txqueuelen of");

    set_sockaddr(ifr, config.address.addr);
    ifreq_ioctl(sock.get(), SIOCSIFADDR, ifr, "set address of");
    in_addr mask{};
    mask.s_addr = htonl(~std::uint32_t{0} << (32 - config.address.length));
    set_sockaddr(ifr, mask);
    ifreq_ioctl(sock.get(), SIOCSIFNETMASK, ifr, "set netmask of");

    set_up(sock.get(), config.device);
    set_up(sock.get(), "lo");
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string(e.what()) + where);
  }
  return tun;
}

}  // namespace quictun::netem
