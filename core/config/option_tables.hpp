// Every option of quictun-server and quictun-client, each declared once: its place in
// quictun.toml, its flag, its type and range, and the setting it fills. Both readers (the file
// and the command line) and every "known: ..." list come from these tables.
#pragma once

#include <string>
#include <vector>

#include "config/option.hpp"
#include "config/settings.hpp"

namespace quictun::config {

const std::vector<Option<CommonSettings>>& common_options();    // [quic], [log], [plugins]
const std::vector<Option<ServerSettings>>& server_options();    // [server]
const std::vector<Option<ClientSettings>>& client_options();    // [client]
const std::vector<Option<ListenerSettings>>& listener_options();  // [[client.listener]] or in [client]

// Sections whose sub-tables go to plugins as they are: [token_source.<name>], ...
const std::vector<std::string>& plugin_table_kinds();

// Every top-level section a quictun.toml may hold (one file serves both programs).
std::vector<std::string> known_sections();

}  // namespace quictun::config
