#include "stats.hpp"

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>

namespace quictun::netem {
namespace {

std::string json_direction(const DirectionStats& s) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"from\": \"%s\", \"to\": \"%s\", \"rx_packets\": %llu, \"rx_bytes\": %llu, "
      "\"tx_packets\": %llu, \"tx_bytes\": %llu, \"dropped\": {\"total\": %llu, \"queue\": %llu, "
      "\"loss\": %llu, \"burst\": %llu, \"overflow\": %llu, \"oversize\": %llu, \"write\": %llu}, "
      "\"reordered\": %llu, \"duplicated\": %llu, \"queue_peak_bytes\": %llu, \"queue_peak_packets\": %llu, "
      "\"in_flight_peak\": %llu}",
      s.from.c_str(), s.to.c_str(), static_cast<unsigned long long>(s.rx_packets.get()),
      static_cast<unsigned long long>(s.rx_bytes.get()),
      static_cast<unsigned long long>(s.tx_packets.get()),
      static_cast<unsigned long long>(s.tx_bytes.get()),
      static_cast<unsigned long long>(s.dropped()),
      static_cast<unsigned long long>(s.drop_queue.get()),
      static_cast<unsigned long long>(s.drop_loss.get()),
      static_cast<unsigned long long>(s.drop_burst.get()),
      static_cast<unsigned long long>(s.drop_overflow.get()),
      static_cast<unsigned long long>(s.drop_oversize.get()),
      static_cast<unsigned long long>(s.drop_write.get()),
      static_cast<unsigned long long>(s.reordered.get()),
      static_cast<unsigned long long>(s.duplicated.get()),
      static_cast<unsigned long long>(s.queue_peak_bytes.get()),
      static_cast<unsigned long long>(s.queue_peak_packets.get()),
      static_cast<unsigned long long>(s.in_flight_peak.get()));
  return buf;
}

}  // namespace

std::string format_text(const DirectionStats& s) {
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "%s (%s -> %s): in %llu pkts / %llu B, out %llu pkts / %llu B, dropped %llu "
                "(queue %llu, loss %llu, burst %llu, overflow %llu, oversize %llu, write %llu), "
                "reordered %llu, duplicated %llu, queue peak %llu B / %llu pkts",
                s.name.c_str(), s.from.c_str(), s.to.c_str(),
                static_cast<unsigned long long>(s.rx_packets.get()),
                static_cast<unsigned long long>(s.rx_bytes.get()),
                static_cast<unsigned long long>(s.tx_packets.get()),
                static_cast<unsigned long long>(s.tx_bytes.get()),
                static_cast<unsigned long long>(s.dropped()),
                static_cast<unsigned long long>(s.drop_queue.get()),
                static_cast<unsigned long long>(s.drop_loss.get()),
                static_cast<unsigned long long>(s.drop_burst.get()),
                static_cast<unsigned long long>(s.drop_overflow.get()),
                static_cast<unsigned long long>(s.drop_oversize.get()),
                static_cast<unsigned long long>(s.drop_write.get()),
                static_cast<unsigned long long>(s.reordered.get()),
                static_cast<unsigned long long>(s.duplicated.get()),
                static_cast<unsigned long long>(s.queue_peak_bytes.get()),
                static_cast<unsigned long long>(s.queue_peak_packets.get()));
  return buf;
}

std::string format_json(const DirectionStats& a2b, const DirectionStats& b2a, std::uint64_t seed,
                        double elapsed_s) {
  char head[128];
  std::snprintf(head, sizeof head, "{\"seed\": %llu, \"elapsed_s\": %.3f, ",
                static_cast<unsigned long long>(seed), elapsed_s);
  return std::string(head) + "\"a2b\": " + json_direction(a2b) +
         ", \"b2a\": " + json_direction(b2a) + "}\n";
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) throw std::system_error(errno, std::generic_category(), "open " + tmp);
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("write " + tmp + " failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "rename " + tmp);
  }
}

}  // namespace quictun::netem
