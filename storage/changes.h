// Change notifications: every commit that changes what replicas may have
// cached announces itself with NOTIFY on kChangesChannel, in the committing
// transaction, so it is delivered exactly when (and only if) it commits.
//
// Payloads are text, at most 8000 bytes:
//   i <sent_us> <version> <subject>
//       the subject changed (a decision at `version`, or an erasure with the
//       largest version): drop any older cached state
//   p <sent_us> <seq>
//       a policy was published
// The subject comes last and runs to the end (it may contain spaces).
//
// Notifications only ever invalidate: anyone allowed to connect to the
// database can send one, so they carry no state a replica would serve. The
// worst a forged one can do is evict an entry (one more database read).
#ifndef CONSENTD_STORAGE_CHANGES_H_
#define CONSENTD_STORAGE_CHANGES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace consentd {

inline constexpr char kChangesChannel[] = "consentd_changes";
inline constexpr size_t kMaxNotifyPayload = 7999;

struct Change {
  enum class Kind { kDecision, kPolicy };
  Kind kind = Kind::kDecision;
  // When the sender built the notification (its wall clock), just before
  // its commit.
  absl::Time sent_at;
  // kDecision:
  std::string subject_id;
  int64_t version = 0;
  // kPolicy:
  int64_t policy_seq = 0;
};

// The payload announcing that `subject` is now at `version`.
std::string EncodeDecisionChange(absl::string_view subject, int64_t version,
                                 absl::Time sent_at);
std::string EncodePolicyChange(int64_t seq, absl::Time sent_at);
// A subject was erased: every replica drops what it cached (an "i" change
// newer than any version).
std::string EncodeErasureChange(absl::string_view subject, absl::Time sent_at);

// Parses a payload. InvalidArgument for anything malformed.
absl::StatusOr<Change> DecodeChange(absl::string_view payload);

}  // namespace consentd

#endif  // CONSENTD_STORAGE_CHANGES_H_
