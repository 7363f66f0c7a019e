// Nothing acknowledged is ever lost, and no answer is "allowed" on a guess,
// under faults: replicas killed or stopped mid-write, every database
// connection terminated, PostgreSQL stopped (fast and immediate) and
// started again, PostgreSQL restarted under a large export, and clients
// that abandon their calls. Each scenario runs the workload of workload.h
// against two consentd processes on a PostgreSQL of its own, injects its
// fault, heals it, retries what got no answer and judges the history.
//
// CONSENTD_FAULT_SOAK=N multiplies the durations and counts by N for a
// longer manual run (docs/faults.md).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "consent/v1/audit.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/fault/pg_cluster.h"
#include "tests/fault/workload.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

constexpr absl::Duration kBound = absl::Seconds(1);
// The checker's allowance for scheduling on a loaded 2-core machine, on top
// of the replicas' staleness bound.
constexpr absl::Duration kSlack = absl::Milliseconds(500);

int Soak() {
  int n = 1;
  const char* v = std::getenv("CONSENTD_FAULT_SOAK");
  if (v != nullptr && (!absl::SimpleAtoi(v, &n) || n < 1)) n = 1;
  return n;
}

// How long the workload runs between faults.
absl::Duration Phase() { return absl::Milliseconds(1500) * Soak(); }

// The workload runs meanwhile: this is the length of a phase of the
// scenario, not a wait for something to happen.
void LetRun(absl::Duration d) {
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

class FaultTest : public ::testing::Test {
 protected:
  FaultTest()
      : replicas_(db_.url(),
                  {"--cache_staleness_bound=1s", "--shutdown_grace=5s"}) {}

  // A write of the test's own (not the workload's), with a key.
  Reply<consent::v1::RecordConsentResponse> Probe(int replica,
                                                  const std::string& name) {
    return replicas_.Get(replica)->Record(name, "marketing", true, name);
  }

  PgCluster db_;
  Replicas replicas_;
};

TEST_F(FaultTest, KillNineOfAReplicaMidWriteLosesNoAcknowledgedWrite) {
  // 4 clients x 200 writes with idempotency keys; replica 1 is killed once a
  // random share (10-60 %) of them is acknowledged, and started again;
  // unanswered writes are retried with their keys: every write has exactly
  // one version.
  const int64_t total = 4 * 200 * Soak();
  Workload workload(&replicas_,
                    {.clients = 4, .writes_per_client = 200 * Soak()});
  workload.Start();
  absl::BitGen random;
  const int64_t kill_after =
      absl::Uniform<int64_t>(random, total / 10, total * 6 / 10);
  ASSERT_TRUE(Eventually([&] { return workload.acked_writes() >= kill_after; },
                         absl::Seconds(60)));
  const absl::Time killed = absl::Now();
  replicas_.Stop(1, SIGKILL);
  // The kill landed mid-write: the clients had writes still to make.
  EXPECT_FALSE(workload.Done());
  EXPECT_LT(workload.acked_writes(), total);
  LetRun(absl::Milliseconds(300));
  replicas_.Restart(1);
  const absl::Time restarted = absl::Now();
  EXPECT_TRUE(Eventually([&] { return workload.Done(); }, absl::Seconds(120)));
  workload.Stop();
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db_, kBound + kSlack);
  EXPECT_EQ(workload.acked_writes(), total);
  // Writes were cut by the kill: calls on replica 1 in flight when it died,
  // or sent to it while it was down, got no answer (and were retried with
  // their keys; Verify found each acknowledged once). Writes went on after
  // the restart, on the new replica 1 too.
  int64_t in_flight = 0, refused = 0, after_on_1 = 0;
  for (const AttemptRecord& a : workload.attempts()) {
    if (a.replica != 1) continue;
    if (a.code != grpc::StatusCode::OK && a.sent < killed &&
        a.replied >= killed) {
      ++in_flight;
    } else if (a.code != grpc::StatusCode::OK && a.sent >= killed &&
               a.sent < restarted) {
      ++refused;
    } else if (a.code == grpc::StatusCode::OK && a.sent >= restarted) {
      ++after_on_1;
    }
  }
  EXPECT_GT(in_flight + refused, 0)
      << "no write on replica 1 was cut by the kill";
  EXPECT_GT(after_on_1, 0) << "no write was answered by the new replica 1";
  std::cout << "[ figures  ] killed after " << kill_after << " of " << total
            << " writes: " << in_flight << " call(s) in flight on replica 1, "
            << refused << " refused while it was down\n";
}

TEST_F(FaultTest, SigtermOfAReplicaMidWriteLosesNoAcknowledgedWrite) {
  Workload workload(&replicas_, {.clients = 4});
  workload.Start();
  LetRun(Phase());
  replicas_.Stop(0, SIGTERM);
  LetRun(absl::Milliseconds(300));
  replicas_.Restart(0);
  LetRun(Phase());
  workload.Stop();
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db_, kBound + kSlack);
}

TEST_F(FaultTest, EveryDatabaseConnectionTerminated) {
  const std::string kill_all =
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name LIKE 'consentd%'";
  Workload workload(&replicas_, {.clients = 4});
  workload.Start();
  LetRun(Phase());
  for (int round = 0; round < 3; ++round) {
    EXPECT_GT(db_.Count(kill_all), 0);
    LetRun(Phase() / 3);
  }
  workload.Stop();
  // Right after every pool and listener connection is cut, calls succeed
  // (consentd retries on a fresh connection), and none is INTERNAL.
  EXPECT_GT(db_.Count(kill_all), 0);
  for (int i = 0; i < 2; ++i) {
    auto write = Probe(i, absl::StrCat("after-cut-", i));
    EXPECT_TRUE(write.status.ok())
        << "replica " << i << ": " << write.status.error_code() << " "
        << write.status.error_message();
    auto check =
        replicas_.Get(i)->Check(absl::StrCat("uncached-", i), "ia_mkt_source");
    EXPECT_TRUE(check.status.ok())
        << "replica " << i << ": " << check.status.error_code() << " "
        << check.status.error_message();
  }
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db_, kBound + kSlack);
}

// Checks, every 25 ms on both replicas, an optional cookie of one subject
// (ia_mkt_source) and a necessary one (refreshToken), and records each
// answer with the time it was sent.
class CheckPoller {
 public:
  struct Answer {
    int replica = 0;
    bool necessary = false;
    absl::Time sent;
    grpc::StatusCode code = grpc::StatusCode::OK;
    bool allowed = false;
    int64_t version = 0;
    consent::v1::Reason reason = consent::v1::REASON_UNSPECIFIED;
  };

  CheckPoller(Replicas* replicas, std::string subject)
      : replicas_(replicas), subject_(std::move(subject)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~CheckPoller() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Answer> answers() const {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  void Run() {
    while (!stop_) {
      for (int i = 0; i < 2; ++i) {
        for (const bool necessary : {false, true}) {
          Answer a;
          a.replica = i;
          a.necessary = necessary;
          std::shared_ptr<ProcessServer> server = replicas_->Get(i);
          a.sent = absl::Now();
          auto reply =
              server->Check(subject_, necessary ? "refreshToken" : kOptional);
          a.code = reply.status.error_code();
          a.allowed = reply.response.allowed();
          a.version = reply.response.consent_version();
          a.reason = reply.response.reason();
          absl::MutexLock lock(&mu_);
          answers_.push_back(a);
        }
      }
      absl::SleepFor(absl::Milliseconds(25));  // The polling period.
    }
  }

  static constexpr char kOptional[] = "ia_mkt_source";
  Replicas* const replicas_;
  const std::string subject_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<Answer> answers_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// PostgreSQL away for 10 s: necessary cookies still answer, writes fail
// fast, health says so; once it is back, writes succeed again within
// seconds on the same processes. A subject whose grant both replicas have
// cached is answered from the cache at most the staleness bound into the
// outage, and UNAVAILABLE after it (never "allowed" on a guess); once
// PostgreSQL is back it is answered right again, and a new decision is seen.
void PostgresOutage(PgCluster& db, Replicas& replicas,
                    const std::string& mode) {
  Workload workload(&replicas, {.clients = 3});
  workload.Start();
  LetRun(Phase());
  const pid_t pids[2] = {replicas.Get(0)->pid(), replicas.Get(1)->pid()};

  // A recorded grant, cached on both replicas: the writer caches what it
  // wrote; replica 1 reads it through (min_consent_version) and caches it.
  const std::string cached = "outage-cached";
  auto grant = replicas.Get(0)->Record(cached, "marketing", true, cached);
  ASSERT_TRUE(grant.status.ok()) << grant.status.error_message();
  const int64_t granted = grant.response.consent_version();
  for (int i = 0; i < 2; ++i) {
    auto check = replicas.Get(i)->Check(cached, "ia_mkt_source", granted);
    ASSERT_TRUE(check.status.ok()) << check.status.error_message();
    EXPECT_TRUE(check.response.allowed());
    EXPECT_EQ(check.response.consent_version(), granted);
  }
  CheckPoller poller(&replicas, cached);
  LetRun(absl::Milliseconds(300));  // Answers from before the outage.

  const absl::Time stopping = absl::Now();
  db.Stop(mode);
  const absl::Time stopped = absl::Now();
  for (int i = 0; i < 2; ++i) {
    std::shared_ptr<ProcessServer> server = replicas.Get(i);
    auto necessary = server->Check("outage-subject", "refreshToken");
    ASSERT_TRUE(necessary.status.ok()) << necessary.status.error_message();
    EXPECT_TRUE(necessary.response.allowed());
    EXPECT_EQ(necessary.response.reason(), consent::v1::REASON_NECESSARY);
    const absl::Time sent = absl::Now();
    auto write = server->Record("outage-subject", "marketing", true);
    EXPECT_EQ(write.status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << write.status.error_message();
    EXPECT_LT(absl::Now() - sent, absl::Seconds(2)) << "a write hung";
    // An optional cookie of a subject not in memory: never a guess.
    auto optional = server->Check("never-cached", "ia_mkt_source");
    EXPECT_EQ(optional.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    // Health: the database is reported away.
    auto health = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                            grpc::InsecureChannelCredentials()));
    EXPECT_TRUE(Eventually([&] {
      grpc::health::v1::HealthCheckRequest request;
      request.set_service("consentd.database");
      grpc::health::v1::HealthCheckResponse response;
      grpc::ClientContext context;
      return health->Check(&context, request, &response).ok() &&
             response.status() ==
                 grpc::health::v1::HealthCheckResponse::NOT_SERVING;
    }));
    // The rest of the report (docs/operations.md): checks still answer, so
    // the process and ConsentService stay SERVING; the services that need
    // the database do not.
    auto status_of = [&](const std::string& service) {
      grpc::health::v1::HealthCheckRequest request;
      request.set_service(service);
      grpc::health::v1::HealthCheckResponse response;
      grpc::ClientContext context;
      EXPECT_TRUE(health->Check(&context, request, &response).ok()) << service;
      return response.status();
    };
    EXPECT_EQ(status_of(""), grpc::health::v1::HealthCheckResponse::SERVING);
    EXPECT_EQ(status_of("consent.v1.ConsentService"),
              grpc::health::v1::HealthCheckResponse::SERVING);
    EXPECT_EQ(status_of("consent.v1.PolicyService"),
              grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    EXPECT_EQ(status_of("consent.v1.AuditService"),
              grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
  LetRun(absl::Seconds(10) - (absl::Now() - stopped));
  const absl::Time starting = absl::Now();
  db.Start();
  const absl::Time started = absl::Now();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(Eventually(
        [&] {
          return replicas.Get(i)
              ->Record(absl::StrCat("after-outage-", i), "marketing", true,
                       absl::StrCat("after-outage-", i))
              .status.ok();
        },
        absl::Seconds(10)))
        << "replica " << i << " cannot write after PostgreSQL came back";
    EXPECT_EQ(replicas.Get(i)->pid(), pids[i]);
  }
  // The services that need the database report SERVING again.
  for (int i = 0; i < 2; ++i) {
    auto health = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", replicas.Get(i)->port()),
                            grpc::InsecureChannelCredentials()));
    for (const char* service : {"consentd.database", "consent.v1.PolicyService",
                                "consent.v1.AuditService"}) {
      EXPECT_TRUE(Eventually(
          [&] {
            grpc::health::v1::HealthCheckRequest request;
            request.set_service(service);
            grpc::health::v1::HealthCheckResponse response;
            grpc::ClientContext context;
            return health->Check(&context, request, &response).ok() &&
                   response.status() ==
                       grpc::health::v1::HealthCheckResponse::SERVING;
          },
          absl::Seconds(10)))
          << "replica " << i << ": " << service << " after the outage";
    }
  }
  std::cout << "[ figures  ] " << mode << " stop: writes succeed again "
            << absl::FormatDuration(absl::Now() - started)
            << " after PostgreSQL started\n";

  // The cached subject is answered again, right, on both replicas.
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(Eventually(
        [&] {
          auto check = replicas.Get(i)->Check(cached, "ia_mkt_source");
          return check.status.ok() && check.response.allowed() &&
                 check.response.consent_version() == granted;
        },
        absl::Seconds(10)))
        << "replica " << i << " does not answer the cached subject again";
  }
  poller.Stop();
  const std::vector<CheckPoller::Answer> answers = poller.answers();
  for (int i = 0; i < 2; ++i) {
    int before = 0, from_cache = 0, refused_after_bound = 0;
    absl::Time first_refused = absl::InfiniteFuture();
    for (const CheckPoller::Answer& a : answers) {
      if (a.replica != i) continue;
      if (a.necessary) {
        // Necessary cookies answer throughout, database or not.
        EXPECT_EQ(a.code, grpc::StatusCode::OK)
            << "replica " << i << ": a necessary cookie at "
            << absl::FormatDuration(a.sent - stopping) << " into the outage";
        EXPECT_TRUE(a.allowed);
        EXPECT_EQ(a.reason, consent::v1::REASON_NECESSARY);
        continue;
      }
      if (a.code == grpc::StatusCode::OK) {
        // Whenever answered, the answer is the recorded grant: from the
        // cache during the outage, from PostgreSQL before and after.
        EXPECT_TRUE(a.allowed) << "replica " << i;
        EXPECT_EQ(a.version, granted) << "replica " << i;
      }
      if (a.sent < stopping) {
        EXPECT_EQ(a.code, grpc::StatusCode::OK) << "replica " << i;
        ++before;
      } else if (a.sent < starting) {
        if (a.code == grpc::StatusCode::OK) {
          // From the cache (or from PostgreSQL in the first moments of
          // its shutdown): only within the bound.
          ++from_cache;
          EXPECT_LT(a.sent, stopping + kBound + kSlack)
              << "replica " << i << " answered from its cache "
              << absl::FormatDuration(a.sent - stopping)
              << " into the outage, beyond the staleness bound";
        } else {
          // The cache is not trusted: a read through, which fails closed.
          EXPECT_EQ(a.code, grpc::StatusCode::UNAVAILABLE) << "replica " << i;
          EXPECT_FALSE(a.allowed);
          first_refused = std::min(first_refused, a.sent);
          if (a.sent >= stopping + kBound + kSlack) ++refused_after_bound;
        }
      }
    }
    EXPECT_GT(before, 0) << "replica " << i;
    // The listener sees its connection close, and the cache is distrusted
    // at once (docs/consistency.md), not only when the bound runs out after
    // the last heartbeat (which would be 7/8 of the bound or later).
    EXPECT_LT(first_refused, stopping + kBound / 2)
        << "replica " << i << " answered from its cache for "
        << absl::FormatDuration(first_refused - stopping) << " into the outage";
    EXPECT_GT(refused_after_bound, 0)
        << "replica " << i << ": no check of the cached subject after the "
        << "bound (was the poller running?)";
    std::cout << "[ figures  ] " << mode << " stop, replica " << i << ": "
              << from_cache << " answer(s) from the cache, refused from "
              << absl::FormatDuration(first_refused - stopping)
              << " into the outage (pg_ctl stop took "
              << absl::FormatDuration(stopped - stopping) << ")\n";
  }

  // A new decision after the outage is seen: on the writer at once, on the
  // other replica with min_consent_version.
  auto refusal = replicas.Get(1)->Record(cached, "marketing", false,
                                         absl::StrCat(cached, "-refusal"));
  ASSERT_TRUE(refusal.status.ok()) << refusal.status.error_message();
  const int64_t refused = refusal.response.consent_version();
  EXPECT_EQ(refused, granted + 1);
  auto writer = replicas.Get(1)->Check(cached, "ia_mkt_source");
  ASSERT_TRUE(writer.status.ok()) << writer.status.error_message();
  EXPECT_FALSE(writer.response.allowed());
  EXPECT_EQ(writer.response.consent_version(), refused);
  auto other = replicas.Get(0)->Check(cached, "ia_mkt_source", refused);
  ASSERT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_FALSE(other.response.allowed());
  EXPECT_EQ(other.response.consent_version(), refused);
  LetRun(Phase());
  workload.Stop();
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db, kBound + kSlack);
}

TEST_F(FaultTest, PostgresStoppedFastForTenSeconds) {
  PostgresOutage(db_, replicas_, "fast");
}

TEST_F(FaultTest, PostgresCrashedForTenSeconds) {
  PostgresOutage(db_, replicas_, "immediate");
}

TEST_F(FaultTest, ClientsAbandoningCallsMidWrite) {
  // A third of first attempts have a deadline of 1-20 ms: many calls are
  // given up while their write is queued, running or committing. Retried
  // with their keys, each write ends with exactly one version.
  Workload workload(&replicas_, {.clients = 4, .short_deadline_share = 0.35});
  workload.Start();
  LetRun(Phase() * 2);
  workload.Stop();
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db_, kBound + kSlack);
  // Calls were abandoned: short-deadline attempts that ran out (the client
  // gave up; whether the write committed is learnt from its retry).
  int64_t abandoned = 0;
  for (const AttemptRecord& a : workload.attempts()) {
    if (a.deadline <= absl::Milliseconds(20) &&
        a.code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++abandoned;
    }
  }
  int64_t replayed = 0;
  for (const WriteRecord& w : workload.writes()) replayed += w.replayed;
  EXPECT_GT(abandoned, 0) << "no call was abandoned";
  // And some were abandoned mid-write: committed after the client gave up.
  EXPECT_GT(replayed, 0) << "no abandoned write turned out committed";
  std::cout << "[ figures  ] " << abandoned << " calls abandoned; " << replayed
            << " of their writes had committed (the retry was a replay)\n";
}

TEST_F(FaultTest, PostgresRestartedDuringALargeExport) {
  constexpr int kEvents = 60000;
  InsertSignedAuditEvents(db_.url(), kEvents);
  ASSERT_TRUE(Eventually(
      [&] { return db_.Count("SELECT count(*) FROM audit_unsealed") == 0; },
      absl::Seconds(120)));
  const int64_t total = db_.Count("SELECT count(*) FROM audit_chain");
  // Read the export; restart PostgreSQL under it after 5 messages (the
  // stream may carry on: each page is read on a fresh connection if need
  // be), then stop it after 15 messages and start it only once the stream
  // ended, which it must with UNAVAILABLE before the end of the log. Resume
  // from the last sequence received until the end: every event comes
  // exactly once, in order.
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", replicas_.Get(0)->port()),
                          grpc::InsecureChannelCredentials());
  auto audit = consent::v1::AuditService::NewStub(channel);
  std::set<int64_t> seen;
  int64_t last = 0;
  int streams = 0;
  int messages = 0;
  bool restarted = false;
  bool stopped = false;
  int interruptions = 0;
  int64_t stopped_at = -1;      // The last sequence received when stopped.
  int64_t interrupted_at = -1;  // ... when that stream ended.
  while (last < total && streams < 50) {
    ++streams;
    consent::v1::ExportAuditLogRequest request;
    request.set_after_sequence(last);
    grpc::ClientContext context;
    context.AddMetadata("authorization",
                        absl::StrCat("Bearer ", kSupportToken));
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto reader = audit->ExportAuditLog(&context, request);
    consent::v1::ExportAuditLogResponse page;
    while (reader->Read(&page)) {
      for (const consent::v1::AuditEvent& e : page.events()) {
        EXPECT_EQ(e.sequence(), last + 1) << "out of order or a gap";
        EXPECT_TRUE(seen.insert(e.sequence()).second)
            << "sequence " << e.sequence() << " delivered twice";
        last = e.sequence();
      }
      ++messages;
      if (messages == 5 && !restarted) {
        db_.Stop("fast");
        db_.Start();
        restarted = true;
      }
      if (messages == 15 && !stopped) {
        db_.Stop("fast");
        stopped = true;
        stopped_at = last;
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      ++interruptions;
      // A dropped connection is UNAVAILABLE (retry), never INTERNAL.
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << status.error_message();
    }
    if (stopped && interrupted_at < 0) {
      // The stream open while PostgreSQL was down has ended: how?
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << "the export went on while PostgreSQL was stopped: "
          << status.error_message();
      interrupted_at = last;
      db_.Start();
    }
    if (!status.ok()) {
      EXPECT_TRUE(Eventually([&] {
        return db_.Count("SELECT 1") == 1;  // PostgreSQL is back.
      }));
    }
  }
  EXPECT_TRUE(restarted);
  EXPECT_TRUE(stopped);
  EXPECT_GE(interruptions, 1);
  EXPECT_GE(streams, 2);
  EXPECT_LT(interrupted_at, total) << "the stream reached the end regardless";
  EXPECT_EQ(last, total);
  EXPECT_EQ(static_cast<int64_t>(seen.size()), total);
  std::cout << "[ figures  ] " << total << " events in " << streams
            << " stream(s), " << interruptions << " ended UNAVAILABLE; "
            << "stopped at sequence " << stopped_at << ", that stream ended at "
            << interrupted_at << "\n";
}

}  // namespace
}  // namespace consentd::testing
