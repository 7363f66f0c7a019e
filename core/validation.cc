#include "core/validation.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace consentd {
namespace {

// Decodes one code point at s[i]; returns its length, or 0 when malformed.
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    min = 0x80;
    *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    min = 0x800;
    *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    min = 0x10000;
    *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

absl::Status ValidateOptionalIdentifier(absl::string_view value,
                                        absl::string_view field,
                                        size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be at most ",
                                                   max_bytes, " bytes (got ",
                                                   value.size(), ")"));
  }
  for (size_t i = 0; i < value.size();) {
    uint32_t cp;
    const size_t len = DecodeUtf8(value, i, &cp);
    if (len == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is not valid UTF-8 (at byte ", i, ")"));
    }
    if (IsControl(cp)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " must not contain control characters (at byte ", i, ")"));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status ValidateIdentifier(absl::string_view value,
                                absl::string_view field, size_t max_bytes) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  return ValidateOptionalIdentifier(value, field, max_bytes);
}

absl::Status ValidateSubjectId(absl::string_view value,
                               absl::string_view field) {
  if (absl::Status s = ValidateIdentifier(value, field, kMaxSubjectIdBytes);
      !s.ok()) {
    return s;
  }
  if (absl::StartsWith(value, "erased:")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     " must not start with \"erased:\" (reserved for erased "
                     "subjects' records)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRegionCode(absl::string_view region,
                                absl::string_view field) {
  if (region.empty()) return absl::OkStatus();
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        " must be an ISO 3166-1 alpha-2 code in upper case with an "
        "optional subdivision, like \"DE\" or \"US-CA\""));
  };
  if (region.size() < 2 || !absl::ascii_isupper(region[0]) ||
      !absl::ascii_isupper(region[1])) {
    return bad();
  }
  if (region.size() == 2) return absl::OkStatus();
  const absl::string_view sub = region.substr(3);
  if (region[2] != '-' || sub.empty() || sub.size() > 3) return bad();
  for (char c : sub) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c)) return bad();
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicyVersion(absl::string_view version,
                                   absl::string_view field) {
  if (version.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  if (version.size() > kMaxPolicyVersionBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at most ", kMaxPolicyVersionBytes, " characters"));
  }
  for (char c : version) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " may contain only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string Quoted(absl::string_view value) {
  constexpr size_t kMaxQuoted = 64;
  std::string out = "\"";
  size_t i = 0;
  while (i < value.size() && i < kMaxQuoted) {
    uint32_t cp;
    size_t len = DecodeUtf8(value, i, &cp);
    if (len == 0 || IsControl(cp)) {
      absl::StrAppend(
          &out, "\\x",
          absl::Hex(static_cast<uint8_t>(value[i]), absl::kZeroPad2));
      ++i;
      continue;
    }
    if (i + len > kMaxQuoted) break;
    if (cp == '"' || cp == '\\') out.push_back('\\');
    out.append(value.data() + i, len);
    i += len;
  }
  if (i < value.size()) out += "...";
  out += "\"";
  return out;
}

absl::Status ValidateCategoryId(absl::string_view id, absl::string_view field) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  bool ok = id.size() <= kMaxCategoryIdBytes && absl::ascii_islower(id[0]);
  for (char c : id) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must match [a-z][a-z0-9_]* and be at most ",
                     kMaxCategoryIdBytes, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateImportedTime(absl::Time t, absl::Time now,
                                  absl::string_view field) {
  const auto format = [](absl::Time x) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", x, absl::UTCTimeZone());
  };
  if (t < absl::UnixEpoch()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", format(t), " is before 1970-01-01T00:00:00Z"));
  }
  if (t > now + kMaxImportClockSkew) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " ", format(t), " is in the future (the server's time is ",
        format(now), "; at most ", absl::FormatDuration(kMaxImportClockSkew),
        " ahead is accepted)"));
  }
  return absl::OkStatus();
}

}  // namespace consentd
