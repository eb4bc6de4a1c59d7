// One QUIC connection as the REST API shows it (GET /connections).
#pragma once

#include <nlohmann/json.hpp>

#include "quic/connection.hpp"

namespace quictun::ops {

nlohmann::ordered_json connection_json(const quic::Connection& connection);

}  // namespace quictun::ops
