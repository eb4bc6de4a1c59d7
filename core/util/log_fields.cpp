#include "util/log_fields.hpp"

namespace quictun {
namespace {
// Set by log_event for the duration of one call. The loggers are synchronous, so the formatter
// runs inside that call, on the same thread.
thread_local const nlohmann::json* t_fields = nullptr;
}  // namespace

void log_event(spdlog::level::level_enum level, const nlohmann::json& fields, std::string_view message) {
  if (!spdlog::should_log(level)) return;
  const nlohmann::json* previous = t_fields;
  t_fields = &fields;
  spdlog::default_logger_raw()->log(level, message);
  t_fields = previous;
}

const nlohmann::json* current_log_fields() { return t_fields; }

}  // namespace quictun
