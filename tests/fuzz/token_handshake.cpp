// The server's per-stream handshake as a client controls it: 512 token bytes, decoded, checked
// and matched against an allow list; then the status byte a client reads back.
#include <cstddef>
#include <cstdint>

#include "plugin/transport_set.hpp"
#include "tunnel/backend_allowlist.hpp"
#include "tunnel/wire.hpp"
#include "util/escape.hpp"

using namespace quictun;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tunnel::BackendAllowlist allow(
      {"tcp:10.0.0.0/8:22", "tcp:[fd00::]/8:8000-8100", "tcp:*.svc.internal:*", "unix:/run/app/*.sock", "vsock:3:*"},
      {"fuzz", "fuzz", "fuzz", "fuzz", "fuzz"});
  std::size_t token_bytes = size < tunnel::wire::kTokenSize ? size : tunnel::wire::kTokenSize;
  std::string token = tunnel::wire::decode_token(data, token_bytes);
  (void)tunnel::wire::token_problem(token);
  (void)escape_for_log(token);
  (void)escape_controls_for_log(token);
  (void)plugin::TransportSet::scheme_of(token);
  (void)allow.refusal(token);
  if (size > tunnel::wire::kTokenSize) (void)tunnel::wire::status_text(data[tunnel::wire::kTokenSize]);
  return 0;
}
