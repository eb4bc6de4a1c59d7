// Smoke test of quictun-netem: start the real emulator between two fresh namespaces, send UDP
// across, and check that what arrives matches what was asked for. Needs root; exits 77
// (skipped) without it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kAddrB = "10.77.0.2";

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

int run_quietly(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// A running quictun-netem. The destructor stops it and makes sure its namespaces are gone even
// if it crashed, so a failing test leaves nothing behind.
class Emulator {
 public:
  explicit Emulator(std::vector<std::string> impairments) {
    static int instance = 0;
    const std::string tag = std::to_string(getpid()) + "_" + std::to_string(instance++);
    ns_a_ = "qtsmA" + tag;
    ns_b_ = "qtsmB" + tag;
    stats_file_ = "/tmp/quictun-netem-smoke-" + tag + ".json";
    ready_file_ = "/tmp/quictun-netem-smoke-" + tag + ".ready";
    std::vector<std::string> args = {
        QUICTUN_NETEM_PATH, "--ns-a",    ns_a_,          "--ns-b",   ns_b_, "--seed", "7",
        "--stats-file",     stats_file_, "--ready-file", ready_file_};
    args.insert(args.end(), impairments.begin(), impairments.end());

    pid_ = fork();
    if (pid_ == 0) {
      // If the test dies, the emulator still gets to delete its namespaces.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::perror("execv quictun-netem");
      _exit(127);
    }
    const auto deadline = Clock::now() + 10s;
    while (!exists(ready_file_)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("quictun-netem exited during start-up");
      }
      if (Clock::now() > deadline) throw std::runtime_error("quictun-netem did not become ready");
      std::this_thread::sleep_for(10ms);
    }
  }

  ~Emulator() {
    stop();
    unlink(stats_file_.c_str());
    unlink(ready_file_.c_str());
  }

  // Stops the emulator and returns its exit status (-1 if it had to be killed).
  int stop() {
    int result = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      const auto deadline = Clock::now() + 5s;
      int status = 0;
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          status = -1;
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      result = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
    }
    for (const auto& ns : {ns_a_, ns_b_}) {
      if (exists("/run/netns/" + ns)) run_quietly("ip netns del " + ns);
    }
    return result;
  }

  // Reads one counter from the stats file written at exit, e.g. ("a2b", "loss").
  std::uint64_t stat(const std::string& direction, const std::string& counter) const {
    std::ifstream in(stats_file_);
    std::stringstream text;
    text << in.rdbuf();
    // The file is one flat line, a2b before b2a: cut out the direction, then find the key.
    const std::string s = text.str();
    const auto begin = s.find("\"" + direction + "\": {");
    const auto end = direction == "a2b" ? s.find("\"b2a\": {") : std::string::npos;
    if (begin == std::string::npos) throw std::runtime_error("no " + direction + " in stats: " + s);
    const std::string part = s.substr(begin, end == std::string::npos ? end : end - begin);
    std::smatch m;
    if (!std::regex_search(part, m, std::regex("\"" + counter + "\": ([0-9]+)"))) {
      throw std::runtime_error("no " + direction + "." + counter + " in stats: " + s);
    }
    return std::stoull(m[1]);
  }

  const std::string& ns_a() const { return ns_a_; }
  const std::string& ns_b() const { return ns_b_; }

  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

 private:
  pid_t pid_ = -1;
  std::string ns_a_, ns_b_, stats_file_, ready_file_;
};

// Moves the calling thread into a named namespace (threads have their own network namespace).
void enter(const std::string& ns) {
  const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) throw std::runtime_error("cannot enter " + ns);
  close(fd);
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct ProbeResult {
  int sent = 0;
  std::vector<double> rtt_ms;               // one per echoed packet
  std::vector<Clock::time_point> arrivals;  // when each echo came back, in arrival order
  double loss() const { return 1.0 - static_cast<double>(rtt_ms.size()) / sent; }
  double min_rtt() const { return *std::min_element(rtt_ms.begin(), rtt_ms.end()); }
  double median_rtt() const {
    auto v = rtt_ms;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
};

struct Probe {
  int count = 200;                           // datagrams to send
  std::chrono::microseconds interval{1000};  // gap between sends; 0 = back to back
  std::size_t payload = 64;                  // UDP payload bytes (at least 12)
  std::chrono::milliseconds drain{1500};     // how long to wait for stragglers after the last send
};

// Sends numbered datagrams from side A to an echo server on side B and times the echoes.
ProbeResult probe(const Emulator& emu, const Probe& p) {
  std::promise<int> port_promise;
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    try {
      enter(emu.ns_b());
      const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      inet_pton(AF_INET, kAddrB, &addr.sin_addr);
      if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw std::runtime_error("bind");
      socklen_t len = sizeof addr;
      getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
      port_promise.set_value(ntohs(addr.sin_port));
      std::vector<char> buf(65536);
      while (!stop) {
        pollfd pfd{s, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0) continue;
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        const ssize_t n =
            recvfrom(s, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n > 0)
          sendto(s, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
                 flen);
      }
      close(s);
    } catch (...) {
      port_promise.set_exception(std::current_exception());
    }
  });

  ProbeResult result;
  std::exception_ptr error;
  std::thread client([&] {
    try {
      const int port = port_promise.get_future().get();
      enter(emu.ns_a());
      const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int rcvbuf = 4 << 20;
      setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET, kAddrB, &addr.sin_addr);
      if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw std::runtime_error("connect");

      const auto start = Clock::now();
      std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(p.count));
      std::vector<bool> seen(static_cast<std::size_t>(p.count), false);
      std::vector<char> buf(std::max<std::size_t>(p.payload, 12));
      auto receive = [&](int timeout_ms) {
        pollfd pfd{s, POLLIN, 0};
        while (poll(&pfd, 1, timeout_ms) > 0) {
          std::uint32_t seq = 0;
          if (recv(s, buf.data(), buf.size(), 0) < 4) continue;
          const auto now = Clock::now();
          std::memcpy(&seq, buf.data(), 4);
          if (seq >= seen.size() || seen[seq]) continue;
          seen[seq] = true;
          result.rtt_ms.push_back(ms_between(sent_at[seq], now));
          result.arrivals.push_back(now);
          timeout_ms = 0;
        }
      };
      for (int i = 0; i < p.count; ++i) {
        const auto due = start + p.interval * i;
        // Keep collecting echoes while waiting, so none sits in the buffer and skews its RTT.
        while (Clock::now() < due) {
          receive(0);
          std::this_thread::sleep_until(std::min(due, Clock::now() + 200us));
        }
        const std::uint32_t seq = static_cast<std::uint32_t>(i);
        std::memcpy(buf.data(), &seq, 4);
        sent_at[seq] = Clock::now();
        send(s, buf.data(), p.payload, 0);
        ++result.sent;
      }
      const auto drain_until = Clock::now() + p.drain;
      while (Clock::now() < drain_until) receive(10);
      close(s);
    } catch (...) {
      error = std::current_exception();
    }
  });
  client.join();
  stop = true;
  echo.join();
  if (error) std::rethrow_exception(error);
  return result;
}

TEST(NetemSmoke, WithoutImpairmentsEveryPacketPassesQuickly) {
  Emulator emu({});
  const ProbeResult r =
      probe(emu, {.count = 200, .interval = 1000us, .payload = 64, .drain = 500ms});
  ASSERT_EQ(emu.stop(), 0);

  std::printf("no impairment: %zu of %d echoed, rtt median %.3f ms\n", r.rtt_ms.size(), r.sent,
              r.median_rtt());
  EXPECT_EQ(r.sent, 200);
  EXPECT_EQ(r.rtt_ms.size(), 200u);
  // Normally under 1 ms; the bound leaves room for a machine busy with other tests.
  EXPECT_LT(r.median_rtt(), 100.0);
  EXPECT_EQ(emu.stat("a2b", "total"), 0u);
  EXPECT_EQ(emu.stat("b2a", "total"), 0u);
  EXPECT_EQ(emu.stat("a2b", "tx_packets"), 200u);
}

TEST(NetemSmoke, DelayAndLossAreApplied) {
  // 20 ms each way; 20% loss on the way out only, so the echo's loss is the configured loss.
  // --slack 0: no packet may leave early, so 40 ms is a hard floor for the round trip.
  Emulator emu({"--delay", "20ms", "--a2b-loss", "20%", "--slack", "0"});
  const ProbeResult r =
      probe(emu, {.count = 400, .interval = 2000us, .payload = 64, .drain = 1000ms});
  ASSERT_EQ(emu.stop(), 0);

  ASSERT_FALSE(r.rtt_ms.empty());
  std::printf("delay+loss: sent %d, echoed %zu, loss %.1f%%, rtt min %.2f ms, median %.2f ms\n",
              r.sent, r.rtt_ms.size(), r.loss() * 100, r.min_rtt(), r.median_rtt());
  EXPECT_GE(r.min_rtt(), 40.0) << "two 20 ms one-way delays";
  EXPECT_LT(r.median_rtt(), 140.0) << "delay far above what was configured";
  EXPECT_GE(r.loss(), 0.10);
  EXPECT_LE(r.loss(), 0.30);
  // Every missing echo must be the emulator's doing, counted as random loss on the way out.
  EXPECT_EQ(emu.stat("a2b", "loss"), static_cast<std::uint64_t>(r.sent) - r.rtt_ms.size());
  EXPECT_EQ(emu.stat("b2a", "total"), 0u);
}

TEST(NetemSmoke, RateLimitPacesAndQueueDropsTheExcess) {
  // 1028-byte IP packets offered at twice an 8 Mbit/s link for 0.4 s into a 40-packet queue:
  // about half are dropped at the queue and the rest arrive at the link rate. Measured over
  // ~0.45 s so that scheduling hiccups on a busy machine stay small beside the span.
  Emulator emu({"--a2b-rate", "8mbit", "--a2b-queue", "40pkt"});
  const ProbeResult r =
      probe(emu, {.count = 800, .interval = 500us, .payload = 1000, .drain = 1000ms});
  ASSERT_EQ(emu.stop(), 0);

  ASSERT_GE(r.arrivals.size(), 100u);
  const double span_ms = ms_between(r.arrivals.front(), r.arrivals.back());
  const double mbit = static_cast<double>(r.arrivals.size() - 1) * 1028 * 8 / (span_ms * 1000);
  std::printf("rate: %zu of %d arrived, %.2f Mbit/s over %.1f ms, %llu queue drops\n",
              r.arrivals.size(), r.sent, mbit, span_ms,
              static_cast<unsigned long long>(emu.stat("a2b", "queue")));
  EXPECT_GT(emu.stat("a2b", "queue"), 200u) << "offering twice the rate must overflow the queue";
  EXPECT_EQ(emu.stat("a2b", "queue_peak_packets"), 40u);
  EXPECT_LT(mbit, 8.0 * 1.2) << "faster than the configured rate";
  EXPECT_GT(mbit, 8.0 * 0.6) << "far slower than the configured rate";
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (geteuid() != 0) {
    std::puts("SKIPPED: bench.netem_smoke needs root (network namespaces and TUN devices)");
    return 77;
  }
  if (!exists("/dev/net/tun") || run_quietly("ip -V") != 0) {
    std::puts("SKIPPED: bench.netem_smoke needs /dev/net/tun and the ip tool (iproute2)");
    return 77;
  }
  return RUN_ALL_TESTS();
}
