#include "core/policy_review.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/test_policies.h"

namespace consentd {
namespace {

Category OptionalCategory(const char* id, const char* name) {
  Category c;
  c.id = id;
  c.display_name = name;
  return c;
}

using Strings = std::vector<std::string>;
using testing::SmallPolicy;

constexpr absl::Duration kYear = absl::Hours(24 * 365);

std::vector<std::string> Names(const std::vector<Cookie>& cookies) {
  std::vector<std::string> names;
  for (const Cookie& k : cookies) names.push_back(k.name);
  return names;
}

std::vector<std::string> Codes(const std::vector<LintFinding>& findings) {
  std::vector<std::string> codes;
  for (const LintFinding& f : findings) codes.push_back(f.code);
  return codes;
}

// SmallPolicy without the findings it has by design (a VARIES marketing
// cookie), so each test adds the one it is about.
Policy CleanPolicy(const std::string& version = "v1") {
  Policy p = SmallPolicy(version);
  p.cookies.erase(std::remove_if(p.cookies.begin(), p.cookies.end(),
                                 [](const Cookie& k) {
                                   return k.name == "ia_mkt_forever";
                                 }),
                  p.cookies.end());
  return p;
}

TEST(DiffPolicies, IdenticalPolicies_NoDifferences) {
  const Policy p = SmallPolicy();
  const PolicyDiff diff = DiffPolicies(&p, SmallPolicy("v2"));
  EXPECT_TRUE((diff.category_changes).empty());
  EXPECT_TRUE((diff.cookies_added).empty());
  EXPECT_TRUE((diff.cookies_removed).empty());
  EXPECT_TRUE((diff.categories_added).empty());
  EXPECT_TRUE((diff.categories_removed).empty());
}

TEST(DiffPolicies, ReportsCategoryChangesAdditionsAndRemovals) {
  const Policy current = SmallPolicy();
  Policy next = SmallPolicy("v2");
  for (Cookie& k : next.cookies) {
    if (k.name == "ia_stats_events") k.category = "marketing";
  }
  next.cookies.erase(next.cookies.begin() + 1);  // countryCode
  next.cookies.push_back({"_ga_*", "statistics", "", Lifetime::kFixed, 86400});
  next.categories.push_back(OptionalCategory("social", "Social"));
  next.cookies.push_back({"fb_like", "social", "", Lifetime::kSession, 0});
  next.categories.erase(next.categories.begin() + 1);  // preferences
  next.cookies.erase(next.cookies.begin() + 2);        // ia_pref_theme

  const PolicyDiff diff = DiffPolicies(&current, next);
  EXPECT_EQ(diff.category_changes,
            (std::vector<CategoryChange>{
                {"ia_stats_events", "statistics", "marketing"}}));
  EXPECT_EQ(Names(diff.cookies_added), (Strings{"_ga_*", "fb_like"}));
  EXPECT_EQ(Names(diff.cookies_removed),
            (Strings{"countryCode", "ia_pref_theme"}));
  EXPECT_EQ(diff.categories_added, (Strings{"social"}));
  EXPECT_EQ(diff.categories_removed, (Strings{"preferences"}));
}

TEST(DiffPolicies, CookiePatternsAreCaseSensitive) {
  const Policy current = SmallPolicy();
  Policy next = SmallPolicy("v2");
  next.cookies[0].name = "REFRESHTOKEN";
  const PolicyDiff diff = DiffPolicies(&current, next);
  EXPECT_EQ(Names(diff.cookies_added), (Strings{"REFRESHTOKEN"}));
  EXPECT_EQ(Names(diff.cookies_removed), (Strings{"refreshToken"}));
}

TEST(DiffPolicies, WithoutACurrentPolicy_EverythingIsAdded) {
  const Policy next = SmallPolicy();
  const PolicyDiff diff = DiffPolicies(nullptr, next);
  EXPECT_EQ(diff.cookies_added.size(), next.cookies.size());
  EXPECT_EQ(diff.categories_added.size(), next.categories.size());
  EXPECT_TRUE((diff.cookies_removed).empty());
  EXPECT_TRUE((diff.category_changes).empty());
}

TEST(LintPolicy, ACleanPolicyHasNoFindings) {
  const Policy p = CleanPolicy();
  EXPECT_TRUE((LintPolicy(p, DiffPolicies(&p, p), kYear)).empty());
}

TEST(LintPolicy, OptionalCookieWithVaryingLifetime) {
  const Policy p = SmallPolicy();  // ia_mkt_forever: marketing, VARIES.
  const std::vector<LintFinding> findings = LintPolicy(p, {}, kYear);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].code, kLintOptionalCookieLifetimeVaries);
  EXPECT_EQ(findings[0].cookie, "ia_mkt_forever");
  EXPECT_EQ(findings[0].category, "marketing");
  EXPECT_NE(findings[0].message.find("LIFETIME_VARIES"), std::string::npos);
}

TEST(LintPolicy, NecessaryCookiesMayVaryOrPersist) {
  Policy p = CleanPolicy();
  p.cookies.push_back({"token", "necessary", "", Lifetime::kVaries, 0});
  // currency (necessary, PERSISTENT) is in the policy already.
  EXPECT_TRUE((LintPolicy(p, {}, kYear)).empty());
}

TEST(LintPolicy, FixedCookieLongerThanTheConsentTtl) {
  Policy p = CleanPolicy();
  p.cookies.push_back(
      {"ia_pref_long", "preferences", "", Lifetime::kFixed, 366 * 86400});
  p.cookies.push_back(
      {"ia_pref_year", "preferences", "", Lifetime::kFixed, 365 * 86400});
  const std::vector<LintFinding> findings = LintPolicy(p, {}, kYear);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].code, kLintCookieOutlivesConsent);
  EXPECT_EQ(findings[0].cookie, "ia_pref_long");
  EXPECT_NE(findings[0].message.find("366 days"), std::string::npos)
      << findings[0].message;
  EXPECT_NE(findings[0].message.find("365 days"), std::string::npos)
      << findings[0].message;
  // With a shorter consent TTL, the 30-day cookies outlive it too.
  EXPECT_EQ(LintPolicy(p, {}, absl::Hours(24 * 7)).size(), 5u);
}

TEST(LintPolicy, PersistentOptionalCookieOutlivesConsent) {
  Policy p = CleanPolicy();
  p.cookies.push_back(
      {"ia_stats_id", "statistics", "", Lifetime::kPersistent, 0});
  const std::vector<LintFinding> findings = LintPolicy(p, {}, kYear);
  EXPECT_EQ(Codes(findings), (Strings{kLintPersistentCookieOutlivesConsent}));
  EXPECT_EQ(findings[0].cookie, "ia_stats_id");
}

TEST(LintPolicy, DurationOverTheBrowserCapInAnyCategory) {
  Policy p = CleanPolicy();
  p.cookies.push_back(
      {"remember", "necessary", "", Lifetime::kFixed, 401 * 86400});
  EXPECT_EQ(Codes(LintPolicy(p, {}, kYear)),
            (Strings{kLintCookieExceedsBrowserCap}));
  p.cookies.back().duration_seconds = 400 * 86400;
  EXPECT_TRUE((LintPolicy(p, {}, kYear)).empty());
}

TEST(LintPolicy, CookieMovedIntoACategoryWithoutReconsent) {
  const Policy current = CleanPolicy();
  Policy next = CleanPolicy("v2");
  for (Cookie& k : next.cookies) {
    if (k.name == "ia_stats_events") k.category = "marketing";
  }
  std::vector<LintFinding> findings =
      LintPolicy(next, DiffPolicies(&current, next), kYear);
  EXPECT_EQ(Codes(findings), (Strings{kLintCookieMovedWithoutReconsent}));
  EXPECT_EQ(findings[0].cookie, "ia_stats_events");
  EXPECT_EQ(findings[0].category, "marketing");

  next.reconsent_categories = {"marketing"};
  EXPECT_TRUE((LintPolicy(next, DiffPolicies(&current, next), kYear)).empty());
}

TEST(LintPolicy, MovingIntoTheNecessaryCategoryNeedsNoReconsent) {
  const Policy current = CleanPolicy();
  Policy next = CleanPolicy("v2");
  next.cookies[3].category = "necessary";  // ia_pref_theme
  next.cookies.push_back(
      {"ia_pref_x", "preferences", "", Lifetime::kSession, 0});
  EXPECT_TRUE((LintPolicy(next, DiffPolicies(&current, next), kYear)).empty());
}

TEST(LintPolicy, OptionalCategoryWithoutCookies) {
  Policy p = CleanPolicy();
  p.categories.push_back(OptionalCategory("social", "Social"));
  const std::vector<LintFinding> findings = LintPolicy(p, {}, kYear);
  EXPECT_EQ(Codes(findings), (Strings{kLintCategoryWithoutCookies}));
  EXPECT_EQ(findings[0].cookie, "");
  EXPECT_EQ(findings[0].category, "social");
}

TEST(ReconsentFloorSeq, TheLatestPolicyAskingForReconsent) {
  Policy v1 = SmallPolicy("v1");
  Policy v2 = SmallPolicy("v2");
  v2.reconsent_categories = {"marketing"};
  Policy v3 = SmallPolicy("v3");
  v3.categories.pop_back();  // No marketing: the floor stays.
  v3.cookies.erase(v3.cookies.end() - 2, v3.cookies.end());
  v3.reconsent_categories = {"statistics"};
  const auto history = testing::History({v1, v2, v3});
  EXPECT_EQ(ReconsentFloorSeq(*history, "marketing"), 2);
  EXPECT_EQ(ReconsentFloorSeq(*history, "statistics"), 3);
  EXPECT_EQ(ReconsentFloorSeq(*history, "preferences"), 0);
  EXPECT_EQ(ReconsentFloorSeq(*history, "social"), 0);
}

}  // namespace
}  // namespace consentd
