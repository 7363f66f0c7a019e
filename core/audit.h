// What the audit log says about each change, in canonical form: the payload
// of an audit event is JSON text built here with a fixed key order, so that
// the exact bytes a MAC covers can be rebuilt and shown to anyone.
#ifndef CONSENTD_CORE_AUDIT_H_
#define CONSENTD_CORE_AUDIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/decision.h"
#include "core/link.h"

namespace consentd {

enum class AuditAction : uint8_t {
  kDecision,
  kPolicyPublish,
  kErasure,
  kLink,
  kUnlink
};

// "decision", "policy_publish", "erasure", "link", "unlink".
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

// A device linked to an account (the event's subject is the device):
// {"account_pseudonym":..,"merge_rule":..,"consent_version":..,
//  "merged":{"<category>":{"granted":..,"policy_version":..,
//  "decided_at":..},..}} (consent_version: the account's after the link;
// merged: the device's choices the account took, as they were made).
std::string LinkAuditPayload(absl::string_view account_pseudonym,
                             MergeRule rule, int64_t consent_version,
                             const std::vector<StandingChoice>& merged);

// {"account_pseudonym":..}
std::string UnlinkAuditPayload(absl::string_view account_pseudonym);

// {"erasure":..,"decisions":..,"audit_events":..}
std::string ErasureAuditPayload(int erasure, int64_t decisions,
                                int64_t audit_events);

}  // namespace consentd

#endif  // CONSENTD_CORE_AUDIT_H_
