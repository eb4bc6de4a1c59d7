// A UDP relay between a client and a server on loopback, standing in for the path between them:
// - a NAT whose mapping changes: every `rebind_every` it moves its server-facing socket to a new
//   port, so the server sees the client's packets come from a new address, as after a NAT
//   rebinding or a phone moving between networks (the client-facing side never changes);
// - a bottleneck: a rate for both directions together, and a delay each way;
// - a link that is down as the client starts: everything dropped for a while.
// Runs on a thread of its own.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

namespace quictun::test {

struct RelayPath {
  std::chrono::milliseconds rebind_every{};  // zero: never rebinds
  // Both directions together (0: unlimited). A loopback transfer is otherwise over before the
  // mapping has changed a few times.
  std::uint64_t bytes_per_second = 0;
  std::chrono::milliseconds delay{};     // one way, added to each datagram
  std::chrono::milliseconds blackout{};  // drop everything, both ways, for this long after the client's first datagram
  std::size_t queue_bytes = 4 << 20;     // drop-tail: datagrams beyond this many waiting bytes are dropped
};

class RebindingRelay {
 public:
  // Listens on 127.0.0.1:`listen_port`, forwards to 127.0.0.1:`server_port`.
  RebindingRelay(int listen_port, int server_port, RelayPath path);
  ~RebindingRelay();
  RebindingRelay(const RebindingRelay&) = delete;
  RebindingRelay& operator=(const RebindingRelay&) = delete;

  std::uint64_t rebinds() const { return rebinds_; }
  std::uint64_t to_server() const { return to_server_; }  // datagrams forwarded each way
  std::uint64_t to_client() const { return to_client_; }
  std::uint64_t dropped() const { return dropped_; }  // in the blackout or off the full queue, both ways

 private:
  using Clock = std::chrono::steady_clock;
  struct Held {
    Clock::time_point release;
    bool to_server;
    std::vector<unsigned char> bytes;
  };

  void run();
  void rebind();
  void forward_due(Clock::time_point now);

  int down_;  // the client's side
  int up_;    // the server's side; replaced on every rebind
  sockaddr_in server_{};
  sockaddr_in client_{};
  RelayPath path_;
  std::deque<Held> held_;  // in release order: the rate and the delay are the same for all
  std::size_t held_bytes_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> rebinds_{0}, to_server_{0}, to_client_{0}, dropped_{0};
  std::thread thread_;
};

}  // namespace quictun::test
