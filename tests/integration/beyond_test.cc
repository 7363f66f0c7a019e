// What consent platforms do not offer yet, through the real server: answers
// as of a past time, Google Consent Mode signals, and separate lifetimes
// for grants and refusals.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "consent/v1/audit.grpc.pb.h"
#include "server/codec.h"
#include "tests/integration/process_server.h"
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

namespace consentd::testing {
namespace {

class LinkTest : public IntegrationTest {
 protected:
  Reply<consent::v1::LinkSubjectsResponse> Link(const std::string& device,
                                                const std::string& account,
                                                consent::v1::MergeRule rule) {
    consent::v1::LinkSubjectsRequest request;
    request.set_device_subject_id(device);
    request.set_account_subject_id(account);
    request.set_merge_rule(rule);
    Reply<consent::v1::LinkSubjectsResponse> reply;
    reply.status = server_->consent().LinkSubjects(Context().get(), request,
                                                   &reply.response);
    return reply;
  }
  grpc::Status Unlink(const std::string& device) {
    consent::v1::UnlinkSubjectsRequest request;
    request.set_device_subject_id(device);
    consent::v1::UnlinkSubjectsResponse response;
    return server_->consent().UnlinkSubjects(Context().get(), request,
                                             &response);
  }
  // The device granted statistics after the account refused it.
  void DeviceGrantedAfterAccountRefused(const std::string& device,
                                        const std::string& account) {
    ASSERT_TRUE(server_->Record(account, {{"statistics", false}}).status.ok());
    clock_.Advance(absl::Hours(24));
    ASSERT_TRUE(server_->Record(device, {{"statistics", true}}).status.ok());
    clock_.Advance(absl::Hours(1));
  }
};

TEST_F(LinkTest, MostRecentTakesTheDevicesLaterGrant) {
  DeviceGrantedAfterAccountRefused("d-1", "a-1");
  const absl::Time granted_at = clock_.Now() - absl::Hours(1);
  auto linked = Link("d-1", "a-1", consent::v1::MERGE_RULE_MOST_RECENT);
  ASSERT_TRUE(linked.status.ok()) << linked.status.error_message();
  EXPECT_TRUE(linked.response.merged());
  EXPECT_EQ(linked.response.consent_version(), 2);
  EXPECT_EQ(server_->Check("a-1", "ia_stats_events").response.reason(),
            consent::v1::REASON_GRANTED);
  // The merged grant keeps its time: it expires a year after the device's
  // decision, not the link.
  auto state = server_->Get("a-1");
  for (const auto& c : state.response.categories()) {
    if (c.category() == "statistics") {
      EXPECT_EQ(FromTimestamp(c.decided_at()), granted_at);
    }
  }
  // The device answers from the account, also after the account changes.
  EXPECT_EQ(server_->Check("d-1", "ia_stats_events").response.consent_version(),
            2);
  ASSERT_TRUE(server_->Record("a-1", {{"statistics", false}}).status.ok());
  auto device = server_->Check("d-1", "ia_stats_events");
  EXPECT_EQ(device.response.reason(), consent::v1::REASON_DENIED);
  EXPECT_EQ(device.response.consent_version(), 3);
  // A decision recorded for the device is the account's.
  auto written = server_->Record("d-1", {{"marketing", true}});
  ASSERT_TRUE(written.status.ok());
  EXPECT_EQ(written.response.consent_version(), 4);
  EXPECT_EQ(server_->Check("a-1", "ia_mkt_source").response.reason(),
            consent::v1::REASON_GRANTED);
  // Unlinked, the device answers from its own decisions again.
  ASSERT_TRUE(Unlink("d-1").ok());
  auto own = server_->Check("d-1", "ia_mkt_source");
  EXPECT_EQ(own.response.reason(), consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(own.response.consent_version(), 1);
  EXPECT_EQ(Unlink("d-1").error_code(), grpc::StatusCode::NOT_FOUND);
  // The merge, the link and the unlink are in the audit log.
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions WHERE subject_id = "
                      "'a-1' AND source = 'link'"),
            1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM audit_events WHERE subject_id = "
                      "'d-1' AND action IN ('link', 'unlink')"),
            2);
  // The merge decision is audited as the account's decision, from source
  // link, with the merged choice.
  EXPECT_EQ(db_.Count("SELECT count(*) FROM audit_events WHERE subject_id = "
                      "'a-1' AND action = 'decision' AND payload LIKE "
                      "'%\"consent_version\":2,%' AND payload LIKE "
                      "'%\"source\":\"link\"%' AND payload LIKE "
                      "'%\"statistics\":true%'"),
            1);
}

TEST_F(LinkTest, SubjectDataExportNamesTheLinksInForce) {
  ASSERT_TRUE(server_->Record("acct", {{"statistics", true}}).status.ok());
  ASSERT_TRUE(Link("dev-1", "acct", consent::v1::MERGE_RULE_MOST_RESTRICTIVE)
                  .status.ok());
  ASSERT_TRUE(
      Link("dev-2", "acct", consent::v1::MERGE_RULE_MOST_RECENT).status.ok());
  auto audit = consent::v1::AuditService::NewStub(server_->channel());
  auto export_of = [&](const std::string& subject) {
    consent::v1::ExportSubjectDataRequest request;
    request.set_subject_id(subject);
    consent::v1::ExportSubjectDataResponse response;
    grpc::Status s =
        audit->ExportSubjectData(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << subject << ": " << s.error_message();
    return response;
  };
  // The account: both devices. A device without decisions of its own is
  // still known (its link is held), and names its account.
  consent::v1::ExportSubjectDataResponse account = export_of("acct");
  ASSERT_EQ(account.links_size(), 2);
  EXPECT_EQ(account.links(0).device_subject_id(), "dev-1");
  EXPECT_EQ(account.links(0).account_subject_id(), "acct");
  EXPECT_EQ(account.links(0).merge_rule(),
            consent::v1::MERGE_RULE_MOST_RESTRICTIVE);
  EXPECT_EQ(FromTimestamp(account.links(0).linked_at()), clock_.Now());
  EXPECT_FALSE(account.links(0).actor().empty());
  EXPECT_EQ(account.links(1).device_subject_id(), "dev-2");
  EXPECT_EQ(account.links(1).merge_rule(), consent::v1::MERGE_RULE_MOST_RECENT);
  consent::v1::ExportSubjectDataResponse device = export_of("dev-2");
  ASSERT_EQ(device.links_size(), 1);
  EXPECT_EQ(device.links(0).account_subject_id(), "acct");
  // Ended links are no longer held (their end is in the audit events).
  ASSERT_TRUE(Unlink("dev-2").ok());
  EXPECT_EQ(export_of("dev-2").links_size(), 0);
  EXPECT_EQ(export_of("acct").links_size(), 1);
  EXPECT_FALSE(export_of("acct").links_truncated());
  // An account with more devices than one answer holds: the first 10,000
  // by device id, and it says so.
  db_.Query(
      "INSERT INTO subject_links (device_subject_id, account_subject_id, "
      "merge_rule, linked_at, actor) SELECT 'many-' || lpad(i::text, 5, "
      "'0'), 'acct', 'most_recent', now(), 'test' FROM generate_series(1, "
      "10000) AS i");
  consent::v1::ExportSubjectDataResponse many = export_of("acct");
  EXPECT_EQ(many.links_size(), 10000);
  EXPECT_TRUE(many.links_truncated());
  EXPECT_EQ(many.links(0).device_subject_id(), "dev-1");
  EXPECT_EQ(many.links(1).device_subject_id(), "many-00001");
  EXPECT_EQ(many.links(9999).device_subject_id(), "many-09999");
}

TEST_F(LinkTest, MostRestrictiveKeepsTheRefusal) {
  DeviceGrantedAfterAccountRefused("d-2", "a-2");
  auto linked = Link("d-2", "a-2", consent::v1::MERGE_RULE_MOST_RESTRICTIVE);
  ASSERT_TRUE(linked.status.ok()) << linked.status.error_message();
  EXPECT_FALSE(linked.response.merged());  // Nothing of the device's taken.
  EXPECT_EQ(linked.response.consent_version(), 1);
  EXPECT_EQ(server_->Check("a-2", "ia_stats_events").response.reason(),
            consent::v1::REASON_DENIED);
  EXPECT_EQ(server_->Check("d-2", "ia_stats_events").response.reason(),
            consent::v1::REASON_DENIED);
}

TEST_F(LinkTest, LinkRules) {
  ASSERT_TRUE(server_->Record("d-3", {{"marketing", true}}).status.ok());
  ASSERT_TRUE(
      Link("d-3", "a-3", consent::v1::MERGE_RULE_MOST_RECENT).status.ok());
  // A fresh account takes the device's choices.
  EXPECT_EQ(server_->Check("a-3", "ia_mkt_source").response.reason(),
            consent::v1::REASON_GRANTED);
  auto again = Link("d-3", "a-3", consent::v1::MERGE_RULE_MOST_RECENT);
  ASSERT_TRUE(again.status.ok());
  EXPECT_TRUE(again.response.already_linked());
  EXPECT_FALSE(again.response.merged());
  EXPECT_EQ(Link("d-3", "a-4", consent::v1::MERGE_RULE_MOST_RECENT)
                .status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(
      Link("a-3", "x", consent::v1::MERGE_RULE_MOST_RECENT).status.error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);  // a-3 is an account.
  EXPECT_EQ(
      Link("y", "d-3", consent::v1::MERGE_RULE_MOST_RECENT).status.error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);  // d-3 is a device.
  EXPECT_EQ(
      Link("z", "z", consent::v1::MERGE_RULE_MOST_RECENT).status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Link("z", "w", consent::v1::MERGE_RULE_UNSPECIFIED).status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM subject_links"), 1);
}

class WatchTest : public IntegrationTest {
 protected:
  struct Stream {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<consent::v1::ConsentChange>> reader;
  };
  Stream Watch(const std::string& after, bool from_now = false) {
    Stream s;
    s.context = Context();
    consent::v1::WatchConsentRequest request;
    request.set_after_cursor(after);
    request.set_from_now(from_now);
    s.reader = server_->consent().WatchConsent(s.context.get(), request);
    return s;
  }
  // The next decision on `s` (skipping other kinds).
  static bool NextDecision(Stream& s, consent::v1::ConsentChange* out) {
    while (s.reader->Read(out)) {
      if (out->kind() == consent::v1::CHANGE_KIND_DECISION) return true;
    }
    return false;
  }
};

TEST_F(WatchTest, AResumedWatcherGetsEveryChangeOnceInOrder) {
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(
        server_->Record(absl::StrCat("w-", i), {{"statistics", i % 2 == 0}})
            .status.ok());
  }
  Stream first = Watch("");
  consent::v1::ConsentChange change;
  std::string cursor;
  for (int i = 1; i <= 50; ++i) {
    ASSERT_TRUE(NextDecision(first, &change)) << i;
    EXPECT_EQ(change.subject_id(), absl::StrCat("w-", i));
    cursor = change.cursor();
  }
  first.context->TryCancel();  // The watcher goes away.
  (void)first.reader->Finish();

  Stream resumed = Watch(cursor);
  for (int i = 51; i <= 100; ++i) {
    ASSERT_TRUE(NextDecision(resumed, &change)) << i;
    EXPECT_EQ(change.subject_id(), absl::StrCat("w-", i));
    EXPECT_EQ(change.consent_version(), 1);
    EXPECT_EQ(change.choices().at("statistics"), i % 2 == 0);
    EXPECT_EQ(change.policy_version(), "2026-01-12");
    EXPECT_EQ(change.source(), consent::v1::SOURCE_BANNER);
    EXPECT_FALSE(change.subject_pseudonym().empty());
  }
  // The stream stays open and follows: the next change is the next decision,
  // not a repeat.
  ASSERT_TRUE(server_->Record("w-101", {{"marketing", true}}).status.ok());
  ASSERT_TRUE(NextDecision(resumed, &change));
  EXPECT_EQ(change.subject_id(), "w-101");
  resumed.context->TryCancel();
  (void)resumed.reader->Finish();
}

TEST_F(WatchTest, FromNowAndOtherKinds) {
  ASSERT_TRUE(server_->Record("old", {{"statistics", true}}).status.ok());
  ASSERT_TRUE(Eventually(
      [&] { return db_.Count("SELECT count(*) FROM audit_unsealed") == 0; }));
  Stream live = Watch("", /*from_now=*/true);
  ASSERT_TRUE(server_->Record("new", {{"statistics", true}}).status.ok());
  consent::v1::ConsentChange change;
  ASSERT_TRUE(live.reader->Read(&change));
  EXPECT_EQ(change.kind(), consent::v1::CHANGE_KIND_DECISION);
  EXPECT_EQ(change.subject_id(), "new");
  // A policy publish comes through too.
  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-07-01");
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(server_->policy()
                  .PublishPolicy(Context().get(), publish, &published)
                  .ok());
  ASSERT_TRUE(live.reader->Read(&change));
  EXPECT_EQ(change.kind(), consent::v1::CHANGE_KIND_POLICY_PUBLISH);
  EXPECT_EQ(change.policy_version(), "2026-07-01");
  live.context->TryCancel();
  (void)live.reader->Finish();
  // A cursor consentd never gave is refused.
  Stream bad = Watch("not-a-cursor");
  EXPECT_FALSE(bad.reader->Read(&change));
  EXPECT_EQ(bad.reader->Finish().error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace consentd::testing
