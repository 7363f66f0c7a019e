// The audit log, support tools and data-subject requests, through the real
// server and PostgreSQL.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "consent/v1/audit.grpc.pb.h"
#include "server/codec.h"
#include "storage/audit_keys.h"
#include "storage/consent_store.h"
#include "storage/database.h"
#include "tests/integration/process_server.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class AuditTest : public IntegrationTest {
 protected:
  AuditTest()
      : audit_(consent::v1::AuditService::NewStub(server_->channel())) {}

  // Events of the sealed log after `after` (for `subject`, "" = all),
  // reading at most `max` of them.
  std::vector<consent::v1::AuditEvent> Export(const std::string& subject,
                                              int64_t after = 0,
                                              size_t max = SIZE_MAX) {
    consent::v1::ExportAuditLogRequest request;
    request.set_subject_id(subject);
    request.set_after_sequence(after);
    return Export(request, max);
  }

  // The events `request` exports, reading at most `max` of them.
  std::vector<consent::v1::AuditEvent> Export(
      const consent::v1::ExportAuditLogRequest& request,
      size_t max = SIZE_MAX) {
    auto context = Context();
    auto reader = audit_->ExportAuditLog(context.get(), request);
    std::vector<consent::v1::AuditEvent> events;
    consent::v1::ExportAuditLogResponse batch;
    while (events.size() < max && reader->Read(&batch)) {
      for (const auto& e : batch.events()) {
        if (events.size() < max) events.push_back(e);
      }
    }
    if (events.size() >= max) context->TryCancel();
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::CANCELLED)
        << s.error_message();
    return events;
  }

  consent::v1::VerifyAuditLogResponse Verify() {
    consent::v1::VerifyAuditLogResponse r;
    grpc::Status s = audit_->VerifyAuditLog(
        Context().get(), consent::v1::VerifyAuditLogRequest(), &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  }

  // Waits (with a deadline) until every committed event is sealed.
  void WaitSealed(absl::Duration timeout = absl::Seconds(15)) {
    ASSERT_TRUE(Eventually(
        [&] { return db_.Count("SELECT count(*) FROM audit_unsealed") == 0; },
        timeout));
  }

  int64_t DecisionEvents() {
    return db_.Count(
        "SELECT count(*) FROM audit_events WHERE action = 'decision'");
  }

  std::unique_ptr<consent::v1::AuditService::Stub> audit_;
};

TEST_F(AuditTest, HistoryAndTheLogKeepTheGpcSignalAndRegion) {
  // A grant given while the browser sent GPC is provable as such.
  consent::v1::RecordConsentRequest request;
  request.set_subject_id("g");
  request.set_policy_version("2026-01-12");
  (*request.mutable_choices())["marketing"] = true;
  request.set_source(consent::v1::SOURCE_PREFERENCES_CENTER);
  request.set_region("US-CA");
  request.set_gpc(true);
  ASSERT_TRUE(server_->Record(request).status.ok());
  ASSERT_TRUE(server_->Record("g", {{"statistics", true}}).status.ok());

  consent::v1::GetHistoryRequest history_request;
  history_request.set_subject_id("g");
  consent::v1::GetHistoryResponse history;
  ASSERT_TRUE(
      audit_->GetHistory(Context().get(), history_request, &history).ok());
  ASSERT_EQ(history.decisions_size(), 2);
  EXPECT_TRUE(history.decisions(0).gpc());
  EXPECT_EQ(history.decisions(0).region(), "US-CA");
  EXPECT_FALSE(history.decisions(1).gpc());

  WaitSealed();
  std::vector<consent::v1::AuditEvent> events = Export("g");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].payload().find("\"gpc\":true"), std::string::npos)
      << events[0].payload();
  EXPECT_NE(events[0].payload().find("\"region\":\"US-CA\""), std::string::npos)
      << events[0].payload();
  EXPECT_NE(events[1].payload().find("\"gpc\":false"), std::string::npos)
      << events[1].payload();
}

TEST_F(AuditTest, HistoryExportAndResumableCursor) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(server_->Record("s", {{"statistics", false}, {"marketing", true}})
                  .status.ok());
  ASSERT_TRUE(server_->Record("other", {{"statistics", true}}).status.ok());

  consent::v1::GetHistoryRequest request;
  request.set_subject_id("s");
  consent::v1::GetHistoryResponse history;
  ASSERT_TRUE(audit_->GetHistory(Context().get(), request, &history).ok());
  ASSERT_EQ(history.decisions_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(history.decisions(i).consent_version(), i + 1);
    EXPECT_EQ(history.decisions(i).policy_version(), "2026-01-12");
    EXPECT_EQ(history.decisions(i).source(), consent::v1::SOURCE_BANNER);
    EXPECT_EQ(history.decisions(i).actor(), "test-admin");
  }
  EXPECT_EQ(history.decisions(1).recorded_at().seconds(),
            absl::ToUnixSeconds(Start() + absl::Hours(1)));
  EXPECT_EQ(history.decisions(1).choices().size(), 1u);
  EXPECT_TRUE(history.decisions(1).choices().at("marketing"));
  // What each category was after the decision.
  ASSERT_EQ(history.decisions(2).standing_size(), 2);
  EXPECT_EQ(history.decisions(2).standing(0).category(), "marketing");
  EXPECT_TRUE(history.decisions(2).standing(0).granted());
  EXPECT_EQ(history.decisions(2).standing(1).category(), "statistics");
  EXPECT_FALSE(history.decisions(2).standing(1).granted());

  WaitSealed();
  std::vector<consent::v1::AuditEvent> events = Export("s");
  ASSERT_EQ(events.size(), 3u);
  for (const auto& e : events) {
    EXPECT_EQ(e.action(), "decision");
    EXPECT_EQ(e.subject_id(), "s");
    EXPECT_EQ(e.payload().find("\"s\""), std::string::npos);
  }
  EXPECT_NE(events[2].payload().find("\"choices\":{\"marketing\":true,"
                                     "\"statistics\":false}"),
            std::string::npos);

  // Two at a time: each event exactly once.
  std::vector<consent::v1::AuditEvent> first = Export("s", 0, 2);
  ASSERT_EQ(first.size(), 2u);
  std::vector<consent::v1::AuditEvent> rest = Export("s", first[1].sequence());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].sequence(), events[2].sequence());
  // One more decision: resuming from the last cursor gives exactly it.
  ASSERT_TRUE(server_->Record("s", {{"preferences", true}}).status.ok());
  WaitSealed();
  std::vector<consent::v1::AuditEvent> next = Export("s", rest[0].sequence());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].payload().find("\"consent_version\":4"), std::string::npos);
  // The whole log: bootstrap publish + 5 decisions, sequences 1..6.
  std::vector<consent::v1::AuditEvent> all = Export("");
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].action(), "policy_publish");
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].sequence(), i + 1);
}

TEST_F(AuditTest, OneTransactionsEventsAreExportedOnceAcrossPages) {
  // 1,200 decisions in one transaction, as group commit writes them: their
  // events straddle the export's pages of 500 (and the sealer's batches of
  // 1,000).
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(DatabaseOptions{.url = db_.url(), .pool_size = 1});
  ASSERT_TRUE(db.ok()) << db.status();
  const AuditKeys keys = AuditKeys::ForTesting();
  ConsentStore store(db->get(), &keys);
  constexpr int kDecisions = 1200;
  std::vector<Decision> decisions(kDecisions);
  std::vector<ConsentStore::BatchEntry> batch;
  for (int i = 0; i < kDecisions; ++i) {
    Decision& d = decisions[i];
    d.subject_id = absl::StrCat("batch-", i);
    d.policy_version = "2026-01-12";
    d.choices = {{"statistics", i % 2 == 0}};
    d.source = ConsentSource::kImport;
    d.actor = "batch-test";
    d.recorded_at = Start();
    batch.push_back({&d});
  }
  std::vector<absl::StatusOr<RecordOutcome>> outcomes =
      store.RecordDecisions(batch);
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kDecisions));
  for (const auto& outcome : outcomes) ASSERT_TRUE(outcome.ok());
  // One transaction wrote every one of their events.
  ASSERT_EQ(db_.Count("SELECT count(DISTINCT xmin::text) FROM audit_events "
                      "WHERE action = 'decision'"),
            1);
  WaitSealed(absl::Seconds(60));
  const std::string event_ids = db_.Query(
      "SELECT string_agg(event_id::text, ',' ORDER BY event_id) "
      "FROM audit_events");

  // The bootstrap publish, then the batch: each event once, in order,
  // whether read in one stream (messages of 500) or resumed from cursors
  // that fall just before, and inside, the export's pages.
  for (const size_t chunk : {SIZE_MAX, size_t{499}, size_t{7}}) {
    std::vector<consent::v1::AuditEvent> all;
    while (true) {
      const int64_t after = all.empty() ? 0 : all.back().sequence();
      std::vector<consent::v1::AuditEvent> part = Export("", after, chunk);
      if (part.empty()) break;
      all.insert(all.end(), part.begin(), part.end());
    }
    ASSERT_EQ(all.size(), static_cast<size_t>(kDecisions + 1))
        << "chunk " << chunk;
    std::set<int64_t> ids;
    std::set<std::string> subjects;
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].sequence(), static_cast<int64_t>(i + 1));
      EXPECT_TRUE(ids.insert(all[i].event_id()).second)
          << "event " << all[i].event_id() << " delivered twice";
      if (i > 0) subjects.insert(all[i].subject_id());
    }
    EXPECT_EQ(all[0].action(), "policy_publish");
    EXPECT_EQ(subjects.size(), static_cast<size_t>(kDecisions));
    // Exactly the events in the database, none missing.
    EXPECT_EQ(absl::StrJoin(ids, ","), event_ids) << "chunk " << chunk;
  }
}

TEST_F(AuditTest, ATimeRangeExportsExactlyTheEventsInIt) {
  // The bootstrap publish is at Start(); decisions v1..v4 an hour apart.
  for (int i = 1; i <= 4; ++i) {
    clock_.Advance(absl::Hours(1));
    ASSERT_TRUE(server_->Record("s", {{"statistics", i % 2 == 0}}).status.ok());
  }
  clock_.Advance(absl::Minutes(30));
  ASSERT_TRUE(server_->Record("other", {{"marketing", true}}).status.ok());
  WaitSealed();
  const auto at = [](absl::Duration d) { return Start() + d; };
  struct Case {
    std::string subject;
    absl::Time since, until;       // Infinite = unset.
    std::vector<int64_t> seconds;  // recorded_at of what must come back.
  };
  const int64_t t0 = absl::ToUnixSeconds(Start());
  const std::vector<Case> cases = {
      // [since, until): an event exactly at `until` is left out.
      {"s", at(absl::Hours(2)), at(absl::Hours(4)), {t0 + 7200, t0 + 10800}},
      {"", at(absl::Hours(2)), at(absl::Hours(4)), {t0 + 7200, t0 + 10800}},
      // Open ends.
      {"", absl::InfinitePast(), at(absl::Hours(1)), {t0}},
      {"",
       at(absl::Hours(4)),
       absl::InfiniteFuture(),
       {t0 + 14400, t0 + 16200}},
      {"s",
       at(absl::Minutes(90)),
       absl::InfiniteFuture(),
       {t0 + 7200, t0 + 10800, t0 + 14400}},
      // Nothing in range.
      {"", at(absl::Minutes(61)), at(absl::Minutes(119)), {}},
      {"other", at(absl::Hours(1)), at(absl::Hours(4)), {}},
  };
  for (const Case& c : cases) {
    consent::v1::ExportAuditLogRequest request;
    request.set_subject_id(c.subject);
    if (c.since != absl::InfinitePast()) {
      SetTimestamp(c.since, request.mutable_since());
    }
    if (c.until != absl::InfiniteFuture()) {
      SetTimestamp(c.until, request.mutable_until());
    }
    std::vector<int64_t> got;
    int64_t previous = 0;
    for (const consent::v1::AuditEvent& e : Export(request)) {
      got.push_back(e.recorded_at().seconds());
      EXPECT_GT(e.sequence(), previous);
      previous = e.sequence();
      if (!c.subject.empty()) {
        EXPECT_EQ(e.subject_id(), c.subject);
      }
    }
    EXPECT_EQ(got, c.seconds)
        << "subject '" << c.subject << "' since " << absl::FormatTime(c.since)
        << " until " << absl::FormatTime(c.until);
  }
  // An empty or inverted range is refused.
  consent::v1::ExportAuditLogRequest inverted;
  SetTimestamp(at(absl::Hours(2)), inverted.mutable_since());
  SetTimestamp(at(absl::Hours(2)), inverted.mutable_until());
  auto context = Context();
  auto reader = audit_->ExportAuditLog(context.get(), inverted);
  consent::v1::ExportAuditLogResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("until"), std::string::npos);
}

TEST_F(AuditTest, SubjectDataSaysWhenItsAuditEventsAreTruncated) {
  // 12,000 events of one subject: more than one answer holds (by count, and
  // by size under the client's 4 MiB limit).
  constexpr int kEvents = 12000;
  InsertSignedAuditEvents(db_.url(), kEvents, /*subjects=*/1);
  ASSERT_TRUE(server_->Record("small", {{"marketing", true}}).status.ok());
  WaitSealed(absl::Seconds(60));

  consent::v1::ExportSubjectDataRequest access;
  access.set_subject_id("bulk-subject-0");
  consent::v1::ExportSubjectDataResponse data;
  grpc::Status s = audit_->ExportSubjectData(Context().get(), access, &data);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(data.audit_events_truncated());
  ASSERT_GT(data.audit_events_size(), 0);
  EXPECT_LT(data.audit_events_size(), kEvents);
  EXPECT_LE(data.audit_events_size(), 10000);
  EXPECT_LT(data.ByteSizeLong(), size_t{4} << 20);
  // A prefix of the subject's events, in sequence order; the bootstrap
  // publish (sequence 1) is not the subject's.
  for (int i = 0; i < data.audit_events_size(); ++i) {
    EXPECT_EQ(data.audit_events(i).sequence(), i + 2);
    EXPECT_EQ(data.audit_events(i).subject_id(), "bulk-subject-0");
  }
  EXPECT_EQ(data.last_audit_sequence(),
            data.audit_events(data.audit_events_size() - 1).sequence());
  // The rest follow the cursor, each once.
  std::vector<consent::v1::AuditEvent> rest =
      Export("bulk-subject-0", data.last_audit_sequence());
  ASSERT_EQ(data.audit_events_size() + rest.size(),
            static_cast<size_t>(kEvents));
  EXPECT_EQ(rest.front().sequence(), data.last_audit_sequence() + 1);
  EXPECT_EQ(rest.back().sequence(), kEvents + 1);

  // A subject whose events all fit is not truncated.
  access.set_subject_id("small");
  ASSERT_TRUE(audit_->ExportSubjectData(Context().get(), access, &data).ok());
  EXPECT_FALSE(data.audit_events_truncated());
  ASSERT_EQ(data.audit_events_size(), 1);
  EXPECT_EQ(data.last_audit_sequence(), kEvents + 2);
  EXPECT_EQ(data.audit_events(0).sequence(), kEvents + 2);
}

TEST_F(AuditTest, EveryAcceptedDecisionHasOneEvent) {
  ASSERT_TRUE(server_
                  ->Record("deny-all", {{"preferences", false},
                                        {"statistics", false},
                                        {"marketing", false}})
                  .status.ok());
  ASSERT_TRUE(server_->Record("device:7f3a9c", {{"statistics", true}}, "key-1")
                  .status.ok());
  EXPECT_TRUE(server_->Record("device:7f3a9c", {{"statistics", true}}, "key-1")
                  .response.replayed());
  EXPECT_FALSE(server_->Record("deny-all", {{"necessary", false}}).status.ok());
  EXPECT_EQ(DecisionEvents(), 2);
  EXPECT_EQ(DecisionEvents(), db_.Count("SELECT count(*) FROM decisions"));
  WaitSealed();
  EXPECT_EQ(Export("deny-all").size(), 1u);
  EXPECT_EQ(Export("device:7f3a9c").size(), 1u);
}

TEST_F(AuditTest, RequestContextIsKeptOnlyAsKeyedHashes) {
  consent::v1::RecordConsentRequest r;
  r.set_subject_id("s");
  r.set_policy_version("2026-01-12");
  (*r.mutable_choices())["statistics"] = true;
  r.set_source(consent::v1::SOURCE_BANNER);
  r.mutable_context()->set_user_agent("Mozilla/5.0 (X11; Linux x86_64)");
  r.mutable_context()->set_ip_address("2001:db8:0:0::1");
  ASSERT_TRUE(server_->Record(r).status.ok());
  const std::string payload =
      db_.Query("SELECT payload FROM audit_events WHERE action = 'decision'");
  EXPECT_EQ(payload.find("Mozilla"), std::string::npos);
  EXPECT_EQ(payload.find("2001:db8"), std::string::npos);
  const AuditKeys keys = AuditKeys::ForTesting();
  EXPECT_NE(payload.find(keys.Fingerprint("ip", "2001:db8::1")),
            std::string::npos);
  EXPECT_NE(payload.find(keys.Fingerprint("user_agent",
                                          "Mozilla/5.0 (X11; Linux x86_64)")),
            std::string::npos);
  r.mutable_context()->set_ip_address("999.1.1.1");
  auto bad = server_->Record(r);
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.status.error_message().find("context.ip_address"),
            std::string::npos);
}

class AuditTamperTest : public AuditTest {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      // Alternating choices: no two neighbouring payloads are alike.
      ASSERT_TRUE(
          server_->Record(absl::StrCat("s", i), {{"marketing", i % 2 == 0}})
              .status.ok());
    }
    WaitSealed();
    const auto v = Verify();
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v.events_verified(), 6);  // Publish + 5 decisions.
    ASSERT_EQ(v.head_sequence(), 6);
  }
  // The event at a sequence.
  std::string EventAt(int sequence) {
    return db_.Query(absl::StrCat(
        "SELECT event_id FROM audit_chain WHERE sequence = ", sequence));
  }
};

TEST_F(AuditTamperTest, AModifiedPayloadIsReportedAtItsSequence) {
  db_.Query(
      "UPDATE audit_events SET payload = replace(payload, "
      "'\"marketing\":true', '\"marketing\":false') WHERE event_id = " +
      EventAt(4));
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 4);
  EXPECT_NE(v.problems(0).description().find("modified"), std::string::npos);
}

TEST_F(AuditTamperTest, ADeletedEventIsReported) {
  db_.Query("DELETE FROM audit_events WHERE event_id = " + EventAt(3));
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 3);
  EXPECT_NE(v.problems(0).description().find("missing"), std::string::npos);
}

TEST_F(AuditTamperTest, ADeletedChainEntryIsAGap) {
  db_.Query("DELETE FROM audit_chain WHERE sequence = 2");
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 2);
  EXPECT_NE(v.problems(0).description().find("missing"), std::string::npos);
}

TEST_F(AuditTamperTest, SwappedEventsAreReported) {
  const std::string a = EventAt(2), b = EventAt(5);
  db_.Query(absl::StrCat(
      "UPDATE audit_chain SET event_id = CASE event_id WHEN ", a, " THEN -1 ",
      "ELSE event_id END WHERE event_id = ", a, "; UPDATE audit_chain SET ",
      "event_id = ", a, " WHERE event_id = ", b, "; UPDATE audit_chain SET ",
      "event_id = ", b, " WHERE event_id = -1"));
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 2);
  ASSERT_GE(v.problems_size(), 2);
  EXPECT_EQ(v.problems(v.problems_size() - 1).sequence(), 5);
}

TEST_F(AuditTamperTest, SwappedPayloadsAreReported) {
  const std::string a = EventAt(3), b = EventAt(4);
  db_.Query(absl::StrCat(
      "UPDATE audit_events e SET payload = o.payload FROM audit_events o "
      "WHERE (e.event_id, o.event_id) IN ((",
      a, ",", b, "),(", b, ",", a, "))"));
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 3);
  ASSERT_GE(v.problems_size(), 2);
  EXPECT_EQ(v.problems(1).sequence(), 4);
}

TEST_F(AuditTamperTest, ACopiedEventIsRefusedOrReported) {
  const std::string copy =
      "INSERT INTO audit_events (subject_id, subject_pseudonym, action, actor, "
      "recorded_at, payload, key_id, event_mac) SELECT subject_id, "
      "subject_pseudonym, action, actor, recorded_at, payload, key_id, "
      "event_mac FROM audit_events WHERE event_id = " +
      EventAt(3);
  EXPECT_THROW(db_.Query(copy), std::exception);  // The unique index.
  db_.Query("DROP INDEX audit_events_mac");
  db_.Query(copy);
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  bool reported = false;
  for (const auto& p : v.problems()) {
    reported = reported || p.description().find("a copy") != std::string::npos;
  }
  EXPECT_TRUE(reported);
}

TEST_F(AuditTamperTest, AnEventMovedToAnotherSubjectIsReported) {
  db_.Query(
      "UPDATE audit_events SET subject_id = 'someone-else' "
      "WHERE event_id = " +
      EventAt(4));
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_sequence(), 4);
  EXPECT_NE(v.problems(0).description().find("another subject"),
            std::string::npos);
}

TEST_F(AuditTamperTest, AForgedEventIsNeverSealedAndIsReported) {
  // A forger without the key copies a real event's MAC onto new content
  // and queues it for sealing.
  db_.Query(
      "WITH e AS (INSERT INTO audit_events (subject_id, subject_pseudonym, "
      "action, actor, recorded_at, payload, key_id, event_mac) SELECT "
      "'forged', subject_pseudonym, action, actor, recorded_at, "
      "'{\"forged\":true}', key_id, sha256(event_mac) FROM audit_events "
      "WHERE action = 'decision' LIMIT 1 RETURNING event_id) "
      "INSERT INTO audit_unsealed SELECT event_id FROM e");
  WaitSealed();
  const auto v = Verify();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.head_sequence(), 6);  // Not sealed.
  EXPECT_EQ(v.first_bad_sequence(), 0);
  EXPECT_NE(v.problems(0).description().find("not in the chain"),
            std::string::npos);
}

TEST_F(AuditTest, ErasureRemovesTheIdentifierAndKeepsTheProof) {
  const std::string subject = "erase-me-7f3a@example.org";
  ASSERT_TRUE(
      server_->Record(subject, {{"marketing", true}}, "idem-1").status.ok());
  ASSERT_TRUE(server_->Record(subject, {{"statistics", true}}).status.ok());
  ASSERT_TRUE(server_->Check(subject, "ia_mkt_source").response.allowed());

  consent::v1::ExportSubjectDataRequest access;
  access.set_subject_id(subject);
  consent::v1::ExportSubjectDataResponse data;
  WaitSealed();
  ASSERT_TRUE(audit_->ExportSubjectData(Context().get(), access, &data).ok());
  EXPECT_EQ(data.decisions_size(), 2);
  EXPECT_EQ(data.audit_events_size(), 2);
  EXPECT_EQ(data.current().consent_version(), 2);

  consent::v1::EraseSubjectRequest erase;
  erase.set_subject_id(subject);
  consent::v1::EraseSubjectResponse erased;
  ASSERT_TRUE(audit_->EraseSubject(Context().get(), erase, &erased).ok());
  EXPECT_EQ(erased.decisions_erased(), 2);
  EXPECT_EQ(erased.audit_events_erased(), 2);
  EXPECT_EQ(erased.subject_pseudonym(),
            AuditKeys::ForTesting().Pseudonym(subject));

  consent::v1::GetHistoryRequest history;
  history.set_subject_id(subject);
  consent::v1::GetHistoryResponse h;
  EXPECT_EQ(audit_->GetHistory(Context().get(), history, &h).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // No table holds the identifier anymore.
  const std::string tables = db_.Query(
      "SELECT string_agg(table_name, ',') FROM information_schema.tables "
      "WHERE table_schema = 'public'");
  for (absl::string_view table : absl::StrSplit(tables, ',')) {
    EXPECT_EQ(
        db_.Count(absl::StrCat("SELECT count(*) FROM ", table,
                               " t WHERE t::text LIKE '%erase-me-7f3a%'")),
        0)
        << table;
  }
  auto check = server_->Check(subject, "ia_mkt_source");
  ASSERT_TRUE(check.status.ok());
  EXPECT_EQ(check.response.reason(), consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(check.response.consent_version(), 0);
  WaitSealed();
  const auto v = Verify();
  EXPECT_TRUE(v.ok()) << (v.problems_size() ? v.problems(0).description() : "");
  // The proof stays, found by the former id through its pseudonym.
  std::vector<consent::v1::AuditEvent> proof = Export(subject);
  ASSERT_EQ(proof.size(), 3u);
  EXPECT_EQ(proof[2].action(), "erasure");
  for (const auto& e : proof) EXPECT_EQ(e.subject_id(), "");
  // Erasing again finds nothing; a new decision starts a new history.
  EXPECT_EQ(audit_->EraseSubject(Context().get(), erase, &erased).error_code(),
            grpc::StatusCode::NOT_FOUND);
  auto again = server_->Record(subject, {{"marketing", false}}, "idem-1");
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.response.consent_version(), 1);
  EXPECT_FALSE(again.response.replayed());
  ASSERT_TRUE(audit_->EraseSubject(Context().get(), erase, &erased).ok());
  EXPECT_EQ(db_.Count("SELECT count(*) FROM subject_erasures"), 2);
}

TEST(AuditKeyRotation, AReplicaWithoutTheNewKeyLeavesItsEventsToOthers) {
  TestDatabase db;
  FakeClock clock(absl::FromUnixSeconds(1769904000));
  const std::string k1 =
      std::string("k1 ") +
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string k2 =
      std::string("k2 ") +
      "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  Config old_config = TestConfig(db.url());
  old_config.audit_keys =
      std::make_shared<const AuditKeys>(*AuditKeys::Parse(k1));
  Config new_config = TestConfig(db.url());
  new_config.audit_keys =
      std::make_shared<const AuditKeys>(*AuditKeys::Parse(k1 + "\n" + k2));
  TestServer old_replica(old_config, &clock);
  ASSERT_TRUE(old_replica.Record("s", {{"marketing", true}}).status.ok());
  TestServer new_replica(new_config, &clock);
  ASSERT_TRUE(new_replica.Record("s", {{"marketing", false}}).status.ok());
  ASSERT_TRUE(old_replica.Record("t", {{"marketing", true}}).status.ok());
  // Everything gets sealed (the k2 event by the new replica), nothing lost.
  EXPECT_TRUE(Eventually(
      [&] { return db.Count("SELECT count(*) FROM audit_unsealed") == 0; }));
  EXPECT_EQ(db.Count("SELECT count(*) FROM audit_chain"), 4);
  EXPECT_EQ(db.Count("SELECT count(*) FROM audit_events WHERE key_id = 'k2'"),
            1);
  auto audit = consent::v1::AuditService::NewStub(new_replica.channel());
  consent::v1::VerifyAuditLogResponse v;
  ASSERT_TRUE(audit
                  ->VerifyAuditLog(Context().get(),
                                   consent::v1::VerifyAuditLogRequest(), &v)
                  .ok());
  EXPECT_TRUE(v.ok()) << (v.problems_size() ? v.problems(0).description() : "");
}

TEST_F(AuditTest, SupportCallsValidateTheirInput) {
  consent::v1::GetHistoryRequest history;
  consent::v1::GetHistoryResponse h;
  EXPECT_EQ(audit_->GetHistory(Context().get(), history, &h).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The namespace of erased records is not a subject anyone can name.
  history.set_subject_id("erased:" + std::string(64, 'a') + ":1");
  EXPECT_EQ(audit_->GetHistory(Context().get(), history, &h).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      server_->Record("erased:x:1", {{"marketing", true}}).status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  history.set_subject_id("nobody");
  EXPECT_EQ(audit_->GetHistory(Context().get(), history, &h).error_code(),
            grpc::StatusCode::NOT_FOUND);
  consent::v1::ExportSubjectDataRequest access;
  access.set_subject_id("nobody");
  consent::v1::ExportSubjectDataResponse data;
  EXPECT_EQ(
      audit_->ExportSubjectData(Context().get(), access, &data).error_code(),
      grpc::StatusCode::NOT_FOUND);
  consent::v1::ExportAuditLogRequest bad;
  bad.set_after_sequence(-1);
  auto context = Context();
  auto reader = audit_->ExportAuditLog(context.get(), bad);
  consent::v1::ExportAuditLogResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace consentd::testing
