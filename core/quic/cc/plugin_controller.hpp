// A plugin's congestion controller (sdk/include/quictun/sdk/congestion.hpp) installed in one
// ngtcp2 connection, through ngtcp2_cc_hook.c. Only the source build of ngtcp2 can hold one
// (-DQUICTUN_NGTCP2=source, the default); with the system's shared ngtcp2, available() is false
// and install() throws, saying why.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <memory>
#include <string>

#include <quictun/sdk/congestion.hpp>

#include "quic/cc/sample_loss.hpp"

namespace quictun::quic {

class PluginController {
 public:
  static bool available();
  // Why available() is false, for error messages.
  static std::string unavailable_reason();
  // Installs `controller` in `conn`, which must have been created with NGTCP2_CC_ALGO_RENO.
  // The returned object must outlive `conn`.
  static std::unique_ptr<PluginController> install(ngtcp2_conn* conn,
                                                   std::unique_ptr<sdk::CongestionController> controller,
                                                   ngtcp2_tstamp now);
  std::string describe() const { return controller_->describe(); }
  // Packets the connection declared lost, as the controller was told of them.
  std::uint64_t lost_packets() const { return lost_packets_; }
  std::uint64_t lost_bytes() const { return lost_bytes_; }

  PluginController(const PluginController&) = delete;
  PluginController& operator=(const PluginController&) = delete;

 private:
  explicit PluginController(std::unique_ptr<sdk::CongestionController> controller)
      : controller_(std::move(controller)) {}
  friend struct PluginControllerEvents;
  std::unique_ptr<sdk::CongestionController> controller_;
  std::uint64_t lost_packets_ = 0;
  std::uint64_t lost_bytes_ = 0;
  std::uint64_t delivered_ = 0;  // the connection's delivered total at the last ACK
  SampleLoss sample_loss_;
};

}  // namespace quictun::quic
