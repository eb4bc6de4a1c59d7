#include "ssh.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace quictun::classifier_ssh {
namespace {

constexpr std::string_view kPrefix = "SSH-";
constexpr std::size_t kMaxLine = 255;  // RFC 4253: the line, CR LF included

struct Banner {
  enum class State { need_more, bad, found } state = State::need_more;
  std::string version, software, comments;
};

bool printable(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// One identification line without its line end.
Banner parse_line(std::string_view line) {
  Banner b;
  b.state = Banner::State::bad;
  if (line.substr(0, kPrefix.size()) != kPrefix || !printable(line)) return b;
  std::string_view rest = line.substr(kPrefix.size());
  auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0) return b;
  std::string_view version = rest.substr(0, dash);
  if (version.find(' ') != std::string_view::npos) return b;
  rest = rest.substr(dash + 1);
  auto space = rest.find(' ');
  std::string_view software = rest.substr(0, space);
  if (software.empty()) return b;
  b.state = Banner::State::found;
  b.version = std::string(version);
  b.software = std::string(software);
  if (space != std::string_view::npos) b.comments = std::string(rest.substr(space + 1));
  return b;
}

// The identification line of one side. `preamble`: other lines may come first (server only).
Banner find_banner(std::string_view bytes, bool final, bool preamble) {
  Banner need_more;
  if (!preamble && bytes.substr(0, std::min(bytes.size(), kPrefix.size())) != kPrefix.substr(0, std::min(bytes.size(), kPrefix.size()))) {
    need_more.state = Banner::State::bad;
    return need_more;
  }
  while (true) {
    auto lf = bytes.find('\n');
    std::string_view line = bytes.substr(0, lf);
    if (lf == std::string_view::npos) {
      // An unfinished line: too long already, or never to be finished, is not SSH.
      need_more.state = line.size() >= kMaxLine || final ? Banner::State::bad : Banner::State::need_more;
      return need_more;
    }
    if (lf + 1 > kMaxLine) {
      need_more.state = Banner::State::bad;
      return need_more;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, kPrefix.size()) == kPrefix || !preamble) return parse_line(line);
    bytes = bytes.substr(lf + 1);
  }
}

void add(sdk::Properties& props, const std::string& side, const Banner& b) {
  if (b.state != Banner::State::found) return;
  props.push_back({side + "Software", b.software});
  if (!b.comments.empty()) props.push_back({side + "Comments", b.comments});
}

}  // namespace

sdk::ClassifierVerdict SshClassifier::classify(const sdk::TrafficSample& sample) {
  using State = Banner::State;
  Banner client = find_banner(sample.client_to_server, sample.client_final, false);
  Banner server = find_banner(sample.server_to_client, sample.server_final, true);
  // Both sides must speak SSH; the client's line is the one a non-SSH client gets wrong first.
  if (client.state == State::bad || (server.state == State::bad && client.state != State::found))
    return sdk::ClassifierVerdict::not_mine();
  if (client.state == State::need_more && server.state == State::need_more) return sdk::ClassifierVerdict::need_more();
  sdk::Properties props;
  props.push_back({"protoVersion", client.state == State::found ? client.version : server.version});
  add(props, "client", client);
  add(props, "server", server);
  if (client.state == State::found && server.state != State::need_more)
    return sdk::ClassifierVerdict::mine("ssh", std::move(props));
  return sdk::ClassifierVerdict::mine_so_far("ssh", std::move(props));
}

}  // namespace quictun::classifier_ssh
