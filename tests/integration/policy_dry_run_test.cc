// PublishPolicy with validate_only (a dry run) through a real gRPC client and
// PostgreSQL: the report, and that nothing is published or audited.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class PolicyDryRunTest : public IntegrationTest {
 protected:
  Reply<consent::v1::PublishPolicyResponse> Publish(
      const consent::v1::Policy& policy, bool validate_only,
      const std::string& token = kAdminToken) {
    consent::v1::PublishPolicyRequest request;
    *request.mutable_policy() = policy;
    request.set_validate_only(validate_only);
    Reply<consent::v1::PublishPolicyResponse> reply;
    reply.status = server_->policy().PublishPolicy(Context(token).get(),
                                                   request, &reply.response);
    return reply;
  }
  Reply<consent::v1::PublishPolicyResponse> DryRun(
      const consent::v1::Policy& policy) {
    return Publish(policy, /*validate_only=*/true);
  }

  // The ListPolicies answer, serialized, to compare before and after.
  std::string ListedPolicies() {
    consent::v1::ListPoliciesResponse list;
    EXPECT_TRUE(server_->policy()
                    .ListPolicies(Context().get(),
                                  consent::v1::ListPoliciesRequest(), &list)
                    .ok());
    return list.SerializeAsString();
  }

  int64_t PolicyAuditEvents() {
    return db_.Count(
        "SELECT count(*) FROM audit_events WHERE action = 'policy_publish'");
  }

  void ExpectNothingPublished(const std::string& listed_before) {
    EXPECT_EQ(ListedPolicies(), listed_before);
    EXPECT_EQ(db_.Count("SELECT count(*) FROM policies"), 1);
    EXPECT_EQ(PolicyAuditEvents(), 1);  // The bootstrap's.
  }

  // The seed policy as 2026-03-01, ia_stats_events moved to marketing, and
  // marketing marked for re-consent.
  static consent::v1::Policy MovedToMarketing() {
    consent::v1::Policy next = SeedPolicy();
    next.set_version("2026-03-01");
    for (consent::v1::Cookie& k : *next.mutable_cookies()) {
      if (k.name() == "ia_stats_events") k.set_category("marketing");
    }
    next.add_reconsent_categories("marketing");
    return next;
  }

  void Record(
      const std::string& subject,
      std::initializer_list<std::pair<const std::string, bool>> choices) {
    auto r = server_->Record(subject, choices);
    ASSERT_TRUE(r.status.ok()) << subject << ": " << r.status.error_message();
  }
};

std::set<std::string> Codes(const consent::v1::PolicyChangeReport& report) {
  std::set<std::string> codes;
  for (const consent::v1::LintFinding& f : report.findings()) {
    codes.insert(f.code());
  }
  return codes;
}

TEST_F(
    PolicyDryRunTest,
    SeedWithAStatisticsCookieMovedToMarketing_ReportsTheCookieAndTheSubjects) {
  // Granted marketing, then 366 days pass: expired, would be asked anyway.
  Record("expired-1", {{"marketing", true}});
  clock_.Advance(absl::Hours(24 * 366));
  for (int i = 0; i < 5; ++i) {
    Record(absl::StrCat("granted-", i), {{"marketing", true}});
  }
  Record("granted-both", {{"marketing", true}, {"statistics", true}});
  Record("refused-1", {{"marketing", false}});
  Record("withdrew-1", {{"marketing", true}});
  Record("withdrew-1", {{"marketing", false}});  // Standing: refused.
  Record("stats-only-1", {{"statistics", true}});
  Record("stats-only-2", {{"statistics", false}, {"preferences", true}});
  const std::string listed = ListedPolicies();

  auto r = DryRun(MovedToMarketing());
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response.version(), "2026-03-01");
  EXPECT_TRUE(r.response.created());  // Publishing would create it.
  EXPECT_FALSE(r.response.has_published_at());
  ASSERT_TRUE(r.response.has_dry_run());
  const consent::v1::PolicyChangeReport& report = r.response.dry_run();
  EXPECT_EQ(report.current_version(), "2026-01-12");
  EXPECT_FALSE(report.already_published());
  ASSERT_EQ(report.category_changes_size(), 1);
  EXPECT_EQ(report.category_changes(0).cookie(), "ia_stats_events");
  EXPECT_EQ(report.category_changes(0).from_category(), "statistics");
  EXPECT_EQ(report.category_changes(0).to_category(), "marketing");
  EXPECT_EQ(report.cookies_added_size(), 0);
  EXPECT_EQ(report.cookies_removed_size(), 0);
  ASSERT_EQ(report.reconsent_categories_size(), 1);
  EXPECT_EQ(report.reconsent_categories(0), "marketing");
  // Six subjects with a marketing grant that counts, two with a refusal.
  ASSERT_EQ(report.reconsent_impact_size(), 1);
  EXPECT_EQ(report.reconsent_impact(0).category(), "marketing");
  EXPECT_EQ(report.reconsent_impact(0).subjects_granted(), 6);
  EXPECT_EQ(report.reconsent_impact(0).subjects_denied(), 2);
  EXPECT_EQ(report.subjects_to_reconsent(), 8);
  // The seed is clean, and the move comes with a re-consent.
  EXPECT_EQ(report.findings_size(), 0) << report.DebugString();

  ExpectNothingPublished(listed);
  EXPECT_EQ(server_->Check("granted-0", "ia_mkt_source").response.reason(),
            consent::v1::REASON_GRANTED);
  EXPECT_EQ(server_->Check("granted-0", "ia_stats_events").response.category(),
            "statistics");

  // Published for real, the report held: those eight are asked again.
  ASSERT_TRUE(Publish(MovedToMarketing(), false).status.ok());
  int asked = 0;
  for (const char* s : {"granted-0", "granted-1", "granted-2", "granted-3",
                        "granted-4", "granted-both", "refused-1", "withdrew-1",
                        "stats-only-1", "stats-only-2", "expired-1"}) {
    if (server_->Check(s, "ia_mkt_source").response.reason() ==
        consent::v1::REASON_RECONSENT_REQUIRED) {
      ++asked;
    }
  }
  EXPECT_EQ(asked, 9);  // The eight, and the expired one (stale as well).
}

TEST_F(PolicyDryRunTest, StatisticsAndMarketing_SubjectsCountedOnce) {
  Record("both", {{"marketing", true}, {"statistics", false}});
  Record("stats", {{"statistics", true}});
  Record("mkt", {{"marketing", false}});
  consent::v1::Policy next = MovedToMarketing();
  next.add_reconsent_categories("statistics");
  auto r = DryRun(next);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const consent::v1::PolicyChangeReport& report = r.response.dry_run();
  EXPECT_EQ(report.subjects_to_reconsent(), 3);
  ASSERT_EQ(report.reconsent_impact_size(), 2);
  EXPECT_EQ(report.reconsent_impact(0).category(), "marketing");
  EXPECT_EQ(report.reconsent_impact(0).subjects_granted(), 1);
  EXPECT_EQ(report.reconsent_impact(0).subjects_denied(), 1);
  EXPECT_EQ(report.reconsent_impact(1).category(), "statistics");
  EXPECT_EQ(report.reconsent_impact(1).subjects_granted(), 1);
  EXPECT_EQ(report.reconsent_impact(1).subjects_denied(), 1);
}

TEST_F(PolicyDryRunTest,
       DecisionsAlreadyStaleFromAnEarlierReconsentAreNotCounted) {
  Record("before", {{"marketing", true}});
  consent::v1::Policy v2 = MovedToMarketing();
  ASSERT_TRUE(Publish(v2, false).status.ok());
  consent::v1::RecordConsentRequest after;
  after.set_subject_id("after");
  after.set_policy_version("2026-03-01");
  (*after.mutable_choices())["marketing"] = true;
  after.set_source(consent::v1::SOURCE_BANNER);
  ASSERT_TRUE(server_->Record(after).status.ok());

  consent::v1::Policy v3 = v2;
  v3.set_version("2026-04-01");
  auto r = DryRun(v3);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response.dry_run().current_version(), "2026-03-01");
  EXPECT_EQ(r.response.dry_run().category_changes_size(), 0);
  EXPECT_EQ(r.response.dry_run().subjects_to_reconsent(), 1);  // "after".
}

TEST_F(PolicyDryRunTest, InvalidPolicy_InvalidArgumentWithEveryProblem) {
  const std::string listed = ListedPolicies();
  consent::v1::Policy bad = MovedToMarketing();
  bad.mutable_cookies(3)->set_category("ads");
  bad.add_reconsent_categories("nope");
  auto r = DryRun(bad);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find(
                "cookies[3].category: unknown category \"ads\""),
            std::string::npos)
      << r.status.error_message();
  EXPECT_NE(r.status.error_message().find(
                "reconsent_categories[1]: unknown category \"nope\""),
            std::string::npos)
      << r.status.error_message();
  // The same answer as a real publish.
  auto published = Publish(bad, false);
  EXPECT_EQ(published.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(published.status.error_message(), r.status.error_message());
  ExpectNothingPublished(listed);
}

TEST_F(PolicyDryRunTest, SameVersionOtherContent_AlreadyExists) {
  consent::v1::Policy changed = SeedPolicy();
  changed.mutable_cookies(0)->set_purpose("something else");
  auto r = DryRun(changed);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(r.status.error_message(),
            Publish(changed, false).status.error_message());
}

TEST_F(PolicyDryRunTest, TheIdenticalPolicy_ReportsANoOp) {
  Record("granted", {{"marketing", true}});
  const std::string listed = ListedPolicies();
  consent::v1::Policy seed = SeedPolicy();
  auto r = DryRun(seed);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_FALSE(r.response.created());
  EXPECT_TRUE(r.response.dry_run().already_published());
  EXPECT_EQ(r.response.dry_run().subjects_to_reconsent(), 0);
  ExpectNothingPublished(listed);
}

TEST_F(PolicyDryRunTest, LintFindings_NameTheCookieAndCategory) {
  consent::v1::Policy next = SeedPolicy();
  next.set_version("2026-05-01");
  auto add = [&](const std::string& name, const std::string& category,
                 consent::v1::CookieLifetime lifetime, int64_t seconds) {
    consent::v1::Cookie* k = next.add_cookies();
    k->set_name(name);
    k->set_category(category);
    k->set_purpose("test");
    k->set_lifetime(lifetime);
    k->set_duration_seconds(seconds);
  };
  add("ia_mkt_pixel", "marketing", consent::v1::LIFETIME_VARIES, 0);
  add("ia_stats_long", "statistics", consent::v1::LIFETIME_FIXED,
      2 * 365 * 86400);
  add("ia_pref_forever", "preferences", consent::v1::LIFETIME_PERSISTENT, 0);
  next.mutable_cookies(0)->set_category("preferences");  // token, no reconsent
  const std::string listed = ListedPolicies();

  auto r = DryRun(next);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const consent::v1::PolicyChangeReport& report = r.response.dry_run();
  EXPECT_EQ(
      Codes(report),
      (std::set<std::string>{
          "OPTIONAL_COOKIE_LIFETIME_VARIES", "COOKIE_OUTLIVES_CONSENT",
          "COOKIE_EXCEEDS_BROWSER_CAP", "PERSISTENT_COOKIE_OUTLIVES_CONSENT",
          "COOKIE_MOVED_WITHOUT_RECONSENT"}))
      << report.DebugString();
  for (const consent::v1::LintFinding& f : report.findings()) {
    if (f.code() == "OPTIONAL_COOKIE_LIFETIME_VARIES") {
      // token moved to preferences is VARIES too.
      EXPECT_TRUE(f.cookie() == "ia_mkt_pixel" || f.cookie() == "token")
          << f.cookie();
    }
    if (f.code() == "COOKIE_OUTLIVES_CONSENT") {
      EXPECT_EQ(f.cookie(), "ia_stats_long");
      EXPECT_EQ(f.category(), "statistics");
      EXPECT_NE(f.message().find("730 days"), std::string::npos) << f.message();
    }
    if (f.code() == "PERSISTENT_COOKIE_OUTLIVES_CONSENT") {
      EXPECT_EQ(f.cookie(), "ia_pref_forever");
    }
    if (f.code() == "COOKIE_MOVED_WITHOUT_RECONSENT") {
      EXPECT_EQ(f.cookie(), "token");
      EXPECT_EQ(f.category(), "preferences");
    }
  }
  EXPECT_EQ(report.cookies_added_size(), 3);
  EXPECT_EQ(report.cookies_added(0).name(), "ia_mkt_pixel");
  EXPECT_EQ(report.cookies_added(0).lifetime(), consent::v1::LIFETIME_VARIES);
  ExpectNothingPublished(listed);
}

TEST_F(PolicyDryRunTest, TheConsentTtlFlagDecidesWhatOutlivesConsent) {
  Config config = TestConfig(db_.url());
  config.consent_ttl = absl::Hours(24 * 14);
  server_.reset();
  TestServer server(config, &clock_);
  consent::v1::PublishPolicyRequest request;
  *request.mutable_policy() = SeedPolicy();
  request.mutable_policy()->set_version("2026-05-01");
  request.set_validate_only(true);
  consent::v1::PublishPolicyResponse response;
  ASSERT_TRUE(
      server.policy().PublishPolicy(Context().get(), request, &response).ok());
  // Every optional FIXED cookie of the seed over 14 days: 5 preferences,
  // 2 statistics, 5 marketing.
  int outlive = 0;
  for (const consent::v1::LintFinding& f : response.dry_run().findings()) {
    if (f.code() == "COOKIE_OUTLIVES_CONSENT") ++outlive;
  }
  EXPECT_EQ(outlive, 12) << response.dry_run().DebugString();
}

TEST_F(PolicyDryRunTest, NeedsTheAdminRole) {
  auto r = Publish(MovedToMarketing(), true, kAppToken);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace consentd::testing
