// Log lines with structured fields (a tunnel's uuid, id, addresses): JSON logs carry them as
// keys, console logs after the message as key=value (app/logging.cpp formats both).
#pragma once

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string_view>

namespace quictun {

// Logs `message` at `level` with `fields` (an object). The message reads as it would without
// them, so greps for it keep working.
void log_event(spdlog::level::level_enum level, const nlohmann::json& fields, std::string_view message);

// The fields of the line being formatted, or nullptr: for formatters only.
const nlohmann::json* current_log_fields();

}  // namespace quictun
