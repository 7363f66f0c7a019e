#include "core/audit.h"

#include "absl/strings/str_cat.h"
#include "core/json_text.h"

namespace consentd {

absl::string_view AuditActionName(AuditAction action) {
  switch (action) {
    case AuditAction::kDecision:
      return "decision";
    case AuditAction::kPolicyPublish:
      return "policy_publish";
    case AuditAction::kErasure:
      return "erasure";
    case AuditAction::kLink:
      return "link";
    case AuditAction::kUnlink:
      return "unlink";
  }
  return "";
}

std::string DecisionAuditPayload(const Decision& d, int64_t consent_version) {
  const RequestFingerprint& fingerprint = d.fingerprint;
  std::string out = absl::StrCat("{\"consent_version\":", consent_version,
                                 ",\"policy_version\":");
  AppendJsonString(out, d.policy_version);
  out += ",\"choices\":{";
  for (size_t i = 0; i < d.choices.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(out, d.choices[i].first);
    out += d.choices[i].second ? ":true" : ":false";
  }
  out += "},\"source\":";
  AppendJsonString(out, SourceName(d.source));
  out += ",\"region\":";
  AppendJsonString(out, d.region);
  absl::StrAppend(&out, ",\"gpc\":", d.gpc ? "true" : "false",
                  ",\"idempotency_key\":");
  AppendJsonString(out, d.idempotency_key);
  absl::StrAppend(&out, ",\"expected_version\":", d.expected_version,
                  ",\"user_agent_hmac\":");
  AppendJsonString(out, fingerprint.user_agent_hmac);
  out += ",\"ip_hmac\":";
  AppendJsonString(out, fingerprint.ip_hmac);
  out += "}";
  return out;
}

std::string PolicyAuditPayload(absl::string_view version, int64_t seq,
                               absl::string_view body_sha256_hex) {
  std::string out = "{\"policy_version\":";
  AppendJsonString(out, version);
  absl::StrAppend(&out, ",\"policy_seq\":", seq, ",\"policy_sha256\":");
  AppendJsonString(out, body_sha256_hex);
  out += "}";
  return out;
}

std::string ErasureAuditPayload(int erasure, int64_t decisions,
                                int64_t audit_events) {
  return absl::StrCat("{\"erasure\":", erasure, ",\"decisions\":", decisions,
                      ",\"audit_events\":", audit_events, "}");
}

std::string LinkAuditPayload(absl::string_view account_pseudonym,
                             MergeRule rule, int64_t consent_version,
                             const std::vector<StandingChoice>& merged) {
  std::string out = "{\"account_pseudonym\":";
  AppendJsonString(out, account_pseudonym);
  out += ",\"merge_rule\":";
  AppendJsonString(out, MergeRuleName(rule));
  absl::StrAppend(&out, ",\"consent_version\":", consent_version,
                  ",\"merged\":{");
  for (size_t i = 0; i < merged.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(out, merged[i].category);
    absl::StrAppend(&out,
                    ":{\"granted\":", merged[i].granted ? "true" : "false",
                    ",\"policy_version\":");
    AppendJsonString(out, merged[i].policy_version);
    out += ",\"decided_at\":";
    AppendJsonString(out,
                     absl::FormatTime(absl::RFC3339_full, merged[i].decided_at,
                                      absl::UTCTimeZone()));
    out += "}";
  }
  out += "}}";
  return out;
}

std::string UnlinkAuditPayload(absl::string_view account_pseudonym) {
  std::string out = "{\"account_pseudonym\":";
  AppendJsonString(out, account_pseudonym);
  out += "}";
  return out;
}

}  // namespace consentd
