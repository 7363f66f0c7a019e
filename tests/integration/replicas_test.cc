// Many replicas, one truth: two consentd processes on one PostgreSQL. A
// change committed through one is seen by the other at once with
// min_consent_version, and within the staleness bound without it, also when
// the other's change listener is killed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "tests/integration/process_server.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

constexpr absl::Duration kBound = absl::Seconds(1);

class ReplicasTest : public ::testing::Test {
 protected:
  ReplicasTest()
      : a_(db_.url(), {"--cache_staleness_bound=1s"}),
        b_(db_.url(), {"--cache_staleness_bound=1s"}) {}

  static double Metric(ProcessServer& replica, const std::string& metric) {
    return MetricValue(HttpGet(replica.metrics_port(), "/metrics"), metric);
  }

  bool Allowed(ProcessServer& replica, const std::string& subject,
               const std::string& cookie, int64_t min_version = 0) {
    auto r = replica.Check(subject, cookie, min_version);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    return r.response.allowed();
  }

  TestDatabase db_;
  ProcessServer a_;
  ProcessServer b_;
};

TEST_F(ReplicasTest, AGrantOnOneReplicaIsSeenOnTheOther) {
  // B caches "no decision": the second check is a hit.
  auto before = b_.Check("s-1", "ia_stats_events");
  ASSERT_TRUE(before.status.ok());
  EXPECT_EQ(before.response.reason(), consent::v1::REASON_NO_DECISION);
  const double hits =
      Metric(b_, "consentd_cache_lookups_total{result=\"hit\"}");
  ASSERT_EQ(b_.Check("s-1", "ia_stats_events").response.reason(),
            consent::v1::REASON_NO_DECISION);
  EXPECT_EQ(Metric(b_, "consentd_cache_lookups_total{result=\"hit\"}"),
            hits + 1)
      << "B did not answer from its cached negative entry";

  auto recorded = a_.Record("s-1", "statistics", true);
  ASSERT_TRUE(recorded.status.ok()) << recorded.status.error_message();
  ASSERT_EQ(recorded.response.consent_version(), 1);
  const absl::Time committed = absl::Now();

  // Without min_consent_version, within the bound: B's cached "no
  // decision" is dropped by A's notification (nothing else reads s-1
  // through on B before this).
  auto c = b_.Check("s-2", "ia_stats_events");  // Another subject, unaffected.
  EXPECT_FALSE(c.response.allowed());
  absl::Time allowed_at;
  EXPECT_TRUE(Eventually(
      [&] {
        allowed_at = absl::Now();
        return Allowed(b_, "s-1", "ia_stats_events");
      },
      kBound + absl::Seconds(2)));
  EXPECT_LT(allowed_at, committed + kBound);
  // B applied A's notification, and measured how long it took.
  EXPECT_TRUE(Eventually([&] {
    return Metric(b_, "consentd_change_notification_lag_seconds_count") >= 1;
  }));

  // Read-your-writes: at once on B with min_consent_version, whether or not
  // A's notification has reached B yet (B cached "no decision" for s-3).
  ASSERT_EQ(b_.Check("s-3", "ia_stats_events").response.reason(),
            consent::v1::REASON_NO_DECISION);
  ASSERT_TRUE(a_.Record("s-3", "statistics", true).status.ok());
  auto fresh = b_.Check("s-3", "ia_stats_events", 1);
  ASSERT_TRUE(fresh.status.ok());
  EXPECT_TRUE(fresh.response.allowed());
  EXPECT_EQ(fresh.response.consent_version(), 1);
}

TEST_F(ReplicasTest, MinConsentVersionReadsThroughForEveryRead) {
  // B caches version 1; A records version 2.
  ASSERT_TRUE(a_.Record("s", "marketing", true).status.ok());
  auto cached = b_.Check("s", "ia_mkt_source", 1);
  ASSERT_TRUE(cached.status.ok());
  auto second = a_.Record("s", "marketing", false);
  ASSERT_TRUE(second.status.ok());
  ASSERT_EQ(second.response.consent_version(), 2);

  consent::v1::GetConsentRequest get;
  get.set_subject_id("s");
  get.set_min_consent_version(2);
  consent::v1::GetConsentResponse state;
  ASSERT_TRUE(b_.consent().GetConsent(Context().get(), get, &state).ok());
  EXPECT_EQ(state.consent_version(), 2);
  for (const auto& category : state.categories()) {
    if (category.category() == "marketing") {
      EXPECT_EQ(category.state(), consent::v1::STATE_DENIED);
    }
  }

  consent::v1::CheckCookiesRequest many;
  many.set_subject_id("s");
  many.add_cookie_names("ia_mkt_source");
  many.add_cookie_names("refreshToken");
  many.set_min_consent_version(2);
  consent::v1::CheckCookiesResponse answers;
  ASSERT_TRUE(b_.consent().CheckCookies(Context().get(), many, &answers).ok());
  ASSERT_EQ(answers.results_size(), 2);
  EXPECT_FALSE(answers.results(0).allowed());
  EXPECT_EQ(answers.results(0).consent_version(), 2);
  EXPECT_TRUE(answers.results(1).allowed());

  // A version nobody acknowledged is refused, not answered from older state.
  get.set_min_consent_version(3);
  EXPECT_EQ(b_.consent().GetConsent(Context().get(), get, &state).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ReplicasTest, AWithdrawalIsSeenEverywhereWithinTheBound) {
  ASSERT_TRUE(a_.Record("s", "marketing", true).status.ok());
  EXPECT_TRUE(Allowed(a_, "s", "ia_mkt_source"));
  ASSERT_TRUE(Eventually([&] { return Allowed(b_, "s", "ia_mkt_source"); }));
  EXPECT_TRUE(Allowed(b_, "s", "ia_mkt_source"));  // Warm on both.

  auto withdrawn = a_.Record("s", "marketing", false);
  ASSERT_TRUE(withdrawn.status.ok());
  const absl::Time committed = absl::Now();
  EXPECT_FALSE(Allowed(a_, "s", "ia_mkt_source"));  // The very next call.
  // B: denied within the bound, and never allowed again after it.
  absl::Time last_allowed = absl::InfinitePast();
  while (absl::Now() < committed + kBound + absl::Seconds(1)) {
    if (Allowed(b_, "s", "ia_mkt_source")) last_allowed = absl::Now();
  }
  EXPECT_LT(last_allowed, committed + kBound);
  EXPECT_FALSE(Allowed(b_, "s", "ia_mkt_source"));
  // B dropped its cached grant on hearing of the withdrawal.
  EXPECT_GE(
      Metric(b_, "consentd_cache_invalidations_total{result=\"applied\"}"), 1);
}

TEST_F(ReplicasTest, ConcurrentIdenticalCallsOverBothReplicasMakeOneVersion) {
  constexpr int kCalls = 20;
  std::vector<Reply<consent::v1::RecordConsentResponse>> replies(kCalls);
  auto* barrier = new absl::Barrier(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      if (barrier->Block()) delete barrier;
      replies[i] =
          (i % 2 == 0 ? a_ : b_).Record("s", "statistics", true, "k-1");
    });
  }
  for (auto& t : threads) t.join();
  int fresh = 0;
  for (const auto& r : replies) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.response.consent_version(), 1);
    fresh += r.response.replayed() ? 0 : 1;
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions"), 1);
}

TEST_F(ReplicasTest, TwoDevicesWithTheSameExpectedVersion) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a_.Record("s", "marketing", i % 2 == 0).status.ok());
  }
  Reply<consent::v1::RecordConsentResponse> ra, rb;
  std::thread ta([&] { ra = a_.Record("s", "marketing", true, "", 3); });
  std::thread tb([&] { rb = b_.Record("s", "statistics", true, "", 3); });
  ta.join();
  tb.join();
  ASSERT_NE(ra.status.ok(), rb.status.ok())
      << ra.status.error_message() << " / " << rb.status.error_message();
  const auto& won = ra.status.ok() ? ra : rb;
  const auto& lost = ra.status.ok() ? rb : ra;
  EXPECT_EQ(won.response.consent_version(), 4);
  EXPECT_EQ(lost.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions"), 4);
}

TEST_F(ReplicasTest, AKilledListenerNeverLeavesAStaleAllow) {
  ASSERT_TRUE(a_.Record("s", "marketing", true).status.ok());
  ASSERT_TRUE(Eventually([&] { return Allowed(b_, "s", "ia_mkt_source"); }));

  // Kill B's listening connection, then withdraw through A at once.
  EXPECT_EQ(db_.Query(absl::StrCat(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'consentd-listener/",
                b_.pid(), "'")),
            "1");
  ASSERT_TRUE(a_.Record("s", "marketing", false).status.ok());
  const absl::Time committed = absl::Now();

  absl::Time last_allowed = absl::InfinitePast();
  while (absl::Now() < committed + kBound + absl::Seconds(2)) {
    if (Allowed(b_, "s", "ia_mkt_source")) last_allowed = absl::Now();
  }
  EXPECT_LT(last_allowed, committed + kBound);
  // B's listener comes back and B keeps answering right.
  EXPECT_TRUE(Eventually([&] {
    return MetricValue(HttpGet(b_.metrics_port(), "/metrics"),
                       "consentd_listener_reconnects_total") >= 1 &&
           MetricValue(HttpGet(b_.metrics_port(), "/metrics"),
                       "consentd_cache_trusted") == 1;
  })) << b_.Log();
  EXPECT_FALSE(Allowed(b_, "s", "ia_mkt_source"));
  ASSERT_TRUE(a_.Record("s", "marketing", true).status.ok());
  EXPECT_TRUE(Eventually([&] { return Allowed(b_, "s", "ia_mkt_source"); },
                         kBound + absl::Seconds(2)));
}

TEST_F(ReplicasTest, ForgedNotificationsCannotMakeAReplicaAllow) {
  ASSERT_TRUE(a_.Record("s", "marketing", false).status.ok());
  ASSERT_TRUE(Eventually([&] {
    return b_.Check("s", "ia_mkt_source").response.reason() ==
           consent::v1::REASON_DENIED;
  }));
  // Anyone who can connect may NOTIFY: an invalidation with a huge version
  // only evicts, and garbage makes B start over; neither makes it allow.
  db_.Query("SELECT pg_notify('consentd_changes', 'i 0 999999999 s')");
  db_.Query(
      "SELECT pg_notify('consentd_changes', "
      "'d 0 999999 1 0 1 marketing 1 1 0 s')");
  EXPECT_TRUE(Eventually([&] {
    return MetricValue(HttpGet(b_.metrics_port(), "/metrics"),
                       "consentd_listener_reconnects_total") >= 1;
  })) << b_.Log();
  for (int i = 0; i < 20; ++i) {
    auto r = b_.Check("s", "ia_mkt_source");
    ASSERT_TRUE(r.status.ok());
    EXPECT_FALSE(r.response.allowed());
    EXPECT_EQ(r.response.consent_version(), 1);
  }
}

TEST_F(ReplicasTest, APolicyPublishedOnOneReplicaIsUsedByTheOther) {
  ASSERT_TRUE(a_.Record("s", "marketing", true).status.ok());
  ASSERT_TRUE(Eventually([&] { return Allowed(b_, "s", "ia_mkt_source"); }));
  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-06-01");
  publish.mutable_policy()->add_reconsent_categories("marketing");
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(
      a_.policy().PublishPolicy(Context().get(), publish, &published).ok());
  EXPECT_TRUE(Eventually(
      [&] {
        auto r = b_.Check("s", "ia_mkt_source");
        return r.response.reason() == consent::v1::REASON_RECONSENT_REQUIRED &&
               r.response.policy_version() == "2026-06-01";
      },
      kBound + absl::Seconds(2)));
}

TEST(ReadPath, ConcurrentMissesForOneSubjectCostOneRead) {
  TestDatabase db;
  ProcessServer server(db.url());
  ASSERT_TRUE(server.Record("busy", "statistics", true).status.ok());
  // A restart empties the cache: the next checks all miss at once.
  const std::string load =
      "consentd_db_query_seconds_count{statement=\"load_subject\"}";
  const double reads_before =
      MetricValue(HttpGet(server.metrics_port(), "/metrics"), load);
  constexpr int kCalls = 32;
  auto* barrier = new absl::Barrier(kCalls);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      if (barrier->Block()) delete barrier;
      // Distinct subjects would each read; the same one reads once.
      if (server.Check("never-seen", "ia_stats_events").status.ok()) {
        ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kCalls);
  EXPECT_EQ(MetricValue(HttpGet(server.metrics_port(), "/metrics"), load),
            std::max(reads_before, 0.0) + 1);
}

TEST(ReadPath, TheWritingReplicaCachesWhatItWrote) {
  // A committed decision replaces the writer's cached entry before the call
  // returns: the check right after it is a hit, with no read.
  TestDatabase db;
  ProcessServer server(db.url());
  auto metric = [&](const std::string& name) {
    return std::max(
        MetricValue(HttpGet(server.metrics_port(), "/metrics"), name), 0.0);
  };
  const std::string load =
      "consentd_db_query_seconds_count{statement=\"load_subject\"}";
  const std::string hit = "consentd_cache_lookups_total{result=\"hit\"}";
  ASSERT_FALSE(server.Check("writer", "ia_stats_events").response.allowed());
  const double reads = metric(load);
  const double hits = metric(hit);
  ASSERT_EQ(reads, 1) << "the first check should have read the subject";
  ASSERT_TRUE(server.Record("writer", "statistics", true).status.ok());
  auto after = server.Check("writer", "ia_stats_events");
  ASSERT_TRUE(after.status.ok());
  EXPECT_TRUE(after.response.allowed());
  EXPECT_EQ(after.response.consent_version(), 1);
  EXPECT_EQ(metric(hit), hits + 1) << "the check after the write missed";
  EXPECT_EQ(metric(load), reads) << "the check after the write read again";
  // A subject first seen through its write is cached too.
  ASSERT_TRUE(server.Record("new-writer", "marketing", true).status.ok());
  EXPECT_TRUE(server.Check("new-writer", "ia_mkt_source").response.allowed());
  EXPECT_EQ(metric(load), reads);
}

TEST(Metrics, NoSubjectOrCookieNameBecomesALabel) {
  // Labels are bounded by the policy (reasons, categories, statements,
  // methods): what callers send never reaches the exposition.
  TestDatabase db;
  ProcessServer server(db.url());
  const std::string subject = "subject-label-probe-7f3a";
  const std::string unknown = "cookie_label_probe_9c1d";
  ASSERT_TRUE(server.Record(subject, "statistics", true).status.ok());
  ASSERT_TRUE(server.Check(subject, "ia_stats_events").status.ok());
  ASSERT_TRUE(server.Check(subject, unknown).status.ok());
  ASSERT_FALSE(server.Check("", "ia_stats_events").status.ok());
  const std::string exposition = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_NE(exposition.find("consentd_cookie_checks_total"), std::string::npos);
  EXPECT_EQ(exposition.find(subject), std::string::npos);
  EXPECT_EQ(exposition.find(unknown), std::string::npos);
  EXPECT_EQ(exposition.find("label-probe"), std::string::npos);
  EXPECT_EQ(exposition.find("label_probe"), std::string::npos);
}

TEST(ReplicaCacheBound, ThousandSubjectCacheUnderTenThousandSubjects) {
  TestDatabase db;
  // Room for 1,000 subjects: 64 bytes each, and a sixteenth more for
  // states that do not fit a slot (docs/consistency.md).
  constexpr int kBytes = 1000 * 64 * 17 / 16;
  ProcessServer server(db.url(), {absl::StrCat("--cache_max_bytes=", kBytes)});
  // Every 50th subject grants statistics.
  for (int i = 0; i < 10000; i += 50) {
    ASSERT_TRUE(server.Record(absl::StrCat("subject-", i), "statistics", true)
                    .status.ok());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int pass = 0; pass < 2; ++pass) {
        for (int i = t; i < 10000; i += 4) {
          auto r = server.Check(absl::StrCat("subject-", i), "ia_stats_events");
          if (!r.status.ok() || r.response.allowed() != (i % 50 == 0)) ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_LE(MetricValue(metrics, "consentd_cache_bytes"), kBytes);
  EXPECT_GT(MetricValue(metrics, "consentd_cache_evictions_total"), 9000);
  EXPECT_LE(MetricValue(metrics, "consentd_cache_entries"), 1000);
  EXPECT_GT(MetricValue(metrics, "consentd_cache_entries"), 800);
}

}  // namespace
}  // namespace consentd::testing
