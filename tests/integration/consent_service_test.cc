// ConsentService through a real gRPC client, a real consentd and a real
// PostgreSQL.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

using consent::v1::CheckCookieResponse;

class ConsentServiceTest : public IntegrationTest {
 protected:
  int64_t Decisions(const std::string& subject = "") {
    return db_.Count(subject.empty()
                         ? "SELECT count(*) FROM decisions"
                         : absl::StrCat("SELECT count(*) FROM decisions "
                                        "WHERE subject_id = '",
                                        subject, "'"));
  }
  int64_t WrittenRows() {
    return db_.Count(
        "SELECT (SELECT count(*) FROM decisions) + "
        "(SELECT count(*) FROM subjects) + "
        "(SELECT count(*) FROM subject_choices)");
  }
};

TEST_F(ConsentServiceTest, RecordThenCheckOnTheSameReplica) {
  // Warm the cache with "no decision" first: the write must replace it.
  auto before = server_->Check("s-1", "ia_stats_events");
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();
  EXPECT_FALSE(before.response.allowed());
  EXPECT_EQ(before.response.reason(), consent::v1::REASON_NO_DECISION);

  auto recorded = server_->Record("s-1", {{"statistics", true}});
  ASSERT_TRUE(recorded.status.ok()) << recorded.status.error_message();
  EXPECT_EQ(recorded.response.consent_version(), 1);
  EXPECT_FALSE(recorded.response.replayed());
  EXPECT_EQ(recorded.response.recorded_at().seconds(),
            absl::ToUnixSeconds(Start()));

  auto after = server_->Check("s-1", "ia_stats_events");
  ASSERT_TRUE(after.status.ok());
  EXPECT_TRUE(after.response.allowed());
  EXPECT_EQ(after.response.reason(), consent::v1::REASON_GRANTED);
  EXPECT_EQ(after.response.category(), "statistics");
  EXPECT_EQ(after.response.max_age_seconds(), 30 * 86400);
  EXPECT_EQ(after.response.lifetime(), consent::v1::LIFETIME_FIXED);
  EXPECT_EQ(after.response.consent_version(), 1);
  EXPECT_EQ(after.response.policy_version(), "2026-01-12");
}

TEST_F(ConsentServiceTest, PartialDecisionCarriesOtherCategoriesOver) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}, {"marketing", true}})
                  .status.ok());
  auto second = server_->Record("s", {{"marketing", false}});
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.response.consent_version(), 2);
  EXPECT_TRUE(server_->Check("s", "ia_stats_events").response.allowed());
  EXPECT_FALSE(server_->Check("s", "ia_mkt_source").response.allowed());
  EXPECT_EQ(server_->Check("s", "ia_mkt_source").response.reason(),
            consent::v1::REASON_DENIED);
  EXPECT_EQ(server_->Check("s", "ia_pref_theme").response.reason(),
            consent::v1::REASON_NO_DECISION);
  // Also after a restart (state read back from PostgreSQL).
  server_->Restart();
  EXPECT_EQ(server_->Check("s", "ia_stats_events").response.reason(),
            consent::v1::REASON_GRANTED);
  EXPECT_EQ(server_->Check("s", "ia_mkt_source").response.reason(),
            consent::v1::REASON_DENIED);
}

TEST_F(ConsentServiceTest, DenyAllIsADecision) {
  auto r = server_->Record(
      "s",
      {{"preferences", false}, {"statistics", false}, {"marketing", false}});
  ASSERT_TRUE(r.status.ok());
  for (const char* cookie :
       {"ia_pref_theme", "ia_stats_events", "ia_mkt_source"}) {
    auto c = server_->Check("s", cookie);
    EXPECT_FALSE(c.response.allowed()) << cookie;
    EXPECT_EQ(c.response.reason(), consent::v1::REASON_DENIED) << cookie;
    EXPECT_EQ(c.response.consent_version(), 1);
  }
  auto got = server_->Get("s");
  ASSERT_TRUE(got.status.ok());
  EXPECT_FALSE(got.response.banner_required());
  EXPECT_EQ(Decisions("s"), 1);
}

TEST_F(ConsentServiceTest, RefusingNecessaryIsInvalidAndWritesNothing) {
  auto r = server_->Record("s", {{"necessary", false}, {"statistics", true}});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("necessary"), std::string::npos);
  EXPECT_EQ(WrittenRows(), 0);
  EXPECT_EQ(server_->Check("s", "ia_stats_events").response.reason(),
            consent::v1::REASON_NO_DECISION);
  // Granting it is accepted (and changes nothing about the answer).
  EXPECT_TRUE(server_->Record("s", {{"necessary", true}}).status.ok());
}

TEST_F(ConsentServiceTest, UnknownCategoryOrPolicyIsInvalidAndWritesNothing) {
  auto unknown_category = server_->Record("s", {{"ads", true}});
  EXPECT_EQ(unknown_category.status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown_category.status.error_message().find("\"ads\""),
            std::string::npos);

  consent::v1::RecordConsentRequest request;
  request.set_subject_id("s");
  request.set_policy_version("1999-01-01");
  (*request.mutable_choices())["statistics"] = true;
  request.set_source(consent::v1::SOURCE_BANNER);
  auto unknown_policy = server_->Record(request);
  EXPECT_EQ(unknown_policy.status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown_policy.status.error_message().find("policy_version"),
            std::string::npos);
  EXPECT_EQ(WrittenRows(), 0);
}

TEST_F(ConsentServiceTest, RecordValidatesEveryField) {
  auto valid = [] {
    consent::v1::RecordConsentRequest r;
    r.set_subject_id("s");
    r.set_policy_version("2026-01-12");
    (*r.mutable_choices())["statistics"] = true;
    r.set_source(consent::v1::SOURCE_BANNER);
    return r;
  };
  struct Case {
    const char* field;
    std::function<void(consent::v1::RecordConsentRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"subject_id", [](auto& r) { r.set_subject_id(""); }},
      {"policy_version", [](auto& r) { r.set_policy_version(""); }},
      {"choices", [](auto& r) { r.clear_choices(); }},
      {"choices key",
       [](auto& r) { (*r.mutable_choices())["Bad Key"] = true; }},
      {"source",
       [](auto& r) { r.set_source(consent::v1::SOURCE_UNSPECIFIED); }},
      {"source",
       [](auto& r) {
         r.set_source(static_cast<consent::v1::ConsentSource>(42));
       }},
      {"region", [](auto& r) { r.set_region("germany"); }},
      {"idempotency_key",
       [](auto& r) { r.set_idempotency_key(std::string(257, 'k')); }},
      {"expected_version", [](auto& r) { r.set_expected_version(-1); }},
  };
  for (const Case& c : cases) {
    consent::v1::RecordConsentRequest r = valid();
    c.mutate(r);
    auto reply = server_->Record(r);
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field;
    EXPECT_NE(reply.status.error_message().find(c.field), std::string::npos)
        << c.field << ": " << reply.status.error_message();
  }
  EXPECT_EQ(WrittenRows(), 0);
  EXPECT_TRUE(server_->Record(valid()).status.ok());
}

TEST_F(ConsentServiceTest, SubjectIdRulesOnEveryRpc) {
  const std::vector<std::string> bad = {
      "",          std::string(257, 'a'),   "tab\tin",
      "new\nline", std::string("nul\0", 4), "del\x7F",
      "c1\xC2\x80"};
  for (const std::string& id : bad) {
    auto check = server_->Check(id, "refreshToken");
    EXPECT_EQ(check.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(check.status.error_message().find("subject_id"),
              std::string::npos);
    auto record = server_->Record(id, {{"statistics", true}});
    EXPECT_EQ(record.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(record.status.error_message().find("subject_id"),
              std::string::npos);
    auto get = server_->Get(id);
    EXPECT_EQ(get.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    consent::v1::CheckCookiesRequest many;
    many.set_subject_id(id);
    many.add_cookie_names("refreshToken");
    consent::v1::CheckCookiesResponse out;
    EXPECT_EQ(server_->consent()
                  .CheckCookies(Context().get(), many, &out)
                  .error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(WrittenRows(), 0);

  const std::string max(256, 'm');
  auto recorded = server_->Record(max, {{"statistics", true}});
  ASSERT_TRUE(recorded.status.ok()) << recorded.status.error_message();
  EXPECT_TRUE(server_->Check(max, "ia_stats_events").response.allowed());
  // 256 bytes of multi-byte UTF-8 (64 four-byte characters) also works.
  std::string emoji;
  for (int i = 0; i < 64; ++i) emoji += "\xF0\x9F\x8D\xAA";
  EXPECT_TRUE(server_->Record(emoji, {{"statistics", true}}).status.ok());
}

TEST_F(ConsentServiceTest, InvalidUtf8IsInvalidArgumentNotInternal) {
  consent::v1::CheckCookieRequest check;
  check.set_subject_id("bad\xFF\xFE");
  check.set_cookie_name("refreshToken");
  std::string bytes;
  check.SerializeToString(&bytes);  // Logs a warning; sends anyway.
  grpc::Status s =
      server_->CallRaw("/consent.v1.ConsentService/CheckCookie", bytes);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "subject_id is not valid UTF-8");

  consent::v1::RecordConsentRequest record;
  record.set_subject_id("\xC0\x80");
  record.set_policy_version("2026-01-12");
  (*record.mutable_choices())["statistics"] = true;
  record.set_source(consent::v1::SOURCE_BANNER);
  record.SerializeToString(&bytes);
  s = server_->CallRaw("/consent.v1.ConsentService/RecordConsent", bytes);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "subject_id is not valid UTF-8");
  EXPECT_EQ(WrittenRows(), 0);

  s = server_->CallRaw("/consent.v1.ConsentService/GetConsent", "\x0A\x05\xFF");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ConsentServiceTest, SubjectIdsAreCaseSensitive) {
  ASSERT_TRUE(server_->Record("U-1", {{"marketing", true}}).status.ok());
  EXPECT_TRUE(server_->Check("U-1", "ia_mkt_source").response.allowed());
  auto other = server_->Check("u-1", "ia_mkt_source");
  EXPECT_FALSE(other.response.allowed());
  EXPECT_EQ(other.response.reason(), consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(other.response.consent_version(), 0);
}

TEST_F(ConsentServiceTest, CookieNamesAreCaseSensitive) {
  auto exact = server_->Check("s", "refreshToken");
  EXPECT_TRUE(exact.response.allowed());
  EXPECT_EQ(exact.response.reason(), consent::v1::REASON_NECESSARY);
  EXPECT_EQ(exact.response.category(), "necessary");
  auto lower = server_->Check("s", "refreshtoken");
  EXPECT_FALSE(lower.response.allowed());
  EXPECT_EQ(lower.response.reason(), consent::v1::REASON_UNKNOWN_COOKIE);
  EXPECT_EQ(lower.response.category(), "");
  EXPECT_EQ(lower.response.max_age_seconds(), 0);
}

TEST_F(ConsentServiceTest, CheckCookieValidatesItsFields) {
  EXPECT_EQ(server_->Check("s", "").status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(server_->Check("s", std::string(257, 'c')).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto region = server_->Check("s", "refreshToken", "us-ca");
  EXPECT_EQ(region.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(region.status.error_message().find("region"), std::string::npos);
  EXPECT_EQ(
      server_->Check("s", "refreshToken", "", false, -1).status.error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ConsentServiceTest, CheckCookiesAnswersInRequestOrder) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
  consent::v1::CheckCookiesRequest request;
  request.set_subject_id("s");
  for (const char* c :
       {"ia_mkt_source", "refreshToken", "nope", "ia_stats_events"}) {
    request.add_cookie_names(c);
  }
  consent::v1::CheckCookiesResponse response;
  ASSERT_TRUE(server_->consent()
                  .CheckCookies(Context().get(), request, &response)
                  .ok());
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).reason(), consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(response.results(1).reason(), consent::v1::REASON_NECESSARY);
  EXPECT_EQ(response.results(2).reason(), consent::v1::REASON_UNKNOWN_COOKIE);
  EXPECT_EQ(response.results(3).reason(), consent::v1::REASON_GRANTED);

  request.clear_cookie_names();
  EXPECT_EQ(server_->consent()
                .CheckCookies(Context().get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.add_cookie_names("ok");
  request.add_cookie_names("");
  grpc::Status s =
      server_->consent().CheckCookies(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("cookie_names[1]"), std::string::npos);
}

TEST_F(ConsentServiceTest, GetConsentForANewSubject) {
  auto got = server_->Get("never-seen");
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.response.consent_version(), 0);
  EXPECT_EQ(got.response.policy_version(), "");
  EXPECT_TRUE(got.response.banner_required());
  EXPECT_FALSE(got.response.has_decided_at());
  EXPECT_FALSE(got.response.has_expires_at());
  EXPECT_EQ(got.response.current_policy_version(), "2026-01-12");
  ASSERT_EQ(got.response.categories_size(), 4);
  EXPECT_EQ(got.response.categories(0).category(), "necessary");
  EXPECT_EQ(got.response.categories(0).state(), consent::v1::STATE_ALWAYS_ON);
  EXPECT_TRUE(got.response.categories(0).allowed());
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(got.response.categories(i).state(),
              consent::v1::STATE_NOT_DECIDED);
    EXPECT_FALSE(got.response.categories(i).allowed());
  }
}

TEST_F(ConsentServiceTest, GetConsentAfterDecisions) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}, {"marketing", false}})
                  .status.ok());
  auto got = server_->Get("s");
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.response.consent_version(), 1);
  EXPECT_EQ(got.response.policy_version(), "2026-01-12");
  EXPECT_EQ(got.response.decided_at().seconds(), absl::ToUnixSeconds(Start()));
  EXPECT_EQ(got.response.expires_at().seconds(),
            absl::ToUnixSeconds(Start() + absl::Hours(24 * 365)));
  EXPECT_TRUE(got.response.banner_required());  // preferences undecided.
  EXPECT_EQ(got.response.categories(1).state(), consent::v1::STATE_NOT_DECIDED);
  EXPECT_EQ(got.response.categories(2).state(), consent::v1::STATE_GRANTED);
  EXPECT_EQ(got.response.categories(3).state(), consent::v1::STATE_DENIED);
}

TEST_F(ConsentServiceTest, IdempotentReplayReturnsTheFirstResult) {
  auto first = server_->Record("s", {{"marketing", true}}, "key-1");
  ASSERT_TRUE(first.status.ok());
  clock_.Advance(absl::Minutes(5));
  auto again = server_->Record("s", {{"marketing", true}}, "key-1");
  ASSERT_TRUE(again.status.ok());
  EXPECT_TRUE(again.response.replayed());
  EXPECT_EQ(again.response.consent_version(), first.response.consent_version());
  EXPECT_EQ(again.response.recorded_at().seconds(),
            first.response.recorded_at().seconds());
  EXPECT_EQ(Decisions("s"), 1);
  // The same key for another subject is another decision.
  auto other = server_->Record("t", {{"marketing", true}}, "key-1");
  ASSERT_TRUE(other.status.ok());
  EXPECT_FALSE(other.response.replayed());
}

TEST_F(ConsentServiceTest, ReplayWithTheSameExpectedVersionIsNotAConflict) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  auto first = server_->Record("s", {{"marketing", false}}, "k", 1);
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.response.consent_version(), 2);
  auto retry = server_->Record("s", {{"marketing", false}}, "k", 1);
  ASSERT_TRUE(retry.status.ok()) << retry.status.error_message();
  EXPECT_TRUE(retry.response.replayed());
  EXPECT_EQ(retry.response.consent_version(), 2);
}

TEST_F(ConsentServiceTest, ConcurrentIdenticalCallsCreateOneVersion) {
  constexpr int kCalls = 20;
  std::vector<Reply<consent::v1::RecordConsentResponse>> replies(kCalls);
  absl::Barrier* barrier = new absl::Barrier(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      if (barrier->Block()) delete barrier;
      replies[i] = server_->Record("s", {{"statistics", true}}, "same-key");
    });
  }
  for (auto& t : threads) t.join();
  int fresh = 0;
  for (const auto& r : replies) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.response.consent_version(), 1);
    if (!r.response.replayed()) ++fresh;
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(Decisions("s"), 1);
  EXPECT_EQ(
      db_.Query("SELECT consent_version FROM subjects WHERE subject_id = 's'"),
      "1");
}

TEST_F(ConsentServiceTest, ReusedKeyWithAnotherPayloadIsAlreadyExists) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}, "k").status.ok());
  auto other = server_->Record("s", {{"marketing", false}}, "k");
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(other.status.error_message().find("idempotency_key"),
            std::string::npos);
  EXPECT_EQ(Decisions("s"), 1);
  EXPECT_TRUE(server_->Check("s", "ia_mkt_source").response.allowed());
}

TEST_F(ConsentServiceTest, ConcurrentWritersWithTheSameExpectedVersion) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  Reply<consent::v1::RecordConsentResponse> a, b;
  std::thread ta([&] {
    a = server_->Record("s", {{"marketing", false}}, "", 3);
  });
  std::thread tb([&] {
    b = server_->Record("s", {{"statistics", true}}, "", 3);
  });
  ta.join();
  tb.join();
  const bool a_won = a.status.ok();
  const auto& winner = a_won ? a : b;
  const auto& loser = a_won ? b : a;
  ASSERT_TRUE(winner.status.ok()) << winner.status.error_message();
  EXPECT_EQ(winner.response.consent_version(), 4);
  EXPECT_EQ(loser.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(loser.status.error_message().find("expected_version"),
            std::string::npos);
  EXPECT_EQ(Decisions("s"), 4);
  // A stale expected_version alone is ABORTED too.
  EXPECT_EQ(
      server_->Record("s", {{"marketing", true}}, "", 1).status.error_code(),
      grpc::StatusCode::ABORTED);
}

TEST_F(ConsentServiceTest, WritersWithoutExpectedVersionNeverConflict) {
  constexpr int kWriters = 8;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        if (!server_->Record("s", {{"statistics", (w + i) % 2 == 0}})
                 .status.ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Decisions("s"), kWriters * kEach);
  // Versions are 1..N with no gap.
  EXPECT_EQ(db_.Query("SELECT max(consent_version) FROM decisions"),
            std::to_string(kWriters * kEach));
}

TEST_F(ConsentServiceTest, DecisionsSurviveARestart) {
  ASSERT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
  server_->Restart();
  auto c = server_->Check("s", "ia_stats_events");
  ASSERT_TRUE(c.status.ok());
  EXPECT_TRUE(c.response.allowed());
  EXPECT_EQ(c.response.consent_version(), 1);
  auto next = server_->Record("s", {{"statistics", false}});
  EXPECT_EQ(next.response.consent_version(), 2);
}

TEST_F(ConsentServiceTest, MinConsentVersionNeverAnswersFromAnOlderState) {
  auto r = server_->Record("s", {{"statistics", true}});
  ASSERT_TRUE(r.status.ok());
  auto c = server_->Check("s", "ia_stats_events", "", false, 1);
  ASSERT_TRUE(c.status.ok());
  EXPECT_EQ(c.response.consent_version(), 1);
  auto future = server_->Check("s", "ia_stats_events", "", false, 5);
  EXPECT_EQ(future.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace consentd::testing

namespace consentd::testing {
namespace {

class ConsentServiceRegressionTest : public IntegrationTest {};

// Review finding: an input echoed in an error message could exceed gRPC's
// metadata limit and turn INVALID_ARGUMENT into RESOURCE_EXHAUSTED.
TEST_F(ConsentServiceRegressionTest, HugeInvalidInputsStayInvalidArgument) {
  consent::v1::RecordConsentRequest r;
  r.set_subject_id("s");
  r.set_policy_version("2026-01-12");
  (*r.mutable_choices())[std::string(200000, 'k')] = true;
  r.set_source(consent::v1::SOURCE_BANNER);
  auto reply = server_->Record(r);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(reply.status.error_message().size(), 300u);

  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-09-09");
  for (int i = 0; i < 20000; ++i) {
    consent::v1::Cookie* c = publish.mutable_policy()->add_cookies();
    c->set_name("c" + std::to_string(i));
    c->set_category(std::string(100, 'x'));
    c->set_lifetime(consent::v1::LIFETIME_SESSION);
  }
  consent::v1::PublishPolicyResponse out;
  grpc::Status s =
      server_->policy().PublishPolicy(Context().get(), publish, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("more problem(s)"), std::string::npos);
  EXPECT_LT(s.error_message().size(), 8000u);
}

// Review finding: after a failed write the replica kept serving its cached
// state although the write's outcome was unknown.
TEST_F(ConsentServiceRegressionTest, AFailedWriteDropsTheCachedState) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  ASSERT_TRUE(server_->Check("s", "ia_mkt_source").response.allowed());
  // Make the next write for "s" fail inside its transaction.
  db_.Query(
      "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ "
      "BEGIN RAISE EXCEPTION 'injected failure'; END $$; "
      "CREATE TRIGGER boom BEFORE INSERT ON decisions FOR EACH ROW "
      "WHEN (NEW.consent_version = 2) EXECUTE FUNCTION boom()");
  EXPECT_EQ(server_->Record("s", {{"marketing", false}}).status.error_code(),
            grpc::StatusCode::INTERNAL);
  // Change the truth behind consentd's back: only a replica that dropped
  // its cached state sees it.
  db_.Query(
      "UPDATE subject_choices SET granted = false WHERE subject_id = 's'");
  EXPECT_FALSE(server_->Check("s", "ia_mkt_source").response.allowed());
}

// Review finding: min_consent_version was ignored for necessary cookies on
// a replica that had not cached the subject.
TEST_F(ConsentServiceRegressionTest, MinVersionHoldsForNecessaryCookies) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  server_->Restart();  // Cold cache.
  auto c = server_->Check("s", "refreshToken", "", false, 1);
  ASSERT_TRUE(c.status.ok());
  EXPECT_EQ(c.response.consent_version(), 1);
  EXPECT_EQ(
      server_->Check("s", "refreshToken", "", false, 9).status.error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
}

// Review finding: a later version could carry an earlier time (and expire
// sooner) when the clock went backwards or writes queued.
TEST_F(ConsentServiceRegressionTest, DecisionTimesNeverGoBackwards) {
  auto first = server_->Record("s", {{"statistics", true}});
  ASSERT_TRUE(first.status.ok());
  clock_.Advance(-absl::Hours(1));
  auto second = server_->Record("s", {{"marketing", true}});
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.response.recorded_at().seconds(),
            first.response.recorded_at().seconds());
  EXPECT_EQ(db_.Query("SELECT count(DISTINCT recorded_at) FROM decisions"),
            "1");
}

// Review finding: a retry with the same key but another expected_version
// was answered as a replay.
TEST_F(ConsentServiceRegressionTest,
       ExpectedVersionIsPartOfTheReplayedRequest) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}, "k", 0).status.ok());
  auto other = server_->Record("s", {{"marketing", true}}, "k", 7);
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  auto same = server_->Record("s", {{"marketing", true}}, "k", 0);
  EXPECT_TRUE(same.response.replayed());
}

}  // namespace
}  // namespace consentd::testing
