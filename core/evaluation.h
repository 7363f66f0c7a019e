// The answer rules of DESIGN.md §2, in one place: may a cookie be set, and
// what is each category's state. Pure functions of the policy, the subject's
// state, the regime and the time.
#ifndef CONSENTD_CORE_EVALUATION_H_
#define CONSENTD_CORE_EVALUATION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/policy_catalog.h"
#include "core/subject_state.h"

namespace consentd {

enum class Reason : uint8_t {
  kUnspecified = 0,
  kNecessary = 1,
  kGranted = 2,
  kDenied = 3,
  kNoDecision = 4,
  kUnknownCookie = 5,
  kExpired = 6,
  kReconsentRequired = 7,
  kGpcOptOut = 8,
};

enum class CategoryStateKind : uint8_t {
  kUnspecified = 0,
  kAlwaysOn = 1,
  kGranted = 2,
  kDenied = 3,
  kNotDecided = 4,
  kExpired = 5,
  kReconsentRequired = 6,
};

// How a region treats a subject without a valid decision.
enum class Regime : uint8_t {
  // Optional categories are denied until granted (EU/EEA, UK, CH, ...).
  kOptIn = 0,
  // Optional categories are allowed until refused; GPC refuses the
  // gpc_opt_out categories (US-CA, ...).
  kOptOut = 1,
};

// Everything a check depends on besides the subject.
struct EvaluationContext {
  const CompiledPolicy* policy = nullptr;  // The current policy; not null.
  Regime regime = Regime::kOptIn;
  bool gpc = false;
  absl::Time now;
  // Decisions expire this long after they were recorded.
  absl::Duration consent_ttl = absl::Hours(24 * 365);
};

// One category's standing for a subject.
struct CategoryVerdict {
  CategoryStateKind state = CategoryStateKind::kUnspecified;
  bool allowed = false;
  Reason reason = Reason::kUnspecified;
  // The counted choice, when one counts (state kGranted or kDenied).
  const CategoryChoice* choice = nullptr;
  absl::Time expires_at = absl::InfinitePast();  // Set when choice is.
};

// The answer to "may I set this cookie?".
struct CookieVerdict {
  bool allowed = false;
  Reason reason = Reason::kUnspecified;
  // nullptr for an unknown cookie.
  const CompiledPolicy::CookieInfo* cookie = nullptr;
  int64_t max_age_seconds = 0;
};

// How long a decision for `category` counts: its own grant or refusal TTL,
// or ctx.consent_ttl when the policy sets none.
absl::Duration DecisionTtl(const EvaluationContext& ctx,
                           const Category& category, bool granted);

// The standing of `category` (one of ctx.policy->categories()).
CategoryVerdict EvaluateCategory(const EvaluationContext& ctx,
                                 const SubjectState& subject,
                                 const CompiledPolicy::CategoryInfo& category);

// The answer for `cookie_name`, following DESIGN.md §2 step by step.
CookieVerdict EvaluateCookie(const EvaluationContext& ctx,
                             const SubjectState& subject,
                             absl::string_view cookie_name);

// How long an allowed cookie may live, in seconds: its catalog duration (the
// 400-day browser cap for PERSISTENT and VARIES, 0 for SESSION), never past
// `decision_expires_at` (InfiniteFuture when no decision bounds it), never
// more than 400 days.
int64_t MaxAgeSeconds(const Cookie& cookie, absl::Time now,
                      absl::Time decision_expires_at);

// The subject's state for every category of the current policy.
struct ConsentSummary {
  std::vector<CategoryVerdict> categories;  // ctx.policy->categories() order.
  // Some optional category lacks a valid decision.
  bool banner_required = false;
  // Earliest expiry among counted optional choices; InfiniteFuture if none.
  absl::Time earliest_expiry = absl::InfiniteFuture();
};
ConsentSummary Summarize(const EvaluationContext& ctx,
                         const SubjectState& subject);

// The Google Consent Mode v2 signals of `summary` (made with `policy`), in
// kConsentModeSignals order: each signal some category names, granted when
// every category naming it is allowed.
std::vector<std::pair<std::string, bool>> ConsentModeSignals(
    const CompiledPolicy& policy, const ConsentSummary& summary);

}  // namespace consentd

#endif  // CONSENTD_CORE_EVALUATION_H_
