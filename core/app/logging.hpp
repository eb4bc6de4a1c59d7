// Log set-up as quic-tun users configure it (--log-format, --log-output-paths, --log-name, ...),
// on spdlog. Console lines keep quictun's layout; JSON lines are one object each, with the keys
// quic-tun's zap encoder uses (timestamp, level, logger, message) plus the fields of the event.
#pragma once

#include <string>

#include "config/settings.hpp"

namespace quictun::app {

// Replaces the default logger. Throws UsageError naming the flag (or file:line) when an output
// cannot be opened. --log-development, --log-disable-caller and --log-disable-stacktrace are
// accepted and change nothing: quictun's lines carry neither caller nor stack trace, and zap's
// development mode (panicking on dpanic) has no counterpart. Structured fields: util/log_fields.hpp.
void setup_logging(const std::string& program, const config::CommonSettings& settings);

}  // namespace quictun::app
