// Logging for storage/ and server/: spdlog, plus the formatter fmt needs for
// absl::string_view (Debian's abseil has its own string_view type).
#ifndef CONSENTD_STORAGE_LOGGING_H_
#define CONSENTD_STORAGE_LOGGING_H_

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/strings/string_view.h"

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(s.data(), s.size()), ctx);
  }
};

#endif  // CONSENTD_STORAGE_LOGGING_H_
