// The edge of both programs: parse, set up logging and the loop, run, and turn every error
// into one message and an exit code (2: usage or configuration, 1: runtime).
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "config/settings.hpp"
#include "plugin/loader.hpp"

namespace quictun::app {

// Runs `make_and_run` with a loop and a plugin loader; catches and reports errors.
int run_program(const std::string& program, const std::function<int()>& body);

std::vector<std::filesystem::path> plugin_dirs_for(const config::CommonSettings& settings);

// --list-plugins: loads every plugin of the plugin dirs and writes what each one is and
// provides, with the help line of each factory; a file that cannot be loaded is listed with the
// reason. Returns the exit code (0).
int list_plugins(const config::CommonSettings& settings, event_base* loop, sdk::Side side, std::ostream& out);

}  // namespace quictun::app
