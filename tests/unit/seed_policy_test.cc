// The shipped seed policy (config/policies/2026-01-12.json) against the
// cookie policy text it translates (../shared/seed): every cookie in the
// right category with the right lifetime, and the answers that follow.
#include <gtest/gtest.h>

#include "core/evaluation.h"
#include "server/codec.h"

namespace consentd {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kCap = 400 * kDay;

struct SeedCookie {
  const char* name;
  const char* category;
  Lifetime lifetime;
  int64_t duration_seconds;
  // max_age when allowed right after a grant of every optional category.
  int64_t max_age;
};

const SeedCookie kSeed[] = {
    {"token", "necessary", Lifetime::kVaries, 0, kCap},
    {"refreshToken", "necessary", Lifetime::kFixed, 7 * kDay, 7 * kDay},
    {"cachedSessionV1", "necessary", Lifetime::kVaries, 0, kCap},
    {"impersonateUserToken", "necessary", Lifetime::kSession, 0, 0},
    {"countryCode", "necessary", Lifetime::kSession, 0, 0},
    {"currency", "necessary", Lifetime::kPersistent, 0, kCap},
    {"fair_usage_tracker", "necessary", Lifetime::kVaries, 0, kCap},
    {"folder_sidebar", "necessary", Lifetime::kPersistent, 0, kCap},
    {"refundNotificationExpiresAt", "necessary", Lifetime::kFixed, 3600, 3600},
    {"ia_pref_theme", "preferences", Lifetime::kFixed, 180 * kDay, 180 * kDay},
    {"ia_pref_language", "preferences", Lifetime::kFixed, 180 * kDay,
     180 * kDay},
    {"ia_pref_layout", "preferences", Lifetime::kFixed, 90 * kDay, 90 * kDay},
    {"ia_pref_dismissals", "preferences", Lifetime::kFixed, 30 * kDay,
     30 * kDay},
    {"ia_pref_defaults", "preferences", Lifetime::kFixed, 180 * kDay,
     180 * kDay},
    {"ia_stats_session", "statistics", Lifetime::kSession, 0, 0},
    {"ia_stats_pageviews", "statistics", Lifetime::kFixed, kDay, kDay},
    {"ia_stats_events", "statistics", Lifetime::kFixed, 30 * kDay, 30 * kDay},
    {"ia_stats_perf", "statistics", Lifetime::kFixed, 7 * kDay, 7 * kDay},
    {"ia_stats_returning", "statistics", Lifetime::kFixed, 90 * kDay,
     90 * kDay},
    {"ia_mkt_source", "marketing", Lifetime::kFixed, 30 * kDay, 30 * kDay},
    {"ia_mkt_campaign", "marketing", Lifetime::kFixed, 30 * kDay, 30 * kDay},
    {"ia_mkt_conversion", "marketing", Lifetime::kFixed, 90 * kDay, 90 * kDay},
    {"ia_mkt_retention", "marketing", Lifetime::kFixed, 90 * kDay, 90 * kDay},
    {"ia_mkt_experiments", "marketing", Lifetime::kFixed, 30 * kDay, 30 * kDay},
};

class SeedPolicyTest : public ::testing::TestWithParam<SeedCookie> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<consent::v1::Policy> proto =
        ReadPolicyFile(CONSENTD_SOURCE_DIR "/config/policies/2026-01-12.json");
    ASSERT_TRUE(proto.ok()) << proto.status();
    policy_ = new Policy(PolicyFromProto(*proto));
    std::vector<PublishedPolicy> published = {
        {*policy_, 1, absl::FromUnixSeconds(0)}};
    history_ = new std::shared_ptr<const PolicyHistory>(
        *PolicyHistory::Build(std::move(published)));
  }
  static const CompiledPolicy& Current() { return *(*history_)->current(); }

  static Policy* policy_;
  static std::shared_ptr<const PolicyHistory>* history_;
};
Policy* SeedPolicyTest::policy_ = nullptr;
std::shared_ptr<const PolicyHistory>* SeedPolicyTest::history_ = nullptr;

TEST_F(SeedPolicyTest, IsValidWithFourCategoriesAnd24Cookies) {
  EXPECT_TRUE(ValidatePolicy(*policy_).ok());
  EXPECT_EQ(policy_->version, "2026-01-12");
  ASSERT_EQ(policy_->categories.size(), 4u);
  EXPECT_EQ(policy_->cookies.size(), std::size(kSeed));
  EXPECT_TRUE(policy_->categories[0].required);
  for (const Category& c : policy_->categories) {
    EXPECT_EQ(c.required, c.id == "necessary") << c.id;
    EXPECT_EQ(c.gpc_opt_out, c.id == "marketing") << c.id;
  }
}

TEST_P(SeedPolicyTest, CookieHasCategoryLifetimeAndMaxAge) {
  const SeedCookie& want = GetParam();
  const CompiledPolicy::CookieInfo* cookie = Current().FindCookie(want.name);
  ASSERT_NE(cookie, nullptr) << want.name;
  EXPECT_EQ(cookie->def->category, want.category);
  EXPECT_EQ(cookie->def->lifetime, want.lifetime);
  EXPECT_EQ(cookie->def->duration_seconds, want.duration_seconds);
  EXPECT_FALSE(cookie->def->purpose.empty());

  const absl::Time now = absl::FromUnixSeconds(1767225600);
  const EvaluationContext ctx{&Current(), Regime::kOptIn, false, now,
                              absl::Hours(24 * 365)};
  SubjectState granted_all;
  granted_all.consent_version = 1;
  for (const char* c : {"preferences", "statistics", "marketing"}) {
    granted_all.choices.push_back(
        CategoryChoice{CategoryInterner::Global().Intern(c), true, 1, now});
  }
  const CookieVerdict allowed = EvaluateCookie(ctx, granted_all, want.name);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.max_age_seconds, want.max_age);
  const bool necessary = std::string(want.category) == "necessary";
  EXPECT_EQ(allowed.reason, necessary ? Reason::kNecessary : Reason::kGranted);

  const CookieVerdict fresh = EvaluateCookie(ctx, SubjectState(), want.name);
  EXPECT_EQ(fresh.allowed, necessary);
  EXPECT_EQ(fresh.reason, necessary ? Reason::kNecessary : Reason::kNoDecision);
  EXPECT_EQ(fresh.max_age_seconds, necessary ? want.max_age : 0);
}

INSTANTIATE_TEST_SUITE_P(AllSeedCookies, SeedPolicyTest,
                         ::testing::ValuesIn(kSeed),
                         [](const ::testing::TestParamInfo<SeedCookie>& param) {
                           return std::string(param.param.name);
                         });

TEST(PolicyJson, RejectsUnknownFieldsAndNamesTheFile) {
  absl::StatusOr<consent::v1::Policy> p =
      ParsePolicyJson(R"({"version": "x", "colour": "red"})", "my.json");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("my.json"), absl::string_view::npos);
}

TEST(PolicyJson, CanonicalBytesAreStable) {
  absl::StatusOr<consent::v1::Policy> a = ParsePolicyJson(
      R"({"version": "v", "categories": [{"id": "a", "required": true}]})",
      "a");
  absl::StatusOr<consent::v1::Policy> b = ParsePolicyJson(
      R"({"categories": [{"required": true, "id": "a"}], "version": "v"})",
      "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(CanonicalPolicyBytes(*a), CanonicalPolicyBytes(*b));
  b->mutable_categories(0)->set_display_name("A");
  EXPECT_NE(CanonicalPolicyBytes(*a), CanonicalPolicyBytes(*b));
}

}  // namespace
}  // namespace consentd
