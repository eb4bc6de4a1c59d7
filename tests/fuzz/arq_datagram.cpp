// ARQ datagrams from the network: the input is a sequence of datagrams, each a 2-byte length and
// its bytes, given to a receiver (sequenced and light) or a sender (NACKs) as the path would.
#include <cstddef>
#include <cstdint>

#include "link/arq.hpp"

using namespace quictun::link;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ArqReceiver receiver(64, 1 << 16);
  ArqSender sender(1, 64);
  std::uint8_t packet[kArqHeader + 300] = {};
  for (std::uint64_t i = 0; i < 8; ++i) sender.seal(packet, 300, i * 1000);  // stored datagrams a NACK can ask for
  std::uint64_t now = 1'000'000;
  std::size_t delivered = 0;
  auto deliver = [&](const std::uint8_t*, std::size_t n) { delivered += n; };
  auto send = [](const std::uint8_t*, std::size_t) {};
  while (size >= 2) {
    std::size_t n = (std::size_t{data[0]} << 8 | data[1]) % 2048;
    data += 2;
    size -= 2;
    if (n > size) n = size;
    now += 500'000;
    if (is_arq(data, n)) {
      if (data[0] == kArqMarkerNack) sender.on_nack(data, n, now, send);
      else receiver.receive(data, n, now, deliver, send);
    }
    if (receiver.deadline() <= now) receiver.on_timer(now, deliver, send);
    data += n;
    size -= n;
  }
  return 0;
}
