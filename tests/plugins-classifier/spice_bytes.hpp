// SPICE link traffic built from the protocol's structures (spice-space.org, "Spice Protocol"):
// there is no SPICE client on this machine to capture from.
#pragma once

#include <cstdint>
#include <string>

namespace quictun::testing {

inline void le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline void le16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v));
  out.push_back(static_cast<char>(v >> 8));
}

// SpiceLinkHeader + SpiceLinkMess (no capabilities), as a client opens a channel.
inline std::string client_link(std::uint8_t channel_type, std::uint32_t connection_id, std::uint8_t channel_id = 0) {
  std::string m;
  le32(m, connection_id);
  m.push_back(static_cast<char>(channel_type));
  m.push_back(static_cast<char>(channel_id));
  le32(m, 0);   // num_common_caps
  le32(m, 0);   // num_channel_caps
  le32(m, 18);  // caps_offset
  std::string out = "REDQ";
  le32(out, 2);
  le32(out, 2);
  le32(out, static_cast<std::uint32_t>(m.size()));
  return out + m;
}

inline std::string mini_message(std::uint16_t type, const std::string& body) {
  std::string out;
  le16(out, type);
  le32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

// The server's side of a main channel: link header, SpiceLinkReply, link result, then
// MAIN_INIT, NAME and UUID.
inline std::string server_main(std::uint32_t link_error = 0) {
  std::string reply;
  le32(reply, link_error);
  reply.append(162, '\x30');  // pub_key
  le32(reply, 0);
  le32(reply, 0);
  le32(reply, 178);
  std::string out = "REDQ";
  le32(out, 2);
  le32(out, 2);
  le32(out, static_cast<std::uint32_t>(reply.size()));
  out += reply;
  le32(out, 0);  // link result: OK
  std::string init;
  le32(init, 0x78563412);  // session_id
  init.append(28, '\0');
  out += mini_message(103, init);
  std::string name;
  le32(name, 7);
  name += std::string("vm-0042", 7);
  name.push_back('\0');
  out += mini_message(113, name);
  out += mini_message(114, std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef", 16));
  return out;
}

}  // namespace quictun::testing
