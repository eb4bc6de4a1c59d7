// ngtcp2's own congestion controllers, selectable by name beside the plugins' ones.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <optional>
#include <string>
#include <vector>

namespace quictun::quic {

// "cubic", "reno", "bbr" (ngtcp2's BBR, v2/v3-like; also "bbr2", "bbrv2") → its algorithm.
inline std::optional<ngtcp2_cc_algo> builtin_congestion(const std::string& normalized_name) {
  if (normalized_name == "cubic") return NGTCP2_CC_ALGO_CUBIC;
  if (normalized_name == "reno") return NGTCP2_CC_ALGO_RENO;
  if (normalized_name == "bbr" || normalized_name == "bbr2" || normalized_name == "bbrv2") return NGTCP2_CC_ALGO_BBR;
  return std::nullopt;
}

inline std::vector<std::string> builtin_congestion_names() { return {"bbr", "cubic", "reno"}; }

// Controllers that size their window by loss: ARQ, which hides loss, would let them flood the path.
inline bool congestion_is_loss_based(const std::string& normalized_name) {
  return normalized_name == "cubic" || normalized_name == "reno";
}

}  // namespace quictun::quic
