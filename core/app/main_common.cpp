#include "app/main_common.hpp"

#include <iostream>

#include "app/plugin_dirs.hpp"
#include "util/error.hpp"

namespace quictun::app {

int run_program(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 2;
  } catch (const sdk::Error& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 1;
  }
}

std::vector<std::filesystem::path> plugin_dirs_for(const config::CommonSettings& settings) {
  return settings.plugin_dirs.empty() ? default_plugin_dirs() : settings.plugin_dirs;
}

}  // namespace quictun::app
