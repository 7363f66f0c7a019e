// consentd's logs: one JSON object a line on stderr (or plain text for
// people at a terminal), with time, level, message and optional fields.
// Never a secret: callers log what a config means, not tokens or keys.
#ifndef CONSENTD_SERVER_LOGGING_H_
#define CONSENTD_SERVER_LOGGING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "storage/logging.h"

namespace consentd {

enum class LogFormat { kJson, kText };

// Installs the process's logger. Call once, first thing in main.
void ConfigureLogging(LogFormat format);

using LogField = std::pair<absl::string_view, std::string>;

// Logs `message` with structured fields (rendered as "fields": {...} in JSON,
// key=value in text).
void LogWithFields(spdlog::level::level_enum level, absl::string_view message,
                   std::initializer_list<LogField> fields);

// `url` with any password replaced by "***" (URIs and key=value strings).
std::string RedactDatabaseUrl(absl::string_view url);

}  // namespace consentd

#endif  // CONSENTD_SERVER_LOGGING_H_
