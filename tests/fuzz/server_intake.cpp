// The server's datagram intake, before and after the connection-ID lookup: a sequence of
// datagrams, each a 2-byte length and its bytes, into a real ServerEndpoint (its own loopback
// socket, a generated certificate), each from one of two client addresses (the length's top bit
// picks). Before the lookup: the ARQ/NACK/plain split, version and connection-ID decoding,
// version negotiation, stateless resets, Retry. After it: an Initial that decrypts (anyone can
// make one, its keys derive from its destination ID) creates a connection, and what follows
// with that ID goes through the connection's link (ARQ) into ngtcp2.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>

#include "quic/server_endpoint.hpp"
#include "util/event.hpp"

using namespace quictun;

namespace {

struct NoTunnels : quic::ServerEndpoint::Listener {
  void on_new_stream(quic::Connection&, std::int64_t) override {}
};

// What every input shares: made once (a certificate costs milliseconds).
struct World {
  World() { spdlog::set_level(spdlog::level::off); }  // the endpoint logs per refusal
  EventBasePtr loop{event_base_new()};
  quic::TlsServerContext tls{quic::TlsServerOptions{}};
  NoTunnels listener;
  // Discard ports: what the server answers goes nowhere.
  SocketAddress clients[2] = {resolve_udp({"127.0.0.1", "9"}, "fuzz"), resolve_udp({"127.0.0.2", "9"}, "fuzz")};
  SocketAddress listen = resolve_udp({"127.0.0.1", "0"}, "fuzz");
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  quic::ServerLimits limits;
  limits.retry = quic::ServerLimits::Retry::never;  // so that a forged Initial reaches the connection
  quic::ServerEndpoint endpoint(w.loop.get(), w.listen, quic::TransportConfig{}, limits, w.tls, w.listener, 0);
  const SocketAddress& local = endpoint.local_address();
  while (size >= 2) {
    const SocketAddress& from = w.clients[data[0] >> 7];
    std::size_t n = (std::size_t{data[0] & 0x7fu} << 8 | data[1]) % 2048;
    data += 2;
    size -= 2;
    if (n > size) n = size;
    endpoint.receive(quic::ReceivedDatagram{data, n, from, local});
    event_base_loop(w.loop.get(), EVLOOP_NONBLOCK);  // the connections' writes and timers due now
    data += n;
    size -= n;
  }
  return 0;
}
