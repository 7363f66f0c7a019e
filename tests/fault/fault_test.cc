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

#include <cstdlib>
#include <memory>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
  // 4 clients x 200 writes with idempotency keys; replica 1 is killed at a
  // random moment and started again; unanswered writes are retried with
  // their keys: every write has exactly one version.
  Workload workload(&replicas_,
                    {.clients = 4, .writes_per_client = 200 * Soak()});
  workload.Start();
  absl::BitGen random;
  LetRun(absl::Milliseconds(absl::Uniform(random, 300, 1500)));
  replicas_.Stop(1, SIGKILL);
  LetRun(absl::Milliseconds(300));
  replicas_.Restart(1);
  EXPECT_TRUE(Eventually([&] { return workload.Done(); }, absl::Seconds(120)));
  workload.Stop();
  workload.RetryUnanswered(absl::Seconds(30));
  workload.Verify(db_, kBound + kSlack);
  EXPECT_EQ(workload.acked_writes(), 4 * 200 * Soak());
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

// PostgreSQL away for 10 s: necessary cookies still answer, writes fail
// fast, health says so; once it is back, writes succeed again within
// seconds on the same processes.
void PostgresOutage(PgCluster& db, Replicas& replicas,
                    const std::string& mode) {
  Workload workload(&replicas, {.clients = 3});
  workload.Start();
  LetRun(Phase());
  const pid_t pids[2] = {replicas.Get(0)->pid(), replicas.Get(1)->pid()};
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
  }
  LetRun(absl::Seconds(10) - (absl::Now() - stopped));
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
  std::cout << "[ figures  ] " << mode << " stop: writes succeed again "
            << absl::FormatDuration(absl::Now() - started)
            << " after PostgreSQL started\n";
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
}

TEST_F(FaultTest, PostgresRestartedDuringALargeExport) {
  constexpr int kEvents = 60000;
  InsertSignedAuditEvents(db_.url(), kEvents);
  ASSERT_TRUE(Eventually(
      [&] { return db_.Count("SELECT count(*) FROM audit_unsealed") == 0; },
      absl::Seconds(120)));
  const int64_t total = db_.Count("SELECT count(*) FROM audit_chain");
  // Read the export slowly; restart PostgreSQL under it; resume from the
  // last sequence received until the end. Every event comes exactly once.
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", replicas_.Get(0)->port()),
                          grpc::InsecureChannelCredentials());
  auto audit = consent::v1::AuditService::NewStub(channel);
  std::set<int64_t> seen;
  int64_t last = 0;
  int streams = 0;
  bool restarted = false;
  bool interrupted = false;
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
    int pages = 0;
    while (reader->Read(&page)) {
      for (const consent::v1::AuditEvent& e : page.events()) {
        EXPECT_EQ(e.sequence(), last + 1) << "out of order or a gap";
        EXPECT_TRUE(seen.insert(e.sequence()).second)
            << "sequence " << e.sequence() << " delivered twice";
        last = e.sequence();
      }
      if (++pages == 5 && !restarted) {
        db_.Stop("fast");
        db_.Start();
        restarted = true;
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      interrupted = true;
      // A dropped connection is UNAVAILABLE (retry), never INTERNAL.
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << status.error_message();
      EXPECT_TRUE(Eventually([&] {
        return db_.Count("SELECT 1") == 1;  // PostgreSQL is back.
      }));
    }
  }
  EXPECT_TRUE(restarted);
  EXPECT_EQ(last, total);
  EXPECT_EQ(static_cast<int64_t>(seen.size()), total);
  std::cout << "[ figures  ] " << total << " events in " << streams
            << " stream(s)"
            << (interrupted ? ", resumed after the restart" : "") << "\n";
}

}  // namespace
}  // namespace consentd::testing
