#include "spice.hpp"

#include <cstdint>
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace quictun::classifier_spice {
namespace {

constexpr std::string_view kMagic = "REDQ";
constexpr std::size_t kClientLinkBytes = 22;  // SpiceLinkHeader (16) + connection id, channel type and id
constexpr std::uint8_t kMainChannel = 1;
constexpr std::uint16_t kMsgMainInit = 103;
constexpr std::uint16_t kMsgMainName = 113;
constexpr std::uint16_t kMsgMainUuid = 114;

std::uint32_t le32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

std::uint16_t le16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) | static_cast<unsigned char>(b[at + 1]) << 8);
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string channel_name(std::uint8_t type) {
  static const char* const names[] = {"main",      "display",  "inputs", "cursor", "playback", "record",
                                      "tunnel",    "smartcard", "usbredir", "port", "webdav"};
  return type >= 1 && type <= 11 ? names[type - 1] : "unknown";
}

std::string uuid_text(std::string_view b) {
  std::string h = hex(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

void set(sdk::Properties& props, const std::string& key, std::string value) {
  for (auto& p : props)
    if (p.key == key) {
      p.value = std::move(value);
      return;
    }
  props.push_back({key, std::move(value)});
}

// What the server's side of a main channel adds. Returns true once nothing more can be learnt
// (all three found, a failed link, an unknown message), false if more bytes may tell more.
bool read_main_channel(std::string_view s, sdk::Properties& props) {
  if (s.size() < 16) return false;
  if (s.substr(0, 4) != kMagic) return true;  // not a SPICE server: keep what the client said
  const std::uint64_t reply_size = le32(s, 12);
  std::uint64_t at = 16;
  if (s.size() < at + 4) return false;
  if (le32(s, at) != 0) {  // SpiceLinkReply.error
    set(props, "linkError", std::to_string(le32(s, at)));
    return true;
  }
  at += reply_size;
  if (s.size() < at + 4) return false;
  if (le32(s, at) != 0) {  // the link result, after the client's ticket
    set(props, "linkError", std::to_string(le32(s, at)));
    return true;
  }
  at += 4;
  bool init = false, name = false, uuid = false;
  while (!(init && name && uuid)) {
    if (s.size() < at + 6) return false;
    const std::uint16_t type = le16(s, at);
    const std::uint64_t size = le32(s, at + 2);
    at += 6;
    if (s.size() < at + size) return false;
    std::string_view body = s.substr(at, size);
    at += size;
    if (type == kMsgMainInit && body.size() >= 4) {
      set(props, "sessionId", hex(body.substr(0, 4)));
      init = true;
    } else if (type == kMsgMainName && body.size() >= 4) {
      std::string_view text = body.substr(4, std::min<std::uint64_t>(le32(body, 0), body.size() - 4));
      while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
      set(props, "serverName", std::string(text));
      name = true;
    } else if (type == kMsgMainUuid && body.size() >= 16) {
      set(props, "serverUUID", uuid_text(body.substr(0, 16)));
      uuid = true;
    } else {
      return true;  // a message quic-tun does not read either: stop here
    }
  }
  return true;
}

}  // namespace

sdk::ClassifierVerdict SpiceClassifier::classify(const sdk::TrafficSample& sample) {
  std::string_view c = sample.client_to_server;
  if (c.substr(0, std::min(c.size(), kMagic.size())) != kMagic.substr(0, std::min(c.size(), kMagic.size())))
    return sdk::ClassifierVerdict::not_mine();
  if (c.size() < kClientLinkBytes)
    return sample.client_final ? sdk::ClassifierVerdict::not_mine() : sdk::ClassifierVerdict::need_more();
  sdk::Properties props = {
      {"version", std::to_string(le32(c, 4)) + "." + std::to_string(le32(c, 8))},
      {"sessionId", hex(c.substr(16, 4))},
      {"channelType", channel_name(static_cast<std::uint8_t>(c[20]))},
      {"channelId", std::to_string(static_cast<unsigned char>(c[21]))},
  };
  if (static_cast<std::uint8_t>(c[20]) != kMainChannel) return sdk::ClassifierVerdict::mine("spice", std::move(props));
  // A main channel's connection id is 0: the session id comes from the server's MAIN_INIT.
  bool complete = read_main_channel(sample.server_to_client, props);
  if (complete) return sdk::ClassifierVerdict::mine("spice", std::move(props));
  return sdk::ClassifierVerdict::mine_so_far("spice", std::move(props));
}

}  // namespace quictun::classifier_spice
