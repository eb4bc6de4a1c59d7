#include "ops/connection_json.hpp"

namespace quictun::ops {

nlohmann::ordered_json connection_json(const quic::Connection& c) {
  const quic::ConnectionStats s = c.stats();
  nlohmann::ordered_json j;
  j["peer"] = c.remote().to_string();
  j["state"] = c.closed() ? "closed" : c.usable() ? "open" : s.handshake_done ? "closing" : "handshaking";
  j["streams"] = s.streams;
  j["smoothedRttMs"] = static_cast<double>(s.smoothed_rtt_ns) / 1e6;
  j["minRttMs"] = static_cast<double>(s.min_rtt_ns) / 1e6;
  j["latestRttMs"] = static_cast<double>(s.latest_rtt_ns) / 1e6;
  j["rttVarianceMs"] = static_cast<double>(s.rttvar_ns) / 1e6;
  j["cwndBytes"] = s.cwnd;
  j["bytesInFlight"] = s.bytes_in_flight;
  j["bytesSent"] = s.bytes_sent;
  j["bytesReceived"] = s.bytes_received;
  j["datagramsSent"] = s.datagrams_sent;
  j["datagramsReceived"] = s.datagrams_received;
  if (s.loss_known) {
    j["packetsLost"] = s.packets_lost;
    j["bytesLost"] = s.bytes_lost;
  } else {
    j["packetsLost"] = nullptr;  // ngtcp2's own controllers do not report losses
    j["bytesLost"] = nullptr;
  }
  j["controller"] = s.controller;
  j["link"] = s.link;  // plain or arq: the repair below QUIC
  j["arqResent"] = s.arq_resent;
  j["arqRepaired"] = s.arq_repaired;
  if (std::string cert = c.peer_certificate(); !cert.empty()) j["peerCertificate"] = cert;
  return j;
}

}  // namespace quictun::ops
