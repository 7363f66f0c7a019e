#include "core/evaluation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "tests/unit/test_policies.h"

namespace consentd {
namespace {

using testing::History;
using testing::SmallPolicy;

constexpr absl::Duration kDay = absl::Hours(24);
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01Z

class EvaluationTest : public ::testing::Test {
 protected:
  EvaluationTest() : history_(History({SmallPolicy()})) {}

  EvaluationContext Ctx(absl::Time now = kT0, Regime regime = Regime::kOptIn,
                        bool gpc = false) {
    return EvaluationContext{history_->current(), regime, gpc, now, 365 * kDay};
  }
  CategoryChoice Choice(const std::string& category, bool granted,
                        absl::Time at = kT0) {
    return CategoryChoice{CategoryInterner::Global().Intern(category), granted,
                          history_->current()->seq(), at};
  }
  SubjectState Subject(std::initializer_list<CategoryChoice> choices) {
    SubjectState s;
    s.consent_version = 1;
    s.latest_policy_seq = history_->current()->seq();
    s.latest_decided_at = kT0;
    s.choices.assign(choices.begin(), choices.end());
    return s;
  }

  std::shared_ptr<const PolicyHistory> history_;
};

TEST_F(EvaluationTest, UnknownCookieIsDenied) {
  const CookieVerdict v = EvaluateCookie(Ctx(), SubjectState(), "nope");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, Reason::kUnknownCookie);
  EXPECT_EQ(v.cookie, nullptr);
  EXPECT_EQ(v.max_age_seconds, 0);
}

TEST_F(EvaluationTest, NecessaryIsAlwaysAllowed) {
  // Whatever the subject, region or GPC.
  for (Regime regime : {Regime::kOptIn, Regime::kOptOut}) {
    for (bool gpc : {false, true}) {
      const CookieVerdict v =
          EvaluateCookie(Ctx(kT0, regime, gpc),
                         Subject({Choice("marketing", false)}), "refreshToken");
      EXPECT_TRUE(v.allowed);
      EXPECT_EQ(v.reason, Reason::kNecessary);
      EXPECT_EQ(v.max_age_seconds, 7 * 86400);
    }
  }
}

TEST_F(EvaluationTest, NoDecisionInOptInIsDenied) {
  const CookieVerdict v =
      EvaluateCookie(Ctx(), SubjectState(), "ia_stats_events");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, Reason::kNoDecision);
  EXPECT_EQ(v.max_age_seconds, 0);
}

TEST_F(EvaluationTest, GrantedAndDenied) {
  const SubjectState s =
      Subject({Choice("statistics", true), Choice("marketing", false)});
  const CookieVerdict granted = EvaluateCookie(Ctx(), s, "ia_stats_events");
  EXPECT_TRUE(granted.allowed);
  EXPECT_EQ(granted.reason, Reason::kGranted);
  EXPECT_EQ(granted.max_age_seconds, 30 * 86400);
  const CookieVerdict denied = EvaluateCookie(Ctx(), s, "ia_mkt_source");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, Reason::kDenied);
  EXPECT_EQ(denied.max_age_seconds, 0);
  // A category the subject did not name keeps "no decision".
  EXPECT_EQ(EvaluateCookie(Ctx(), s, "ia_pref_theme").reason,
            Reason::kNoDecision);
}

TEST_F(EvaluationTest, SessionCookieHasMaxAgeZeroWhenAllowed) {
  const CookieVerdict v = EvaluateCookie(
      Ctx(), Subject({Choice("statistics", true)}), "ia_stats_session");
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.max_age_seconds, 0);
  EXPECT_EQ(v.cookie->def->lifetime, Lifetime::kSession);
}

TEST_F(EvaluationTest, MaxAgeIsCappedAt400DaysAndAtTheDecisionsExpiry) {
  // PERSISTENT necessary cookie: the browsers' cap.
  EXPECT_EQ(EvaluateCookie(Ctx(), SubjectState(), "currency").max_age_seconds,
            400 * 86400);
  // VARIES marketing cookie granted now: bounded by the 365-day expiry.
  EXPECT_EQ(EvaluateCookie(Ctx(), Subject({Choice("marketing", true)}),
                           "ia_mkt_forever")
                .max_age_seconds,
            365 * 86400);
}

TEST_F(EvaluationTest, MaxAgeNeverPassesTheDecisionsExpiry) {
  const SubjectState s = Subject({Choice("statistics", true)});
  EXPECT_EQ(EvaluateCookie(Ctx(kT0 + 300 * kDay), s, "ia_stats_events")
                .max_age_seconds,
            2592000);
  EXPECT_EQ(EvaluateCookie(Ctx(kT0 + 364 * kDay), s, "ia_stats_events")
                .max_age_seconds,
            86400);
  EXPECT_EQ(EvaluateCookie(Ctx(kT0 + 364 * kDay + absl::Hours(23)), s,
                           "ia_stats_events")
                .max_age_seconds,
            3600);
  const CookieVerdict expired =
      EvaluateCookie(Ctx(kT0 + 365 * kDay), s, "ia_stats_events");
  EXPECT_FALSE(expired.allowed);
  EXPECT_EQ(expired.reason, Reason::kExpired);
}

TEST_F(EvaluationTest, ExpiryDoesNotDependOnTheProcessTimeZone) {
  const SubjectState s = Subject({Choice("statistics", true)});
  const char* old = std::getenv("TZ");
  const std::string saved = old == nullptr ? "" : old;
  for (const char* tz :
       {"UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kathmandu"}) {
    setenv("TZ", tz, 1);
    tzset();
    EXPECT_EQ(EvaluateCookie(Ctx(kT0 + 364 * kDay + absl::Hours(23)), s,
                             "ia_stats_events")
                  .max_age_seconds,
              3600)
        << tz;
    EXPECT_EQ(
        EvaluateCookie(Ctx(kT0 + 365 * kDay), s, "ia_stats_events").reason,
        Reason::kExpired)
        << tz;
  }
  if (old == nullptr) {
    unsetenv("TZ");
  } else {
    setenv("TZ", saved.c_str(), 1);
  }
  tzset();
}

TEST_F(EvaluationTest, OneSecondBeforeExpiryStillCounts) {
  const SubjectState s = Subject({Choice("marketing", false)});
  const absl::Time last = kT0 + 365 * kDay - absl::Seconds(1);
  EXPECT_EQ(
      EvaluateCookie(Ctx(last, Regime::kOptOut), s, "ia_mkt_source").reason,
      Reason::kDenied);
  EXPECT_EQ(EvaluateCookie(Ctx(last + absl::Seconds(1), Regime::kOptOut), s,
                           "ia_mkt_source")
                .reason,
            Reason::kExpired);
}

TEST_F(EvaluationTest, OptOutRegionAllowsUntilRefused) {
  const CookieVerdict v = EvaluateCookie(Ctx(kT0, Regime::kOptOut),
                                         SubjectState(), "ia_mkt_source");
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.reason, Reason::kNoDecision);
  EXPECT_EQ(v.max_age_seconds, 30 * 86400);
  const CookieVerdict refused =
      EvaluateCookie(Ctx(kT0, Regime::kOptOut),
                     Subject({Choice("marketing", false)}), "ia_mkt_source");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reason, Reason::kDenied);
}

TEST_F(EvaluationTest, GpcRefusesOnlyGpcOptOutCategoriesWithoutDecision) {
  const EvaluationContext ctx = Ctx(kT0, Regime::kOptOut, /*gpc=*/true);
  const CookieVerdict mkt =
      EvaluateCookie(ctx, SubjectState(), "ia_mkt_source");
  EXPECT_FALSE(mkt.allowed);
  EXPECT_EQ(mkt.reason, Reason::kGpcOptOut);
  const CookieVerdict stats =
      EvaluateCookie(ctx, SubjectState(), "ia_stats_events");
  EXPECT_TRUE(stats.allowed);
  EXPECT_EQ(stats.reason, Reason::kNoDecision);
  // An explicit grant wins over GPC.
  const CookieVerdict granted = EvaluateCookie(
      ctx, Subject({Choice("marketing", true)}), "ia_mkt_source");
  EXPECT_TRUE(granted.allowed);
  EXPECT_EQ(granted.reason, Reason::kGranted);
  // GPC means nothing in an opt-in region: no decision is already denied.
  EXPECT_EQ(EvaluateCookie(Ctx(kT0, Regime::kOptIn, true), SubjectState(),
                           "ia_mkt_source")
                .reason,
            Reason::kNoDecision);
}

TEST_F(EvaluationTest, ExpiredDecisionInOptOutFallsBackToRegime) {
  const CookieVerdict v =
      EvaluateCookie(Ctx(kT0 + 400 * kDay, Regime::kOptOut),
                     Subject({Choice("statistics", false)}), "ia_stats_events");
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.reason, Reason::kExpired);
}

TEST(EvaluationReconsent, StaleCategoryNeedsNewDecision) {
  Policy second = SmallPolicy("2026-06-01");
  second.reconsent_categories = {"marketing"};
  auto history = History({SmallPolicy("2026-01-12"), second});
  const EvaluationContext ctx{history->current(), Regime::kOptIn, false, kT0,
                              365 * kDay};
  CategoryInterner& in = CategoryInterner::Global();
  SubjectState s;
  s.consent_version = 1;
  s.choices = {{in.Intern("marketing"), true, 1, kT0},
               {in.Intern("statistics"), true, 1, kT0}};
  const CookieVerdict mkt = EvaluateCookie(ctx, s, "ia_mkt_source");
  EXPECT_FALSE(mkt.allowed);
  EXPECT_EQ(mkt.reason, Reason::kReconsentRequired);
  EXPECT_EQ(EvaluateCookie(ctx, s, "ia_stats_events").reason, Reason::kGranted);
  // A new decision under the new policy clears it.
  s.choices[0].policy_seq = 2;
  EXPECT_EQ(EvaluateCookie(ctx, s, "ia_mkt_source").reason, Reason::kGranted);
}

TEST(EvaluationGlobs, GoogleAnalyticsPatterns) {
  Policy p = SmallPolicy("globs");
  p.cookies = {{"_ga", "statistics", "", Lifetime::kFixed, 400 * 86400},
               {"_ga_*", "statistics", "", Lifetime::kFixed, 400 * 86400},
               {"_gac_*", "marketing", "", Lifetime::kFixed, 90 * 86400}};
  auto history = History({p});
  const EvaluationContext ctx{history->current(), Regime::kOptIn, false, kT0,
                              365 * kDay};
  SubjectState s;
  s.consent_version = 1;
  s.choices = {{CategoryInterner::Global().Intern("statistics"), true, 1, kT0}};
  const CookieVerdict ga = EvaluateCookie(ctx, s, "_ga_Q7W2E9R4T1");
  EXPECT_TRUE(ga.allowed);
  EXPECT_EQ(ga.cookie->def->name, "_ga_*");
  EXPECT_EQ(ga.max_age_seconds, 365 * 86400);  // Capped by the decision.
  const CookieVerdict gac = EvaluateCookie(ctx, s, "_gac_UA-1");
  EXPECT_FALSE(gac.allowed);
  EXPECT_EQ(gac.cookie->def->category, "marketing");
  EXPECT_EQ(EvaluateCookie(ctx, s, "_gaX").reason, Reason::kUnknownCookie);
  EXPECT_EQ(EvaluateCookie(ctx, s, "_ga").cookie->def->name, "_ga");
  s.choices[0].granted = false;
  EXPECT_EQ(EvaluateCookie(ctx, s, "_ga_Q7W2E9R4T1").reason, Reason::kDenied);
}

TEST_F(EvaluationTest, SummaryReportsStatesAndBanner) {
  const SubjectState s =
      Subject({Choice("statistics", true), Choice("marketing", false),
               Choice("preferences", true, kT0 - 400 * kDay)});
  const ConsentSummary summary = Summarize(Ctx(), s);
  ASSERT_EQ(summary.categories.size(), 4u);
  EXPECT_EQ(summary.categories[0].state, CategoryStateKind::kAlwaysOn);
  EXPECT_EQ(summary.categories[1].state, CategoryStateKind::kExpired);
  EXPECT_EQ(summary.categories[2].state, CategoryStateKind::kGranted);
  EXPECT_EQ(summary.categories[3].state, CategoryStateKind::kDenied);
  EXPECT_TRUE(summary.banner_required);  // preferences expired.
  EXPECT_EQ(summary.earliest_expiry, kT0 + 365 * kDay);

  const ConsentSummary fresh = Summarize(Ctx(), SubjectState());
  EXPECT_TRUE(fresh.banner_required);
  EXPECT_EQ(fresh.categories[2].state, CategoryStateKind::kNotDecided);
  EXPECT_EQ(fresh.earliest_expiry, absl::InfiniteFuture());

  const ConsentSummary all = Summarize(
      Ctx(), Subject({Choice("statistics", true), Choice("marketing", false),
                      Choice("preferences", false)}));
  EXPECT_FALSE(all.banner_required);
}

TEST(EvaluationLifetimes, GrantsAndRefusalsMayCountForDifferentTimes) {
  Policy p = SmallPolicy();
  p.categories[3].refusal_ttl_seconds = 30 * 86400;  // marketing
  p.categories[2].grant_ttl_seconds = 90 * 86400;    // statistics
  auto history = History({p});
  const CompiledPolicy* policy = history->current();
  auto ctx = [&](absl::Time now, Regime regime) {
    return EvaluationContext{policy, regime, false, now, 365 * kDay};
  };
  CategoryInterner& interner = CategoryInterner::Global();
  SubjectState s;
  s.consent_version = 1;
  s.latest_policy_seq = policy->seq();
  s.latest_decided_at = kT0;
  s.choices = {
      CategoryChoice{interner.Intern("marketing"), false, policy->seq(), kT0},
      CategoryChoice{interner.Intern("statistics"), true, policy->seq(), kT0},
      CategoryChoice{interner.Intern("preferences"), false, policy->seq(),
                     kT0}};
  // A refusal of marketing counts 30 days: then the regime answers again.
  EXPECT_EQ(
      EvaluateCookie(ctx(kT0 + 29 * kDay, Regime::kOptOut), s, "ia_mkt_source")
          .reason,
      Reason::kDenied);
  const CookieVerdict after =
      EvaluateCookie(ctx(kT0 + 30 * kDay, Regime::kOptOut), s, "ia_mkt_source");
  EXPECT_TRUE(after.allowed);
  EXPECT_EQ(after.reason, Reason::kExpired);
  EXPECT_EQ(
      EvaluateCookie(ctx(kT0 + 30 * kDay, Regime::kOptIn), s, "ia_mkt_source")
          .reason,
      Reason::kExpired);
  // A grant of statistics counts 90 days, and bounds the cookie's max age.
  const CookieVerdict stats = EvaluateCookie(
      ctx(kT0 + 89 * kDay, Regime::kOptIn), s, "ia_stats_events");
  EXPECT_TRUE(stats.allowed);
  EXPECT_EQ(stats.max_age_seconds, 86400);
  EXPECT_EQ(
      EvaluateCookie(ctx(kT0 + 90 * kDay, Regime::kOptIn), s, "ia_stats_events")
          .reason,
      Reason::kExpired);
  // A category without its own lifetimes keeps the server's.
  EXPECT_EQ(
      EvaluateCookie(ctx(kT0 + 364 * kDay, Regime::kOptIn), s, "ia_pref_theme")
          .reason,
      Reason::kDenied);
  EXPECT_EQ(DecisionTtl(ctx(kT0, Regime::kOptIn), p.categories[1], true),
            365 * kDay);
}

TEST(EvaluationConsentMode, SignalsFollowTheirCategories) {
  Policy p = SmallPolicy();
  p.categories[0].consent_mode_signals = {"security_storage"};
  p.categories[2].consent_mode_signals = {"analytics_storage"};
  p.categories[3].consent_mode_signals = {"ad_storage", "ad_user_data"};
  // A signal named by two categories needs both.
  p.categories[1].consent_mode_signals = {"ad_user_data",
                                          "functionality_storage"};
  auto history = History({p});
  const CompiledPolicy* policy = history->current();
  const EvaluationContext ctx{policy, Regime::kOptIn, false, kT0, 365 * kDay};
  CategoryInterner& interner = CategoryInterner::Global();
  SubjectState s;
  s.consent_version = 1;
  s.latest_policy_seq = policy->seq();
  s.latest_decided_at = kT0;
  s.choices = {
      CategoryChoice{interner.Intern("statistics"), true, policy->seq(), kT0},
      CategoryChoice{interner.Intern("marketing"), true, policy->seq(), kT0}};
  const std::vector<std::pair<std::string, bool>> signals =
      ConsentModeSignals(*policy, Summarize(ctx, s));
  const std::vector<std::pair<std::string, bool>> expected = {
      {"ad_storage", true},
      {"ad_user_data", false},  // preferences is not granted.
      {"analytics_storage", true},
      {"functionality_storage", false},
      {"security_storage", true}};
  EXPECT_EQ(signals, expected);
  // A policy that names no signal reports none.
  auto plain = History({SmallPolicy()});
  EXPECT_TRUE(ConsentModeSignals(
                  *plain->current(),
                  Summarize(EvaluationContext{plain->current(), Regime::kOptIn,
                                              false, kT0, 365 * kDay},
                            s))
                  .empty());
}

}  // namespace
}  // namespace consentd
