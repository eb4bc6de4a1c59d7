// Where a program looks for plugins when the configuration names no directory.
#pragma once

#include <filesystem>
#include <vector>

namespace quictun::app {

// The build tree's plugin folder when the program runs from the build tree, else the
// installed plugin folder (relative to the program first, so a moved prefix still works).
std::vector<std::filesystem::path> default_plugin_dirs();

}  // namespace quictun::app
