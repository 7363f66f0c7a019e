// The secret keys behind the audit log's tamper evidence and pseudonyms.
// They live in a file consentd reads at start (--audit_key_file), never in
// the database: whoever can write the database but not read the key cannot
// forge, alter or reorder the log without verification noticing.
#ifndef CONSENTD_STORAGE_AUDIT_KEYS_H_
#define CONSENTD_STORAGE_AUDIT_KEYS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace consentd {

// Immutable; thread-safe.
class AuditKeys {
 public:
  // Parses a keys file: one key a line, `<key_id> <secret as hex, at least
  // 32 bytes>`, '#' starts a comment. The first key derives pseudonyms and
  // request fingerprints (keep it as long as erased records must be found);
  // the last key signs new events (append a line to rotate). Errors name
  // the line; secrets never appear in messages.
  static absl::StatusOr<AuditKeys> Parse(absl::string_view text);

  // A fixed key, for tests and tools.
  static AuditKeys ForTesting();

  const std::string& signing_key_id() const { return keys_.back().first; }

  // Hex HMAC-SHA256 of the subject id: stable for a subject, meaningless
  // without the key.
  std::string Pseudonym(absl::string_view subject_id) const;
  // Hex keyed hash of a request attribute ("user_agent", "ip").
  std::string Fingerprint(absl::string_view kind,
                          absl::string_view value) const;

  // MAC of an event's content under `key_id`. NotFound for an unknown key.
  absl::StatusOr<std::string> EventMac(absl::string_view key_id,
                                       absl::string_view action,
                                       absl::string_view pseudonym,
                                       absl::string_view actor,
                                       int64_t recorded_at_us,
                                       absl::string_view payload) const;
  // MAC linking an event into the chain after `previous_mac` (empty for
  // the first event).
  absl::StatusOr<std::string> ChainMac(absl::string_view key_id,
                                       absl::string_view previous_mac,
                                       int64_t sequence, int64_t event_id,
                                       absl::string_view event_mac) const;

 private:
  AuditKeys() = default;
  const std::string* Find(absl::string_view key_id) const;

  std::vector<std::pair<std::string, std::string>> keys_;  // id -> secret
};

// SHA-256 of `data`: 32 raw bytes, or as hex.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

}  // namespace consentd

#endif  // CONSENTD_STORAGE_AUDIT_KEYS_H_
