#include "core/evaluation.h"

#include <algorithm>

namespace consentd {

absl::Duration DecisionTtl(const EvaluationContext& ctx,
                           const Category& category, bool granted) {
  const int64_t seconds =
      granted ? category.grant_ttl_seconds : category.refusal_ttl_seconds;
  return seconds > 0 ? absl::Seconds(seconds) : ctx.consent_ttl;
}

CategoryVerdict EvaluateCategory(const EvaluationContext& ctx,
                                 const SubjectState& subject,
                                 const CompiledPolicy::CategoryInfo& category) {
  CategoryVerdict v;
  // Step 2: required categories are always allowed, whatever else is known.
  if (category.def->required) {
    v.state = CategoryStateKind::kAlwaysOn;
    v.allowed = true;
    v.reason = Reason::kNecessary;
    return v;
  }
  // Step 3: the latest choice counts unless stale or expired. Re-consent is
  // checked first: a stale choice needs a new decision even once it expires.
  Reason no_valid_decision = Reason::kNoDecision;
  v.state = CategoryStateKind::kNotDecided;
  if (const CategoryChoice* choice = subject.Find(category.key)) {
    const absl::Time expires_at =
        choice->decided_at + DecisionTtl(ctx, *category.def, choice->granted);
    if (choice->policy_seq < category.reconsent_floor_seq) {
      no_valid_decision = Reason::kReconsentRequired;
      v.state = CategoryStateKind::kReconsentRequired;
    } else if (ctx.now >= expires_at) {
      no_valid_decision = Reason::kExpired;
      v.state = CategoryStateKind::kExpired;
    } else {
      v.state = choice->granted ? CategoryStateKind::kGranted
                                : CategoryStateKind::kDenied;
      v.allowed = choice->granted;
      v.reason = choice->granted ? Reason::kGranted : Reason::kDenied;
      v.choice = choice;
      v.expires_at = expires_at;
      return v;
    }
  }
  // Step 4: no decision counts; the regime answers.
  v.reason = no_valid_decision;
  switch (ctx.regime) {
    case Regime::kOptIn:
      v.allowed = false;
      break;
    case Regime::kOptOut:
      if (ctx.gpc && category.def->gpc_opt_out) {
        v.allowed = false;
        v.reason = Reason::kGpcOptOut;
      } else {
        v.allowed = true;
      }
      break;
  }
  return v;
}

int64_t MaxAgeSeconds(const Cookie& cookie, absl::Time now,
                      absl::Time decision_expires_at) {
  absl::Duration age;
  switch (cookie.lifetime) {
    case Lifetime::kSession:
    case Lifetime::kUnspecified:
      return 0;
    case Lifetime::kFixed:
      age = absl::Seconds(cookie.duration_seconds);
      break;
    case Lifetime::kPersistent:
    case Lifetime::kVaries:
      age = kMaxCookieAge;
      break;
  }
  age = std::min({age, kMaxCookieAge, decision_expires_at - now});
  return std::max<int64_t>(0, absl::ToInt64Seconds(age));
}

CookieVerdict EvaluateCookie(const EvaluationContext& ctx,
                             const SubjectState& subject,
                             absl::string_view cookie_name) {
  CookieVerdict v;
  // Step 1: unknown cookies are denied.
  v.cookie = ctx.policy->FindCookie(cookie_name);
  if (v.cookie == nullptr) {
    v.reason = Reason::kUnknownCookie;
    return v;
  }
  const CompiledPolicy::CategoryInfo& category =
      ctx.policy->categories()[v.cookie->category];
  const CategoryVerdict c = EvaluateCategory(ctx, subject, category);
  v.allowed = c.allowed;
  v.reason = c.reason;
  // Step 5: how long it may live.
  if (v.allowed) {
    v.max_age_seconds = MaxAgeSeconds(
        *v.cookie->def, ctx.now,
        c.choice != nullptr ? c.expires_at : absl::InfiniteFuture());
  }
  return v;
}

ConsentSummary Summarize(const EvaluationContext& ctx,
                         const SubjectState& subject) {
  ConsentSummary summary;
  summary.categories.reserve(ctx.policy->categories().size());
  for (const CompiledPolicy::CategoryInfo& category :
       ctx.policy->categories()) {
    CategoryVerdict v = EvaluateCategory(ctx, subject, category);
    if (!category.def->required) {
      if (v.choice == nullptr) {
        summary.banner_required = true;
      } else {
        summary.earliest_expiry =
            std::min(summary.earliest_expiry, v.expires_at);
      }
    }
    summary.categories.push_back(v);
  }
  return summary;
}

}  // namespace consentd

namespace consentd {

std::vector<std::pair<std::string, bool>> ConsentModeSignals(
    const CompiledPolicy& policy, const ConsentSummary& summary) {
  std::vector<std::pair<std::string, bool>> signals;
  for (const char* signal : kConsentModeSignals) {
    bool named = false, granted = true;
    for (size_t i = 0; i < policy.categories().size(); ++i) {
      const std::vector<std::string>& own =
          policy.categories()[i].def->consent_mode_signals;
      if (std::find(own.begin(), own.end(), signal) == own.end()) continue;
      named = true;
      granted = granted && summary.categories[i].allowed;
    }
    if (named) signals.emplace_back(signal, granted);
  }
  return signals;
}

}  // namespace consentd
