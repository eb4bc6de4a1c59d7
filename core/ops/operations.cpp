#include "ops/operations.hpp"

#include "ops/connection_json.hpp"

namespace quictun::ops {

Operations::Operations(event_base* loop, const config::CommonSettings& settings, EachConnection each)
    : tunnels_(loop), each_connection_(std::move(each)), counters_(metrics_, tunnels_, each_connection_) {
  if (settings.api_listen_on.empty()) return;
  ApiServer::Sources sources{tunnels_, metrics_, [this] {
                               nlohmann::ordered_json out = nlohmann::ordered_json::array();
                               each_connection_([&](const quic::Connection& c) { out.push_back(connection_json(c)); });
                               return out;
                             }};
  api_ = std::make_unique<ApiServer>(loop, settings, std::move(sources));
}

}  // namespace quictun::ops
