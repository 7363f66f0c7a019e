#include "server/request_validation.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/validation.h"
#include "server/codec.h"

namespace consentd {
namespace {

absl::Status ValidateSubjectQuery(const std::string& subject_id,
                                  const std::string& region,
                                  int64_t min_consent_version) {
  if (absl::Status s = ValidateSubjectId(subject_id, "subject_id"); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateRegionCode(region, "region"); !s.ok()) {
    return s;
  }
  if (min_consent_version < 0) {
    return absl::InvalidArgumentError(
        "min_consent_version must not be negative");
  }
  return absl::OkStatus();
}

// as_of, when set: a valid time, and not asked together with
// min_consent_version (which asks for the newest state).
absl::Status ValidateAsOf(bool has_as_of, const google::protobuf::Timestamp& t,
                          int64_t min_consent_version) {
  if (!has_as_of) return absl::OkStatus();
  // 0001-01-01 .. 9999-12-31, as the protobuf JSON mapping allows.
  if (t.seconds() < -62135596800 || t.seconds() > 253402300799 ||
      t.nanos() < 0 || t.nanos() > 999999999) {
    return absl::InvalidArgumentError("as_of is not a valid time");
  }
  if (min_consent_version != 0) {
    return absl::InvalidArgumentError(
        "as_of and min_consent_version cannot be combined: "
        "min_consent_version asks for the newest state");
  }
  return absl::OkStatus();
}

// The fields of every read of one subject (CheckCookie, CheckCookies,
// GetConsent): subject_id, region, min_consent_version and as_of.
template <typename Request>
absl::Status ValidateSubjectRead(const Request& r) {
  if (absl::Status s = ValidateSubjectQuery(r.subject_id(), r.region(),
                                            r.min_consent_version());
      !s.ok()) {
    return s;
  }
  return ValidateAsOf(r.has_as_of(), r.as_of(), r.min_consent_version());
}

}  // namespace

std::optional<std::string> CanonicalIp(const std::string& ip) {
  unsigned char addr[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, ip.c_str(), addr) == 1 &&
        inet_ntop(family, addr, text, sizeof(text)) != nullptr) {
      return std::string(text);
    }
  }
  return std::nullopt;
}

absl::Status ValidateRequest(const consent::v1::RecordConsentRequest& r) {
  if (absl::Status s = ValidateSubjectId(r.subject_id(), "subject_id");
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidatePolicyVersion(r.policy_version(), "policy_version");
      !s.ok()) {
    return s;
  }
  if (r.choices().empty()) {
    return absl::InvalidArgumentError(
        "choices must name at least one category");
  }
  for (const auto& [category, granted] : r.choices()) {
    if (absl::Status s = ValidateCategoryId(
            category, absl::StrCat("choices key ", Quoted(category)));
        !s.ok()) {
      return s;
    }
  }
  if (SourceFromProto(r.source()) == ConsentSource::kUnspecified) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source is required: one of SOURCE_BANNER, SOURCE_PREFERENCES_CENTER, "
        "SOURCE_API, SOURCE_SUPPORT, SOURCE_IMPORT (got ",
        r.source(), ")"));
  }
  if (r.has_recorded_at()) {
    if (SourceFromProto(r.source()) != ConsentSource::kImport) {
      return absl::InvalidArgumentError(
          "recorded_at may be set only with source SOURCE_IMPORT (an "
          "imported decision keeps the time it was made; every other "
          "decision is stamped by the server)");
    }
    if (r.recorded_at().nanos() < 0 || r.recorded_at().nanos() > 999999999) {
      return absl::InvalidArgumentError(
          "recorded_at.nanos must be between 0 and 999999999");
    }
  }
  if (absl::Status s = ValidateRegionCode(r.region(), "region"); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateOptionalIdentifier(
          r.idempotency_key(), "idempotency_key", kMaxIdempotencyKeyBytes);
      !s.ok()) {
    return s;
  }
  if (r.expected_version() < 0) {
    return absl::InvalidArgumentError("expected_version must not be negative");
  }
  if (absl::Status s = ValidateOptionalIdentifier(
          r.context().user_agent(), "context.user_agent", kMaxUserAgentBytes);
      !s.ok()) {
    return s;
  }
  if (!r.context().ip_address().empty() &&
      !CanonicalIp(r.context().ip_address())) {
    return absl::InvalidArgumentError(
        "context.ip_address is not an IPv4 or IPv6 address");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const consent::v1::CheckCookieRequest& r) {
  if (absl::Status s = ValidateSubjectRead(r); !s.ok()) return s;
  return ValidateIdentifier(r.cookie_name(), "cookie_name",
                            kMaxCookieNameBytes);
}

absl::Status ValidateRequest(const consent::v1::CheckCookiesRequest& r) {
  if (absl::Status s = ValidateSubjectRead(r); !s.ok()) return s;
  if (r.cookie_names().empty()) {
    return absl::InvalidArgumentError(
        "cookie_names must name at least one cookie");
  }
  if (r.cookie_names_size() > kMaxCookiesPerCheck) {
    return absl::InvalidArgumentError(
        absl::StrCat("cookie_names may name at most ", kMaxCookiesPerCheck,
                     " cookies (got ", r.cookie_names_size(), ")"));
  }
  for (int i = 0; i < r.cookie_names_size(); ++i) {
    if (absl::Status s = ValidateIdentifier(
            r.cookie_names(i), absl::StrCat("cookie_names[", i, "]"),
            kMaxCookieNameBytes);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const consent::v1::GetConsentRequest& r) {
  if (absl::Status s = ValidateSubjectRead(r); !s.ok()) return s;
  if (!r.policy_version().empty()) {
    if (absl::Status s =
            ValidatePolicyVersion(r.policy_version(), "policy_version");
        !s.ok()) {
      return s;
    }
    if (r.min_consent_version() != 0) {
      return absl::InvalidArgumentError(
          "policy_version and min_consent_version cannot be combined");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const consent::v1::LinkSubjectsRequest& r) {
  if (absl::Status s =
          ValidateSubjectId(r.device_subject_id(), "device_subject_id");
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateSubjectId(r.account_subject_id(), "account_subject_id");
      !s.ok()) {
    return s;
  }
  if (r.device_subject_id() == r.account_subject_id()) {
    return absl::InvalidArgumentError(
        "device_subject_id and account_subject_id are the same subject");
  }
  if (r.merge_rule() != consent::v1::MERGE_RULE_MOST_RECENT &&
      r.merge_rule() != consent::v1::MERGE_RULE_MOST_RESTRICTIVE) {
    return absl::InvalidArgumentError(
        "merge_rule is required: MERGE_RULE_MOST_RECENT or "
        "MERGE_RULE_MOST_RESTRICTIVE");
  }
  return absl::OkStatus();
}

// Checks the choices against the policy they were made under.
absl::Status ValidateChoices(const Decision& d, const CompiledPolicy& policy) {
  for (const auto& [id, granted] : d.choices) {
    const CompiledPolicy::CategoryInfo* category = policy.FindCategory(id);
    if (category == nullptr) {
      std::vector<std::string> known;
      for (const CompiledPolicy::CategoryInfo& c : policy.categories()) {
        known.push_back(c.def->id);
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "choices: policy ", policy.version(), " has no category ", Quoted(id),
          " (its categories: ", absl::StrJoin(known, ", "), ")"));
    }
    if (category->def->required && !granted) {
      return absl::InvalidArgumentError(
          absl::StrCat("choices: ", Quoted(id),
                       " is a required category and cannot be refused"));
    }
  }
  return absl::OkStatus();
}

}  // namespace consentd
