// The fault suite's workload and its judge. Several clients record, withdraw
// and check consent through two consentd replicas, record every write attempt
// and every check with the times it was sent and answered, and retry writes
// that got no answer with the same idempotency key. Afterwards the history read
// back from the service and from PostgreSQL must account for every acknowledged
// write, and every check answer must follow from that history, from its
// min_consent_version and from the staleness bound.
#ifndef CONSENTD_TESTS_FAULT_WORKLOAD_H_
#define CONSENTD_TESTS_FAULT_WORKLOAD_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/fault/pg_cluster.h"
#include "tests/integration/process_server.h"

namespace consentd::testing {

// Two consentd processes on one database, which a test may kill or stop
// and start again while clients call them. Thread-safe.
class Replicas {
 public:
  Replicas(std::string db_url, std::vector<std::string> flags);
  ~Replicas();

  // The replica `i` (0 or 1) as it is now; keep the pointer for a call.
  std::shared_ptr<ProcessServer> Get(int i) const;
  // Sends `signal` to replica `i` and waits for it to exit.
  void Stop(int i, int signal);
  // Starts replica `i` again (a new process, on a new port).
  void Restart(int i);

 private:
  const std::string db_url_;
  const std::vector<std::string> flags_;
  mutable absl::Mutex mu_;
  std::shared_ptr<ProcessServer> servers_[2] ABSL_GUARDED_BY(mu_);
};

struct WorkloadOptions {
  int clients = 4;
  int subjects_per_client = 3;
  // Each client stops after this many logical writes (0: when stopped).
  int writes_per_client = 0;
  // A share of first attempts get a deadline of 1-20 ms, so that calls are
  // abandoned in the middle of their writes.
  double short_deadline_share = 0;
  absl::Duration call_deadline = absl::Seconds(5);
};

// One logical RecordConsent: its payload, and the answer it finally got.
struct WriteRecord {
  std::string subject;
  std::string key;
  bool marketing = false;
  bool statistics = false;
  int attempts = 0;
  bool acked = false;
  // The acknowledging answer was a replay: an earlier attempt, which got no
  // answer, had committed.
  bool replayed = false;
  int64_t version = 0;
  absl::Time acked_at;  // When the acknowledging reply arrived.
};

// One RecordConsent call (a logical write may take several).
struct AttemptRecord {
  std::string key;
  int replica = 0;
  absl::Duration deadline;
  absl::Time sent;
  absl::Time replied;  // When the call returned, answered or not.
  grpc::StatusCode code = grpc::StatusCode::OK;
};

struct CheckRecord {
  std::string subject;
  int replica = 0;
  int64_t min_version = 0;
  absl::Time sent;
  absl::Time replied;
  grpc::StatusCode code = grpc::StatusCode::OK;
  bool allowed = false;
  int64_t version = 0;
};

class Workload {
 public:
  Workload(Replicas* replicas, WorkloadOptions options);
  ~Workload();

  void Start();
  // Stops the clients (each finishes its call in flight).
  void Stop();
  // True once every client has made its writes_per_client.
  bool Done() const;
  // Retries every write still unanswered, with its key, until answered.
  void RetryUnanswered(absl::Duration timeout);

  int64_t acked_writes() const;
  // Every RecordConsent call made so far, in the order they returned.
  std::vector<AttemptRecord> attempts() const;
  // The logical writes settled so far (answered, or given up at Stop).
  std::vector<WriteRecord> writes() const;
  // Calls answered with a code no fault should cause (INTERNAL, UNKNOWN,
  // ...), described.
  std::vector<std::string> UnexpectedErrors() const;

  // Everything the test must hold afterwards; adds a test failure for each
  // violation. `bound`: the replicas' staleness bound plus scheduling slack.
  void Verify(PgCluster& db, absl::Duration bound);

 private:
  void Client(int client);
  // One attempt of `write` on replica `i`; true when answered.
  bool Attempt(WriteRecord& write, int i, absl::Duration deadline);
  void Note(const std::string& unexpected);

  Replicas* const replicas_;
  const WorkloadOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;
  std::vector<std::vector<WriteRecord>> writes_ ABSL_GUARDED_BY(mu_);
  std::vector<CheckRecord> checks_ ABSL_GUARDED_BY(mu_);
  std::vector<AttemptRecord> attempts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> unexpected_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> done_clients_{0};
};

}  // namespace consentd::testing

#endif  // CONSENTD_TESTS_FAULT_WORKLOAD_H_
