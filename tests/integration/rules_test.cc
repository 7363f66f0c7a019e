// The consent rules (regions, GPC, expiry, re-consent, cookie patterns)
// through a real server and PostgreSQL, with the values of the rules issue.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

using consent::v1::CheckCookieResponse;
constexpr absl::Duration kDay = absl::Hours(24);

class RulesTest : public IntegrationTest {
 protected:
  Reply<consent::v1::PublishPolicyResponse> Publish(
      const consent::v1::Policy& policy) {
    consent::v1::PublishPolicyRequest request;
    *request.mutable_policy() = policy;
    Reply<consent::v1::PublishPolicyResponse> reply;
    reply.status = server_->policy().PublishPolicy(Context().get(), request,
                                                   &reply.response);
    return reply;
  }
  void ExpectAnswer(const Reply<CheckCookieResponse>& r, bool allowed,
                    consent::v1::Reason reason) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.response.allowed(), allowed);
    EXPECT_EQ(r.response.reason(), reason)
        << consent::v1::Reason_Name(r.response.reason());
  }
};

TEST_F(RulesTest, RegimesAndGpcWithoutADecision) {
  ExpectAnswer(server_->Check("s", "ia_mkt_source", "DE"), false,
               consent::v1::REASON_NO_DECISION);
  ExpectAnswer(server_->Check("s", "ia_mkt_source", "US-CA"), true,
               consent::v1::REASON_NO_DECISION);
  ExpectAnswer(server_->Check("s", "ia_mkt_source", "US-CA", /*gpc=*/true),
               false, consent::v1::REASON_GPC_OPT_OUT);
  ExpectAnswer(server_->Check("s", "ia_stats_events", "US-CA", true), true,
               consent::v1::REASON_NO_DECISION);
  // The empty region behaves as an opt-in one.
  ExpectAnswer(server_->Check("s", "ia_mkt_source", ""), false,
               consent::v1::REASON_NO_DECISION);
  // An opt-out allow carries the cookie's own lifetime.
  EXPECT_EQ(
      server_->Check("s", "ia_mkt_source", "US-CA").response.max_age_seconds(),
      30 * 86400);
}

TEST_F(RulesTest, MalformedRegionsAreInvalidArgument) {
  for (const char* region : {"us-ca", "XYZ", "D", "DE-", "DE_BY"}) {
    auto r = server_->Check("s", "ia_mkt_source", region);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << region;
    EXPECT_NE(r.status.error_message().find("region"), std::string::npos);
    EXPECT_EQ(server_->Get("s", region).status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(RulesTest, AnExplicitGrantWinsOverGpc) {
  consent::v1::RecordConsentRequest request;
  request.set_subject_id("s");
  request.set_policy_version("2026-01-12");
  (*request.mutable_choices())["marketing"] = true;
  request.set_source(consent::v1::SOURCE_PREFERENCES_CENTER);
  request.set_region("US-CA");
  request.set_gpc(true);
  ASSERT_TRUE(server_->Record(request).status.ok());
  ExpectAnswer(server_->Check("s", "ia_mkt_source", "US-CA", true), true,
               consent::v1::REASON_GRANTED);
  // The decision keeps the GPC flag and region it was recorded with.
  EXPECT_EQ(db_.Query("SELECT gpc::text || ' ' || region || ' ' || source "
                      "FROM decisions WHERE subject_id = 's'"),
            "true US-CA preferences_center");
}

TEST_F(RulesTest, ExpiryCountsFromTheDecisionWhateverTheTimeZones) {
  // Neither the process's nor the database session's time zone matters.
  setenv("TZ", "America/Los_Angeles", 1);
  db_.Query("ALTER DATABASE " + db_.Query("SELECT current_database()") +
            " SET timezone TO 'Pacific/Kiritimati'");
  server_->Restart();
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
  const absl::Time t = Start();
  struct Step {
    absl::Duration after;
    bool allowed;
    int64_t max_age;
  };
  for (const Step& step :
       {Step{300 * kDay, true, 2592000}, Step{364 * kDay, true, 86400},
        Step{364 * kDay + absl::Hours(23), true, 3600},
        Step{365 * kDay, false, 0}}) {
    clock_.Set(t + step.after);
    // Read from the cache, and from PostgreSQL after a restart.
    for (int pass = 0; pass < 2; ++pass) {
      auto r = server_->Check("s", "ia_stats_events");
      ASSERT_TRUE(r.status.ok());
      EXPECT_EQ(r.response.allowed(), step.allowed) << step.after;
      EXPECT_EQ(r.response.max_age_seconds(), step.max_age) << step.after;
      EXPECT_EQ(r.response.reason(), step.allowed
                                         ? consent::v1::REASON_GRANTED
                                         : consent::v1::REASON_EXPIRED);
      if (pass == 0) server_->Restart();
    }
  }
  auto got = server_->Get("s");
  EXPECT_EQ(got.response.categories(2).state(), consent::v1::STATE_EXPIRED);
  EXPECT_TRUE(got.response.banner_required());
  unsetenv("TZ");
}

TEST_F(RulesTest, ReconsentMakesOnlyTheNamedCategoriesStale) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}, {"statistics", true}})
                  .status.ok());
  consent::v1::Policy next = SeedPolicy();
  next.set_version("2026-06-01");
  next.add_reconsent_categories("marketing");
  ASSERT_TRUE(Publish(next).status.ok());

  ExpectAnswer(server_->Check("s", "ia_mkt_source"), false,
               consent::v1::REASON_RECONSENT_REQUIRED);
  ExpectAnswer(server_->Check("s", "ia_stats_events"), true,
               consent::v1::REASON_GRANTED);
  auto got = server_->Get("s");
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.response.categories(3).state(),
            consent::v1::STATE_RECONSENT_REQUIRED);
  EXPECT_EQ(got.response.categories(2).state(), consent::v1::STATE_GRANTED);
  EXPECT_TRUE(got.response.banner_required());
  EXPECT_EQ(got.response.current_policy_version(), "2026-06-01");
  // In an opt-out region the regime answers, and says why.
  ExpectAnswer(server_->Check("s", "ia_mkt_source", "US-CA"), true,
               consent::v1::REASON_RECONSENT_REQUIRED);

  // A decision under the older policy does not clear it...
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  ExpectAnswer(server_->Check("s", "ia_mkt_source"), false,
               consent::v1::REASON_RECONSENT_REQUIRED);
  // ...a decision under the new one does.
  consent::v1::RecordConsentRequest request;
  request.set_subject_id("s");
  request.set_policy_version("2026-06-01");
  (*request.mutable_choices())["marketing"] = true;
  request.set_source(consent::v1::SOURCE_BANNER);
  ASSERT_TRUE(server_->Record(request).status.ok());
  ExpectAnswer(server_->Check("s", "ia_mkt_source"), true,
               consent::v1::REASON_GRANTED);

  // A later policy that does not name marketing does not revive old grants.
  next.set_version("2026-09-01");
  next.clear_reconsent_categories();
  ASSERT_TRUE(Publish(next).status.ok());
  ASSERT_TRUE(server_->Record("t", {{"marketing", true}}).status.ok());
  ExpectAnswer(server_->Check("t", "ia_mkt_source"), false,
               consent::v1::REASON_RECONSENT_REQUIRED);
}

TEST_F(RulesTest, CookiePatterns) {
  consent::v1::Policy policy = SeedPolicy();
  policy.set_version("2026-07-01");
  auto add = [&](const char* name, const char* category) {
    consent::v1::Cookie* c = policy.add_cookies();
    c->set_name(name);
    c->set_category(category);
    c->set_purpose("Google Analytics");
    c->set_lifetime(consent::v1::LIFETIME_FIXED);
    c->set_duration_seconds(400 * 86400);
  };
  add("_ga", "statistics");
  add("_ga_*", "statistics");
  add("_gac_*", "marketing");
  ASSERT_TRUE(Publish(policy).status.ok());

  consent::v1::RecordConsentRequest grant;
  grant.set_subject_id("s");
  grant.set_policy_version("2026-07-01");
  (*grant.mutable_choices())["statistics"] = true;
  grant.set_source(consent::v1::SOURCE_BANNER);
  ASSERT_TRUE(server_->Record(grant).status.ok());

  auto ga = server_->Check("s", "_ga_Q7W2E9R4T1");
  ExpectAnswer(ga, true, consent::v1::REASON_GRANTED);
  EXPECT_EQ(ga.response.category(), "statistics");
  EXPECT_EQ(ga.response.max_age_seconds(), 365 * 86400);
  ExpectAnswer(server_->Check("s", "_gac_UA-1"), false,
               consent::v1::REASON_NO_DECISION);
  ExpectAnswer(server_->Check("s", "_gaX"), false,
               consent::v1::REASON_UNKNOWN_COOKIE);
  ExpectAnswer(server_->Check("s", "_GA_Q7W2E9R4T1"), false,
               consent::v1::REASON_UNKNOWN_COOKIE);

  // Withdrawing statistics: denied on the very next check.
  (*grant.mutable_choices())["statistics"] = false;
  ASSERT_TRUE(server_->Record(grant).status.ok());
  ExpectAnswer(server_->Check("s", "_ga_Q7W2E9R4T1"), false,
               consent::v1::REASON_DENIED);
}

TEST_F(RulesTest, PublishRejectsDuplicatePatterns) {
  consent::v1::Policy policy = SeedPolicy();
  policy.set_version("2026-08-01");
  *policy.add_cookies() = policy.cookies(0);
  auto r = Publish(policy);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("duplicate cookie pattern"),
            std::string::npos);
}

TEST_F(RulesTest, ConsentTtlIsConfigurable) {
  Config config = TestConfig(db_.url());
  config.consent_ttl = absl::Hours(24 * 30);
  server_ = std::make_unique<TestServer>(config, &clock_);
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
  // ia_stats_returning lives 90 days; the 30-day consent bounds it.
  EXPECT_EQ(
      server_->Check("s", "ia_stats_returning").response.max_age_seconds(),
      30 * 86400);
  clock_.Advance(absl::Hours(24 * 30));
  ExpectAnswer(server_->Check("s", "ia_stats_returning"), false,
               consent::v1::REASON_EXPIRED);
}

}  // namespace
}  // namespace consentd::testing
