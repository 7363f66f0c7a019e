// Building JSON text by hand where the exact bytes matter (canonical audit
// payloads, stored choices): strings escaped per RFC 8259.
#ifndef CONSENTD_CORE_JSON_TEXT_H_
#define CONSENTD_CORE_JSON_TEXT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace consentd {

// Appends `s` (UTF-8) as a JSON string literal: quotes, backslashes and
// control characters escaped, everything else as is.
inline void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(
              &out, "\\u00",
              absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace consentd

#endif  // CONSENTD_CORE_JSON_TEXT_H_
