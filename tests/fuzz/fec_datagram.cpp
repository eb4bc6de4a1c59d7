// FEC datagrams from the network: a sequence of datagrams (2-byte length, bytes) given to one
// decoder, so blocks fill, recover, contradict each other and roll over the window.
#include <cstddef>
#include <cstdint>

#include "quic/fec.hpp"

using namespace quictun::quic;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FecDecoderLimits limits;
  limits.window_blocks = 4;
  limits.max_buffered_bytes = 255 * (limits.max_packet + 2);
  FecDecoder decoder(limits);
  std::size_t delivered = 0;
  auto deliver = [&](const std::uint8_t*, std::size_t n) { delivered += n; };
  while (size >= 2) {
    std::size_t n = (std::size_t{data[0]} << 8 | data[1]) % 2048;
    data += 2;
    size -= 2;
    if (n > size) n = size;
    if (FecDecoder::is_fec(data, n)) decoder.receive(data, n, deliver);
    data += n;
    size -= n;
  }
  return 0;
}
