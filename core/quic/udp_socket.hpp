// A UDP socket for QUIC: large buffers, GSO on send, GRO and local-address info on receive, and
// an optional drop rate for testing loss recovery without a network emulator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "util/address.hpp"
#include "util/fd.hpp"

namespace quictun::quic {

struct ReceivedDatagram {
  const std::uint8_t* data;
  std::size_t size;
  const SocketAddress& remote;
  const SocketAddress& local;  // the address it was sent to (from IP_PKTINFO when bound to a wildcard)
};

class UdpSocket {
 public:
  // A socket bound to `local` (a server). Throws RuntimeError naming the address.
  static UdpSocket bind(const SocketAddress& local);
  // A socket connected to `remote` (a client), on an ephemeral port.
  static UdpSocket connect(const SocketAddress& remote);

  int fd() const { return fd_.get(); }
  const SocketAddress& local_address() const { return local_; }

  // Fraction of received datagrams to discard, for tests of loss recovery (0 = none).
  void set_drop_rate(double rate, std::uint64_t seed) { drop_rate_ = rate; rng_.seed(seed); }

  // Reads what is waiting (at most `budget` system calls), calling `on_datagram` for each
  // datagram, GRO batches split. Returns false when nothing was read.
  bool receive(const std::function<void(const ReceivedDatagram&)>& on_datagram, int budget = 64);

  // Sends `size` bytes of packets to `remote`, each `segment` bytes except the last (one system
  // call through GSO when there is more than one). `local` sets the source address when the
  // socket is bound to a wildcard. Returns false when the kernel would block; the packets are
  // then lost and QUIC's loss recovery resends them.
  bool send(const SocketAddress& remote, const SocketAddress* local, const std::uint8_t* data, std::size_t size,
            std::size_t segment);

  std::uint64_t datagrams_dropped_for_test() const { return test_drops_; }
  // errno of the last failed receive other than EAGAIN (ECONNREFUSED: nobody listens there).
  int take_error() { int e = last_error_; last_error_ = 0; return e; }

 private:
  UdpSocket(Fd fd, SocketAddress local, bool wildcard);
  void configure();
  bool send_one(const SocketAddress& remote, const SocketAddress* local, const std::uint8_t* data, std::size_t size,
                std::size_t segment);

  Fd fd_;
  SocketAddress local_;
  bool wildcard_ = false;  // bound to 0.0.0.0 / :: : every send names its source address
  bool connected_ = false;
  bool gso_ = true;        // turned off for good if the kernel refuses UDP_SEGMENT
  double drop_rate_ = 0;
  std::mt19937_64 rng_;
  std::uint64_t test_drops_ = 0;
  int last_error_ = 0;
  std::vector<std::uint8_t> rx_buffer_;
};

}  // namespace quictun::quic
