// A subject's decision as the domain records it: which optional categories
// were granted or denied, under which policy, through which channel.
#ifndef CONSENTD_CORE_DECISION_H_
#define CONSENTD_CORE_DECISION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace consentd {

enum class ConsentSource : uint8_t {
  kUnspecified = 0,
  kBanner = 1,
  kPreferencesCenter = 2,
  kApi = 3,
  kSupport = 4,
  kImport = 5,
  // Made by LinkSubjects, never by a caller.
  kLink = 6,
};

// The stored name of a source: "banner", "preferences_center", "api",
// "support", "import", "link" ("" for kUnspecified).
absl::string_view SourceName(ConsentSource source);

// Keyed hashes of what the caller's request revealed about the subject's
// device; empty when not supplied. Never the values themselves.
struct RequestFingerprint {
  std::string user_agent_hmac;
  std::string ip_hmac;
};

// A validated decision, ready to be recorded.
struct Decision {
  std::string subject_id;
  std::string policy_version;
  // Category id -> granted, sorted by id, each id once.
  std::vector<std::pair<std::string, bool>> choices;
  ConsentSource source = ConsentSource::kUnspecified;
  std::string region;
  bool gpc = false;
  // Empty: none.
  std::string idempotency_key;
  // 0: don't check.
  int64_t expected_version = 0;
  // Who recorded it (the authenticated principal).
  std::string actor;
  // Server time when it was accepted, or for an import the time the subject
  // decided (keep_time); the decision expires from here.
  absl::Time recorded_at;
  // Recorded at exactly recorded_at (an import from another platform),
  // never moved later to follow the subject's previous decision: refused
  // (FailedPrecondition) when that decision is later.
  bool keep_time = false;
  // For the audit log.
  RequestFingerprint fingerprint;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_DECISION_H_
