// quictun-netem: joins two network namespaces through TUN devices and forwards IP packets
// between them in userspace, delaying, dropping, reordering and rate-limiting them per direction.
// It exists because this kernel has no netem qdisc; see README.md.
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "forwarder.hpp"
#include "netns.hpp"
#include "stats.hpp"
#include "units.hpp"

namespace quictun::netem {
namespace {

// An impairment flag exists three times: --NAME for both directions, --a2b-NAME and --b2a-NAME
// to override one direction. Values stay strings until resolved, so an error can name the
// exact flag the bad value came from.
struct ImpairmentFlag {
  const char* name;      // flag name without dashes or direction prefix
  const char* help;      // description for --help
  const char* fallback;  // value when no flag sets it
};

constexpr std::array kImpairmentFlags = {
    ImpairmentFlag{"delay", "one-way delay, e.g. 25ms", "0"},
    ImpairmentFlag{"jitter",
                   "delay varies uniformly by +/- this, e.g. 5ms (no reordering unless "
                   "--jitter-reorders)",
                   "0"},
    ImpairmentFlag{"loss", "random loss probability, e.g. 1%", "0"},
    ImpairmentFlag{"ge-p", "Gilbert-Elliott: probability per packet of going good -> bad, e.g. 1%",
                   "0"},
    ImpairmentFlag{"ge-r", "Gilbert-Elliott: probability per packet of going bad -> good, e.g. 30%",
                   "100%"},
    ImpairmentFlag{"ge-loss-good", "Gilbert-Elliott: loss probability in the good state", "0"},
    ImpairmentFlag{"ge-loss-bad", "Gilbert-Elliott: loss probability in the bad state", "100%"},
    ImpairmentFlag{"reorder", "probability a packet is held back by --reorder-delay, e.g. 2%", "0"},
    ImpairmentFlag{"reorder-delay", "extra delay of a held-back packet, e.g. 10ms", "0"},
    ImpairmentFlag{"duplicate", "probability a delivered packet arrives twice, e.g. 1%", "0"},
    ImpairmentFlag{"rate", "bottleneck rate in bit/s of IP bytes, e.g. 100mbit (0 = unlimited)",
                   "0"},
    ImpairmentFlag{"queue", "drop-tail queue before the bottleneck: 1000pkt, 256kb, 1mib ...",
                   "1000pkt"},
};

constexpr std::array<const char*, 2> kDirections = {"a2b", "b2a"};

struct Options {
  std::string ns_a = "qtA";             // namespace of side A
  std::string ns_b = "qtB";             // namespace of side B
  std::string addr_a = "10.77.0.1/24";  // address of side A's TUN device
  std::string addr_b = "10.77.0.2/24";  // address of side B's TUN device
  std::string device = "qt0";           // TUN device name, the same in both namespaces
  int mtu = 1500;                       // TUN MTU, bytes
  bool reuse_ns = false;                // use namespaces that already exist
  std::uint64_t seed = 1;               // seeds every random decision
  bool jitter_reorders = false;         // let jitter reorder packets
  std::size_t max_in_flight = 65536;    // packets held per direction before new ones drop
  std::string slack = "50us";           // how early a packet may leave with an earlier one
  std::string stats_file;               // JSON stats written on exit and on SIGUSR1
  std::string ready_file;               // created once the link forwards
  // Impairment flag values: key is "NAME" (both directions) or "a2b-NAME" / "b2a-NAME".
  std::map<std::string, std::string> impairments;
};

// Returns the flag and value that decide `name` for `direction`: the per-direction flag, else
// the both-directions flag, else the default.
std::pair<std::string, std::string> pick(const Options& o, const std::string& direction,
                                         std::string_view name) {
  const auto flag = std::find_if(kImpairmentFlags.begin(), kImpairmentFlags.end(),
                                 [&](const ImpairmentFlag& f) { return f.name == name; });
  const std::string both = "--" + std::string(name);
  const std::string one = "--" + direction + "-" + std::string(name);
  if (auto it = o.impairments.find(one.substr(2)); it != o.impairments.end()) {
    return {one, it->second};
  }
  if (auto it = o.impairments.find(both.substr(2)); it != o.impairments.end()) {
    return {both, it->second};
  }
  return {both, flag->fallback};
}

Impairment resolve(const Options& o, const std::string& direction) {
  // Parsing with the flag that supplied the value makes an error name exactly that flag.
  auto get = [&](std::string_view name, auto parse) {
    const auto [flag, value] = pick(o, direction, name);
    return parse(flag, value);
  };
  auto flag_of = [&](std::string_view name) { return pick(o, direction, name).first; };

  Impairment imp;
  imp.delay = get("delay", parse_duration);
  imp.jitter = get("jitter", parse_duration);
  imp.jitter_reorders = o.jitter_reorders;
  imp.loss = get("loss", parse_percent);
  imp.burst.p = get("ge-p", parse_percent);
  imp.burst.r = get("ge-r", parse_percent);
  imp.burst.loss_good = get("ge-loss-good", parse_percent);
  imp.burst.loss_bad = get("ge-loss-bad", parse_percent);
  imp.reorder = get("reorder", parse_percent);
  imp.reorder_delay = get("reorder-delay", parse_duration);
  imp.duplicate = get("duplicate", parse_percent);
  imp.rate_bps = get("rate", parse_rate);
  imp.queue = get("queue", parse_queue);

  if (imp.burst.enabled() && imp.burst.r == 0) {
    throw UsageError(flag_of("ge-r") + " must be above 0 when " + flag_of("ge-p") +
                     " is set, or the link never leaves the bad state");
  }
  if (imp.reorder > 0 && imp.reorder_delay == 0) {
    throw UsageError(flag_of("reorder") +
                     " needs a --reorder-delay (how long a held-back packet waits), e.g. "
                     "--reorder-delay 10ms");
  }
  return imp;
}

std::string pct(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", p * 100);
  return buf;
}

std::string describe(const Impairment& i) {
  std::string s = "delay " + format_duration(i.delay);
  if (i.jitter)
    s += " jitter " + format_duration(i.jitter) + (i.jitter_reorders ? " (reorders)" : "");
  if (i.loss > 0) s += " loss " + pct(i.loss);
  if (i.burst.enabled()) {
    s += " ge(p " + pct(i.burst.p) + ", r " + pct(i.burst.r) + ", good " + pct(i.burst.loss_good) +
         ", bad " + pct(i.burst.loss_bad) + ")";
  }
  if (i.reorder > 0) s += " reorder " + pct(i.reorder) + " by " + format_duration(i.reorder_delay);
  if (i.duplicate > 0) s += " duplicate " + pct(i.duplicate);
  s += " rate " + format_rate(i.rate_bps);
  if (i.rate_bps) {
    s += " queue " + std::to_string(i.queue.amount) + (i.queue.in_packets ? "pkt" : "B");
  }
  return s;
}

void check_device_name(const std::string& name) {
  bool ok = !name.empty() && name.size() < 16;
  for (char c : name)
    ok = ok && c != '/' && c != ':' && !std::isspace(static_cast<unsigned char>(c));
  if (!ok)
    throw UsageError("--dev: '" + name + "' is not a valid interface name (1-15 characters)");
}

int run(const Options& o) {
  // Validate everything before touching the system: a bad flag must not leave namespaces behind.
  const std::array impairments = {resolve(o, "a2b"), resolve(o, "b2a")};
  const Ipv4Prefix addr_a = parse_ipv4_prefix("--addr-a", o.addr_a);
  const Ipv4Prefix addr_b = parse_ipv4_prefix("--addr-b", o.addr_b);
  if (addr_a.addr.s_addr == addr_b.addr.s_addr) {
    throw UsageError("--addr-a and --addr-b are both " + o.addr_a +
                     "; the sides need different addresses");
  }
  if (!same_subnet(addr_a, addr_b)) {
    throw UsageError("--addr-a " + o.addr_a + " and --addr-b " + o.addr_b +
                     " must be in the same subnet with the same prefix length");
  }
  if (o.ns_a == o.ns_b) throw UsageError("--ns-a and --ns-b are both '" + o.ns_a + "'");
  check_device_name(o.device);
  const Nanos slack = parse_duration("--slack", o.slack);
  if (slack > 10'000'000) throw UsageError("--slack: '" + o.slack + "' is above 10ms");
  for (const auto& [flag, path] :
       {std::pair{"--stats-file", &o.stats_file}, {"--ready-file", &o.ready_file}}) {
    if (path->empty()) continue;
    try {
      write_file_atomically(*path, "");
      ::unlink(path->c_str());
    } catch (const std::exception& e) {
      throw UsageError(std::string(flag) + ": cannot write '" + *path + "': " + e.what());
    }
  }

  // Block the stop signals before any thread exists so only sigwait below sees them, and a
  // Ctrl-C during setup still ends in an orderly teardown.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Destroyed in reverse order: the TUN devices close before their namespaces are deleted.
  Netns ns_a = Netns::open(o.ns_a, o.reuse_ns);
  Netns ns_b = Netns::open(o.ns_b, o.reuse_ns);
  Fd tun_a = open_tun(ns_a, {o.device, addr_a, o.mtu});
  Fd tun_b = open_tun(ns_b, {o.device, addr_b, o.mtu});

  Fd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) throw std::system_error(errno, std::generic_category(), "eventfd");

  std::array<DirectionStats, 2> stats;
  stats[0].name = "a2b", stats[0].from = o.ns_a, stats[0].to = o.ns_b;
  stats[1].name = "b2a", stats[1].from = o.ns_b, stats[1].to = o.ns_a;
  Forwarder a2b(tun_a.get(), tun_b.get(), impairments[0], o.seed * 2, o.mtu, o.max_in_flight, slack,
                stats[0]);
  Forwarder b2a(tun_b.get(), tun_a.get(), impairments[1], o.seed * 2 + 1, o.mtu, o.max_in_flight,
                slack, stats[1]);

  for (std::size_t d = 0; d < 2; ++d) {
    std::fprintf(stderr, "quictun-netem: %s: %s\n", kDirections[d],
                 describe(impairments[d]).c_str());
  }
  std::atomic<bool> stop{false};
  auto stop_forwarding = [&] {
    stop.store(true);
    const std::uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
  };
  // Declared before the threads, so it runs after an exception too: the jthreads' joins below
  // would otherwise wait forever for threads nobody told to stop.
  struct StopGuard {
    decltype(stop_forwarding)& fn;
    ~StopGuard() { fn(); }
  } guard{stop_forwarding};
  const Nanos started = monotonic_now();
  std::jthread t1([&] { a2b.run(stop, wake.get()); });
  std::jthread t2([&] { b2a.run(stop, wake.get()); });

  auto report = [&] {
    if (o.stats_file.empty()) return;
    const double elapsed = static_cast<double>(monotonic_now() - started) / 1e9;
    try {
      write_file_atomically(o.stats_file, format_json(stats[0], stats[1], o.seed, elapsed));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "quictun-netem: warning: --stats-file: %s\n", e.what());
    }
  };
  std::printf("quictun-netem: ready: %s %s <-> %s %s (dev %s, seed %llu)\n", o.ns_a.c_str(),
              o.addr_a.c_str(), o.ns_b.c_str(), o.addr_b.c_str(), o.device.c_str(),
              static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);
  if (!o.ready_file.empty()) write_file_atomically(o.ready_file, std::to_string(getpid()) + "\n");

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) {
      report();
      continue;
    }
    break;
  }
  stop_forwarding();
  t1.join();
  t2.join();

  for (const auto& s : stats) std::fprintf(stderr, "quictun-netem: %s\n", format_text(s).c_str());
  report();
  if (!o.ready_file.empty()) ::unlink(o.ready_file.c_str());
  return 0;
}

}  // namespace
}  // namespace quictun::netem

int main(int argc, char** argv) {
  using namespace quictun::netem;
  Options o;
  CLI::App app{
      "quictun-netem: a userspace link emulator. Creates two network namespaces joined by TUN "
      "devices and forwards IP packets between them with per-direction delay, jitter, loss, "
      "bursty loss, reordering and a rate limit. Impairment flags apply to both directions; "
      "--a2b-NAME / --b2a-NAME override one direction. Stop with SIGINT or SIGTERM (stats go to "
      "stderr); SIGUSR1 writes --stats-file without stopping."};
  app.add_option("--ns-a", o.ns_a, "network namespace of side A")->capture_default_str();
  app.add_option("--ns-b", o.ns_b, "network namespace of side B")->capture_default_str();
  app.add_option("--addr-a", o.addr_a, "IPv4 address/prefix of side A")->capture_default_str();
  app.add_option("--addr-b", o.addr_b, "IPv4 address/prefix of side B")->capture_default_str();
  app.add_option("--dev", o.device, "TUN device name in each namespace")->capture_default_str();
  app.add_option("--mtu", o.mtu, "MTU of the TUN devices, bytes")
      ->capture_default_str()
      ->check(CLI::Range(576, 65535));
  app.add_flag("--reuse-ns", o.reuse_ns,
               "use namespaces that already exist (they are then not deleted on exit)");
  app.add_option("--seed", o.seed, "seed for every random decision")->capture_default_str();
  app.add_flag("--jitter-reorders", o.jitter_reorders,
               "let jitter reorder packets (by default a packet never overtakes an earlier one)");
  app.add_option("--max-in-flight", o.max_in_flight,
                 "packets held per direction before new arrivals are dropped (overflow)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{10'000'000}));
  app.add_option("--slack", o.slack,
                 "a packet may leave up to this early when sent together with an earlier one; "
                 "fewer wake-ups, less CPU (0 = exact)")
      ->capture_default_str();
  app.add_option("--stats-file", o.stats_file, "write JSON stats here on exit and on SIGUSR1");
  app.add_option("--ready-file", o.ready_file,
                 "create this file (holding the pid) once the link forwards; removed on exit");

  // Options live in the map so CLI11 can bind to stable std::string storage.
  for (const auto& f : kImpairmentFlags) o.impairments[f.name];
  for (const auto& f : kImpairmentFlags) {
    app.add_option(std::string("--") + f.name, o.impairments[f.name],
                   std::string(f.help) + " [default: " + f.fallback + "]")
        ->group("Impairments (both directions)");
  }
  for (const char* dir : kDirections) {
    for (const auto& f : kImpairmentFlags) {
      const std::string key = std::string(dir) + "-" + f.name;
      app.add_option("--" + key, o.impairments[key],
                     std::string("--") + f.name + ", " + dir + " only")
          ->group(std::string("Impairments (") + dir + " only)");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // Unset flags bound to empty strings; drop them so resolve() falls through to defaults.
  std::erase_if(o.impairments, [&](const auto& kv) { return app.count("--" + kv.first) == 0; });

  try {
    return run(o);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "quictun-netem: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quictun-netem: %s\n", e.what());
    return 1;
  }
}
