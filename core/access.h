// Who may call what. Callers present a bearer token; the tokens file maps the
// SHA-256 of each token to a role and a principal, and the role decides which
// RPCs it may call. Every RPC of consent.v1 has a rule in MethodRule (a test
// walks the service descriptors to keep it so); a method without one is
// refused.
#ifndef CONSENTD_CORE_ACCESS_H_
#define CONSENTD_CORE_ACCESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace consentd {

enum class Role : uint8_t {
  // App backends: checks, decisions, reading policies.
  kApp = 0,
  // Support tools: read-only access to subjects, history and the audit log.
  kSupport = 1,
  // Everything, including publishing policies and erasing subjects.
  kAdmin = 2,
};

// "app", "support", "admin".
absl::string_view RoleName(Role role);

// The roles allowed to call the method `full_method`
// ("/consent.v1.ConsentService/CheckCookie"), as a bit set indexed by Role;
// nullopt for a method without a rule.
std::optional<uint8_t> MethodRule(absl::string_view full_method);

// Whether `role` may call `full_method` (false when it has no rule).
bool RoleAllows(Role role, absl::string_view full_method);

// Whether `role` may record a decision at a time of its own (RecordConsent
// with recorded_at: importing history from another platform). Only admin:
// it writes what a subject decided in the past, which is what the audit
// log is there to prove.
bool RoleMayImportDecisionTimes(Role role);

struct Credential {
  Role role = Role::kApp;
  // Who the caller is; becomes the actor of what it records.
  std::string principal;
};

// The parsed tokens file. Immutable; thread-safe.
class TokenTable {
 public:
  // One credential a line: `<role> <principal> <sha256 hex of the token>`;
  // '#' starts a comment. Errors name the line, never a digest.
  static absl::StatusOr<TokenTable> Parse(absl::string_view text);

  // The credential whose token has this SHA-256 digest (32 raw bytes), or
  // nullptr. The final comparison is constant-time.
  const Credential* Find(absl::string_view sha256_digest) const;

  size_t size() const { return credentials_.size(); }

 private:
  absl::flat_hash_map<std::string, Credential> credentials_;  // By digest.
};

}  // namespace consentd

#endif  // CONSENTD_CORE_ACCESS_H_
