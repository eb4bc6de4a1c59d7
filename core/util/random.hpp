// Randomness from GnuTLS, checked: reset secrets, connection IDs and nonces made from an
// unfilled buffer would be predictable, so a failure must stop the caller, never pass silently.
#pragma once

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cstdint>
#include <span>
#include <string>

#include "util/error.hpp"

namespace quictun {

// Fills `out` at `level` (GNUTLS_RND_KEY for long-lived secrets, GNUTLS_RND_NONCE for values
// that must only be unpredictable). Throws RuntimeError "no randomness available: <gnutls error>".
inline void random_bytes(std::span<std::uint8_t> out, gnutls_rnd_level_t level = GNUTLS_RND_RANDOM) {
  if (out.empty()) return;
  if (int rc = gnutls_rnd(level, out.data(), out.size()); rc != 0)
    throw RuntimeError(std::string("no randomness available: ") + gnutls_strerror(rc));
}

}  // namespace quictun
