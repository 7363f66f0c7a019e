// What the audit log says about each change, in canonical form: the payload
// of an audit event is JSON text built here with a fixed key order, so that
// the exact bytes a MAC covers can be rebuilt and shown to anyone.
#ifndef CONSENTD_CORE_AUDIT_H_
#define CONSENTD_CORE_AUDIT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/decision.h"

namespace consentd {

enum class AuditAction : uint8_t { kDecision, kPolicyPublish, kErasure };

// "decision", "policy_publish", "erasure".
absl::string_view AuditActionName(AuditAction action);

// {"consent_version":..,"policy_version":..,"choices":{..},"source":..,
//  "region":..,"gpc":..,"idempotency_key":..,"expected_version":..,
//  "user_agent_hmac":..,"ip_hmac":..}. The subject is not in the payload
// (the event carries its pseudonym), so erasure leaves the payload intact.
std::string DecisionAuditPayload(const Decision& decision,
                                 int64_t consent_version);

// {"policy_version":..,"policy_seq":..,"policy_sha256":..}
std::string PolicyAuditPayload(absl::string_view version, int64_t seq,
                               absl::string_view body_sha256_hex);

// {"erasure":..,"decisions":..,"audit_events":..}
std::string ErasureAuditPayload(int erasure, int64_t decisions,
                                int64_t audit_events);

}  // namespace consentd

#endif  // CONSENTD_CORE_AUDIT_H_
