#include "app/plugin_dirs.hpp"

namespace quictun::app {
namespace fs = std::filesystem;

std::vector<fs::path> default_plugin_dirs() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> dirs;
  if (!ec) {
    fs::path bin = exe.parent_path();
    // build/bin/quictun-server -> build/plugins (marked by the build, so an install never matches)
    if (fs::exists(bin.parent_path() / "plugins" / ".quictun-build-tree", ec)) return {bin.parent_path() / "plugins"};
    fs::path relative = bin.parent_path() / QUICTUN_PLUGIN_INSTALL_REL;
    if (fs::is_directory(relative, ec)) return {relative};
  }
  dirs.emplace_back(QUICTUN_PLUGIN_INSTALL_ABS);
  return dirs;
}

}  // namespace quictun::app
