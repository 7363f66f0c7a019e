// Input rules shared by every entry point: identifiers, region codes,
// versions. Each check returns InvalidArgument with a message that names the
// field, so callers can pass it to the client unchanged.
#ifndef CONSENTD_CORE_VALIDATION_H_
#define CONSENTD_CORE_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace consentd {

inline constexpr size_t kMaxSubjectIdBytes = 256;
inline constexpr size_t kMaxCookieNameBytes = 256;
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;
inline constexpr size_t kMaxPolicyVersionBytes = 64;
inline constexpr size_t kMaxCategoryIdBytes = 64;
// How far ahead of the server's clock an imported decision's time may be
// (the other platform's clock may run ahead).
inline constexpr absl::Duration kMaxImportClockSkew = absl::Minutes(5);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

// A non-empty opaque identifier of at most `max_bytes` bytes: valid UTF-8
// without control characters (U+0000..U+001F, U+007F..U+009F). Used for
// subject ids and cookie names.
absl::Status ValidateIdentifier(absl::string_view value,
                                absl::string_view field, size_t max_bytes);

// A subject id: ValidateIdentifier with kMaxSubjectIdBytes, and not in the
// namespace "erased:" that erasure gives pseudonymised records.
absl::Status ValidateSubjectId(absl::string_view value,
                               absl::string_view field);

// Like ValidateIdentifier, but the empty string is allowed (optional field).
absl::Status ValidateOptionalIdentifier(absl::string_view value,
                                        absl::string_view field,
                                        size_t max_bytes);

// Empty, or ISO 3166-1 alpha-2 in upper case with an optional ISO 3166-2
// subdivision of 1..3 upper-case letters or digits: "DE", "US-CA".
absl::Status ValidateRegionCode(absl::string_view region,
                                absl::string_view field);

// 1..64 characters of [A-Za-z0-9._-], e.g. "2026-01-12".
absl::Status ValidatePolicyVersion(absl::string_view version,
                                   absl::string_view field);

// `value` in double quotes for an error message: at most 64 bytes of it (cut
// at a character boundary, then "..."), with quotes, backslashes and control
// characters escaped, so that no input can make a message unbounded.
std::string Quoted(absl::string_view value);

// The time an imported decision was made: not before the Unix epoch (no
// consent platform is older) and not after `now` + kMaxImportClockSkew.
absl::Status ValidateImportedTime(absl::Time t, absl::Time now,
                                  absl::string_view field);

// [a-z][a-z0-9_]{0,63}, e.g. "marketing".
absl::Status ValidateCategoryId(absl::string_view id, absl::string_view field);

}  // namespace consentd

#endif  // CONSENTD_CORE_VALIDATION_H_
