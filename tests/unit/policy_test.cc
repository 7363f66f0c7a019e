#include "core/policy.h"

#include <gtest/gtest.h>

#include "core/policy_catalog.h"
#include "tests/unit/test_policies.h"

namespace consentd {
namespace {

using testing::History;
using testing::SmallPolicy;

TEST(ValidatePolicy, AcceptsAWellFormedPolicy) {
  EXPECT_TRUE(ValidatePolicy(SmallPolicy()).ok());
}

TEST(ValidatePolicy, ReportsEveryProblemAtOnce) {
  Policy p = SmallPolicy();
  p.version = "bad version";
  p.categories.push_back(p.categories[1]);  // Duplicate id.
  p.cookies.push_back(p.cookies[0]);        // Duplicate pattern.
  p.cookies.push_back({"x", "ads", "", Lifetime::kSession, 0});  // Unknown.
  p.cookies.push_back(
      {"y", "marketing", "", Lifetime::kFixed, 0});  // No duration.
  p.cookies.push_back({"z", "marketing", "", Lifetime::kSession, 5});
  p.cookies.push_back({"w", "marketing", "", Lifetime::kUnspecified, 0});
  p.reconsent_categories = {"necessary", "nope"};
  const absl::Status s = ValidatePolicy(p);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* expected :
       {"version", "categories[4].id: duplicate category \"preferences\"",
        "cookies[8].name: duplicate cookie pattern \"refreshToken\"",
        "cookies[9].category: unknown category \"ads\"",
        "cookies[10].duration_seconds", "cookies[11].duration_seconds",
        "cookies[12].lifetime", "reconsent_categories[0]",
        "reconsent_categories[1]: unknown category \"nope\""}) {
    EXPECT_NE(s.message().find(expected), absl::string_view::npos)
        << expected << " not in: " << s.message();
  }
}

TEST(ValidatePolicy, RequiredCategoryCannotBeGpcOptOut) {
  Policy p = SmallPolicy();
  p.categories[0].gpc_opt_out = true;
  EXPECT_EQ(ValidatePolicy(p).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidatePolicy, ExactlyTheNecessaryCategoryIsRequired) {
  {
    Policy p = SmallPolicy();
    p.categories[3].required = true;  // marketing
    p.categories[3].gpc_opt_out = false;
    const absl::Status s = ValidatePolicy(p);
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("categories[3].required: only the "
                               "\"necessary\" category may be required"),
              absl::string_view::npos)
        << s.message();
  }
  {
    Policy p = SmallPolicy();
    p.categories[0].required = false;
    const absl::Status s = ValidatePolicy(p);
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("categories[0].required: the \"necessary\" "
                               "category must be required"),
              absl::string_view::npos)
        << s.message();
  }
  {
    Policy p = SmallPolicy();
    p.categories.erase(p.categories.begin());
    p.cookies.erase(p.cookies.begin(), p.cookies.begin() + 3);
    const absl::Status s = ValidatePolicy(p);
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("the required \"necessary\" category is "
                               "missing"),
              absl::string_view::npos)
        << s.message();
  }
}

TEST(ValidatePolicy, ConsentModeSignalsAndLifetimes) {
  Policy p = SmallPolicy();
  p.categories[3].consent_mode_signals = {"ad_storage", "ad_storage",
                                          "ads_storage"};
  p.categories[2].grant_ttl_seconds = -1;
  p.categories[0].refusal_ttl_seconds = 86400;       // necessary takes none
  p.categories[1].refusal_ttl_seconds = 86400 * 30;  // fine
  const absl::Status s = ValidatePolicy(p);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* expected :
       {"categories[3].consent_mode_signals[1]: duplicate \"ad_storage\"",
        "categories[3].consent_mode_signals[2]: \"ads_storage\" is not a "
        "Consent Mode v2 signal",
        "categories[2].grant_ttl_seconds: must be between 0 and",
        "categories[0].refusal_ttl_seconds: a required category takes no "
        "decisions"}) {
    EXPECT_NE(s.message().find(expected), absl::string_view::npos)
        << expected << " not in: " << s.message();
  }
  EXPECT_EQ(s.message().find("categories[1]"), absl::string_view::npos);
}

TEST(PolicyHistory, AsOfIsThePolicyCurrentThen) {
  std::vector<PublishedPolicy> published;
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  published.push_back({SmallPolicy("a"), 1, t0});
  published.push_back({SmallPolicy("b"), 2, t0 + absl::Hours(24)});
  auto history = *PolicyHistory::Build(std::move(published));
  EXPECT_EQ(history->AsOf(t0 - absl::Seconds(1)), nullptr);
  EXPECT_EQ(history->AsOf(t0)->version(), "a");
  EXPECT_EQ(history->AsOf(t0 + absl::Hours(23))->version(), "a");
  EXPECT_EQ(history->AsOf(t0 + absl::Hours(24))->version(), "b");
  EXPECT_EQ(history->AsOf(absl::InfiniteFuture())->version(), "b");
}

TEST(ValidatePolicy, NeedsCategories) {
  Policy p;
  p.version = "v";
  EXPECT_EQ(ValidatePolicy(p).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PolicyHistory, CurrentIsTheLatestPublished) {
  auto history = History({SmallPolicy("b"), SmallPolicy("a")});
  ASSERT_NE(history->current(), nullptr);
  EXPECT_EQ(history->current()->version(), "a");
  EXPECT_EQ(history->current()->seq(), 2);
  EXPECT_EQ(history->Find("b")->seq(), 1);
  EXPECT_EQ(history->FindBySeq(2)->version(), "a");
  EXPECT_EQ(history->Find("c"), nullptr);
  EXPECT_EQ(history->FindBySeq(3), nullptr);
}

TEST(PolicyHistory, EmptyHistoryHasNoCurrent) {
  EXPECT_EQ(History({})->current(), nullptr);
}

TEST(PolicyHistory, ReconsentFloorsComeFromTheLatestPolicyNamingTheCategory) {
  Policy second = SmallPolicy("2");
  second.reconsent_categories = {"marketing"};
  Policy third = SmallPolicy("3");  // Does not name marketing: no revival.
  auto history = History({SmallPolicy("1"), second, third});
  const CompiledPolicy* current = history->current();
  EXPECT_EQ(current->FindCategory("marketing")->reconsent_floor_seq, 2);
  EXPECT_EQ(current->FindCategory("statistics")->reconsent_floor_seq, 0);
  EXPECT_EQ(history->Find("1")->FindCategory("marketing")->reconsent_floor_seq,
            0);
}

TEST(PolicyHistory, CookiesPointAtTheirCategories) {
  auto history = History({SmallPolicy()});
  const CompiledPolicy* p = history->current();
  const CompiledPolicy::CookieInfo* c = p->FindCookie("ia_stats_events");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(p->categories()[c->category].def->id, "statistics");
  EXPECT_EQ(p->FindCookie("IA_STATS_EVENTS"), nullptr);
}

TEST(CategoryInterner, KeysAreStable) {
  CategoryInterner& interner = CategoryInterner::Global();
  const CategoryKey a = interner.Intern("interner_test_a");
  const CategoryKey b = interner.Intern("interner_test_b");
  EXPECT_NE(a, b);
  EXPECT_EQ(interner.Intern("interner_test_a"), a);
  EXPECT_EQ(interner.Name(b), "interner_test_b");
}

}  // namespace
}  // namespace consentd

namespace consentd {
namespace {

TEST(ValidatePolicy, CapsTheNumberOfProblemsReported) {
  Policy p = testing::SmallPolicy();
  for (int i = 0; i < 500; ++i) {
    p.cookies.push_back({"c" + std::to_string(i), std::string(1000, 'z'), "",
                         Lifetime::kSession, 0});
  }
  const absl::Status s = ValidatePolicy(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("and 480 more problem(s)"),
            absl::string_view::npos);
  EXPECT_LT(s.message().size(), 4000u);
}

}  // namespace
}  // namespace consentd
