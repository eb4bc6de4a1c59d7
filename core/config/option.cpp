#include "config/option.hpp"

namespace quictun::config {

std::string OptionSpec::name() const {
  if (key) return key;
  std::string f = long_flag();
  return f.substr(f.find_first_not_of('-'));
}

std::string OptionSpec::long_flag() const {
  if (!flag) return "";
  std::string names = flag;
  return names.substr(names.rfind(',') + 1);  // npos + 1 == 0: a single name
}

std::string OptionSpec::range_text() const {
  if (kind == Kind::fraction) return "must be in [0, 1)";
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace quictun::config
