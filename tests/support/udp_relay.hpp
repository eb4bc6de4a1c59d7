// A UDP relay between a client and a server on loopback that behaves like a NAT whose mapping
// changes: every `rebind_every` it moves its server-facing socket to a new port, so the server
// sees the client's packets come from a new address, as after a NAT rebinding or a phone moving
// between networks. The client-facing side never changes. Runs on a thread of its own.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace quictun::test {

class RebindingRelay {
 public:
  // Listens on 127.0.0.1:`listen_port`, forwards to 127.0.0.1:`server_port`. A zero interval
  // never rebinds. `bytes_per_second` (0: unlimited) caps both directions together, like a
  // bottleneck link whose queue is the relay's socket buffer: a loopback transfer is otherwise
  // over before the mapping has changed a few times.
  RebindingRelay(int listen_port, int server_port, std::chrono::milliseconds rebind_every,
                 std::uint64_t bytes_per_second = 0);
  ~RebindingRelay();
  RebindingRelay(const RebindingRelay&) = delete;
  RebindingRelay& operator=(const RebindingRelay&) = delete;

  std::uint64_t rebinds() const { return rebinds_; }
  std::uint64_t to_server() const { return to_server_; }  // datagrams forwarded each way
  std::uint64_t to_client() const { return to_client_; }

 private:
  void run();
  void rebind();

  int down_;  // the client's side
  int up_;    // the server's side; replaced on every rebind
  sockaddr_in server_{};
  std::chrono::milliseconds every_;
  std::uint64_t rate_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> rebinds_{0}, to_server_{0}, to_client_{0};
  std::thread thread_;
};

}  // namespace quictun::test
