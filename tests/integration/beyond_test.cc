// What consent platforms do not offer yet, through the real server: answers
// as of a past time, Google Consent Mode signals, and separate lifetimes
// for grants and refusals.
#include <gtest/gtest.h>

#include "server/codec.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class BeyondTest : public IntegrationTest {
 protected:
  Reply<consent::v1::CheckCookieResponse> CheckAsOf(const std::string& subject,
                                                    const std::string& cookie,
                                                    absl::Time as_of,
                                                    int64_t min_version = 0) {
    consent::v1::CheckCookieRequest request;
    request.set_subject_id(subject);
    request.set_cookie_name(cookie);
    request.set_min_consent_version(min_version);
    SetTimestamp(as_of, request.mutable_as_of());
    Reply<consent::v1::CheckCookieResponse> reply;
    reply.status = server_->consent().CheckCookie(Context().get(), request,
                                                  &reply.response);
    return reply;
  }
  Reply<consent::v1::GetConsentResponse> GetAsOf(
      const std::string& subject, std::optional<absl::Time> as_of,
      const std::string& policy_version = "") {
    consent::v1::GetConsentRequest request;
    request.set_subject_id(subject);
    if (as_of) SetTimestamp(*as_of, request.mutable_as_of());
    request.set_policy_version(policy_version);
    Reply<consent::v1::GetConsentResponse> reply;
    reply.status = server_->consent().GetConsent(Context().get(), request,
                                                 &reply.response);
    return reply;
  }
  static const consent::v1::CategoryConsent* Category(
      const consent::v1::GetConsentResponse& r, const std::string& id) {
    for (const auto& c : r.categories()) {
      if (c.category() == id) return &c;
    }
    return nullptr;
  }
};

TEST_F(BeyondTest, AsOfAnswersWhatAppliedThen) {
  clock_.Advance(absl::Hours(1));  // The seed policy was published at start.
  const absl::Time t1 = clock_.Now();
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  clock_.Advance(absl::Hours(24 * 10));
  const absl::Time t2 = clock_.Now();
  ASSERT_TRUE(server_->Record("s", {{"marketing", false}}).status.ok());
  clock_.Advance(absl::Hours(24));

  auto then = CheckAsOf("s", "ia_mkt_source", t1 + absl::Seconds(1));
  ASSERT_TRUE(then.status.ok()) << then.status.error_message();
  EXPECT_TRUE(then.response.allowed());
  EXPECT_EQ(then.response.reason(), consent::v1::REASON_GRANTED);
  EXPECT_EQ(then.response.consent_version(), 1);
  // Its max age is counted from then.
  EXPECT_EQ(then.response.max_age_seconds(), 30 * 86400);

  auto later = CheckAsOf("s", "ia_mkt_source", t2 + absl::Seconds(1));
  ASSERT_TRUE(later.status.ok());
  EXPECT_FALSE(later.response.allowed());
  EXPECT_EQ(later.response.reason(), consent::v1::REASON_DENIED);
  EXPECT_EQ(later.response.consent_version(), 2);

  auto before = CheckAsOf("s", "ia_mkt_source", t1 - absl::Seconds(1));
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();
  EXPECT_FALSE(before.response.allowed());
  EXPECT_EQ(before.response.reason(), consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(before.response.consent_version(), 0);

  // GetConsent as of a time, too.
  auto state = GetAsOf("s", t1 + absl::Seconds(1));
  ASSERT_TRUE(state.status.ok()) << state.status.error_message();
  EXPECT_EQ(state.response.consent_version(), 1);
  EXPECT_EQ(Category(state.response, "marketing")->state(),
            consent::v1::STATE_GRANTED);
  EXPECT_EQ(state.response.consent_mode_signals().at("ad_storage"), true);

  // CheckCookies as of a time answers each cookie then.
  consent::v1::CheckCookiesRequest many;
  many.set_subject_id("s");
  many.add_cookie_names("ia_mkt_source");
  many.add_cookie_names("refreshToken");
  SetTimestamp(t1 + absl::Seconds(1), many.mutable_as_of());
  consent::v1::CheckCookiesResponse answers;
  ASSERT_TRUE(
      server_->consent().CheckCookies(Context().get(), many, &answers).ok());
  EXPECT_TRUE(answers.results(0).allowed());
  EXPECT_TRUE(answers.results(1).allowed());
}

TEST_F(BeyondTest, AsOfUsesThePolicyCurrentThen) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  const absl::Time before_new_policy = clock_.Now() + absl::Hours(1);
  clock_.Advance(absl::Hours(24));
  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-06-01");
  publish.mutable_policy()->add_reconsent_categories("marketing");
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(server_->policy()
                  .PublishPolicy(Context().get(), publish, &published)
                  .ok());
  clock_.Advance(absl::Hours(1));
  // Now: re-consent needed under 2026-06-01; then: granted under the seed.
  EXPECT_EQ(server_->Check("s", "ia_mkt_source").response.reason(),
            consent::v1::REASON_RECONSENT_REQUIRED);
  auto then = CheckAsOf("s", "ia_mkt_source", before_new_policy);
  ASSERT_TRUE(then.status.ok());
  EXPECT_EQ(then.response.reason(), consent::v1::REASON_GRANTED);
  EXPECT_EQ(then.response.policy_version(), "2026-01-12");

  // GetConsent under a policy other than the current one: what the subject
  // would see under it.
  auto under_seed = GetAsOf("s", std::nullopt, "2026-01-12");
  ASSERT_TRUE(under_seed.status.ok()) << under_seed.status.error_message();
  EXPECT_EQ(Category(under_seed.response, "marketing")->state(),
            consent::v1::STATE_GRANTED);
  EXPECT_EQ(under_seed.response.current_policy_version(), "2026-01-12");
  auto under_new = GetAsOf("s", std::nullopt, "2026-06-01");
  ASSERT_TRUE(under_new.status.ok());
  EXPECT_EQ(Category(under_new.response, "marketing")->state(),
            consent::v1::STATE_RECONSENT_REQUIRED);
  EXPECT_TRUE(under_new.response.banner_required());
  EXPECT_EQ(GetAsOf("s", std::nullopt, "1999-01-01").status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BeyondTest, AsOfIsValidated) {
  EXPECT_EQ(CheckAsOf("s", "ia_mkt_source", clock_.Now() + absl::Hours(1))
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // In the future.
  EXPECT_EQ(
      CheckAsOf("s", "ia_mkt_source", clock_.Now(), 1).status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);  // With min_consent_version.
  // Before any policy was published.
  auto ancient = CheckAsOf("s", "ia_mkt_source", absl::FromUnixSeconds(0));
  EXPECT_EQ(ancient.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  consent::v1::CheckCookieRequest bad;
  bad.set_subject_id("s");
  bad.set_cookie_name("ia_mkt_source");
  bad.mutable_as_of()->set_nanos(-1);
  consent::v1::CheckCookieResponse out;
  const grpc::Status s =
      server_->consent().CheckCookie(Context().get(), bad, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("as_of"), std::string::npos);
}

TEST_F(BeyondTest, ConsentModeSignalsComeWithGetConsent) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}, {"marketing", false}})
                  .status.ok());
  auto r = server_->Get("s");
  ASSERT_TRUE(r.status.ok());
  const auto& signals = r.response.consent_mode_signals();
  EXPECT_EQ(signals.size(), 7u);
  EXPECT_TRUE(signals.at("analytics_storage"));
  EXPECT_TRUE(signals.at("security_storage"));
  EXPECT_FALSE(signals.at("ad_storage"));
  EXPECT_FALSE(signals.at("ad_user_data"));
  EXPECT_FALSE(signals.at("ad_personalization"));
  EXPECT_FALSE(signals.at("functionality_storage"));  // Not decided: opt-in.
  EXPECT_FALSE(signals.at("personalization_storage"));
  // An opt-out region without a decision grants what the regime allows.
  auto fresh = server_->Get("new-visitor", "US-CA");
  ASSERT_TRUE(fresh.status.ok());
  EXPECT_TRUE(fresh.response.consent_mode_signals().at("ad_storage"));
}

TEST_F(BeyondTest, RefusalsAndGrantsCanLastDifferently) {
  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-03-01");
  for (auto& c : *publish.mutable_policy()->mutable_categories()) {
    if (c.id() == "marketing") c.set_refusal_ttl_seconds(30 * 86400);
    if (c.id() == "statistics") c.set_grant_ttl_seconds(180 * 86400);
  }
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(server_->policy()
                  .PublishPolicy(Context().get(), publish, &published)
                  .ok());
  consent::v1::RecordConsentRequest record;
  record.set_subject_id("s");
  record.set_policy_version("2026-03-01");
  (*record.mutable_choices())["marketing"] = false;
  (*record.mutable_choices())["statistics"] = true;
  record.set_source(consent::v1::SOURCE_BANNER);
  ASSERT_TRUE(server_->Record(record).status.ok());

  clock_.Advance(absl::Hours(24 * 29));
  EXPECT_EQ(server_->Check("s", "ia_mkt_source", "US-CA").response.reason(),
            consent::v1::REASON_DENIED);
  clock_.Advance(absl::Hours(24));
  // The refusal lapsed: ask again (opt-in denies, opt-out allows).
  auto optout = server_->Check("s", "ia_mkt_source", "US-CA");
  EXPECT_TRUE(optout.response.allowed());
  EXPECT_EQ(optout.response.reason(), consent::v1::REASON_EXPIRED);
  EXPECT_EQ(server_->Check("s", "ia_mkt_source", "DE").response.reason(),
            consent::v1::REASON_EXPIRED);
  EXPECT_TRUE(server_->Get("s").response.banner_required());
  // The grant still counts, until its own 180 days.
  auto stats = server_->Check("s", "ia_stats_events", "DE");
  EXPECT_TRUE(stats.response.allowed());
  clock_.Advance(absl::Hours(24 * 150));
  EXPECT_EQ(server_->Check("s", "ia_stats_events", "DE").response.reason(),
            consent::v1::REASON_EXPIRED);
}

}  // namespace
}  // namespace consentd::testing
