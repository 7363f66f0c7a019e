// Group commit: RecordConsent calls that arrive together share one
// transaction and one WAL flush (ConsentStore::RecordDecisions). Each caller
// is answered only after the commit that holds its decision.
#ifndef CONSENTD_STORAGE_GROUP_COMMIT_H_
#define CONSENTD_STORAGE_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/decision.h"
#include "storage/consent_store.h"

namespace consentd {

// Thread-safe. `committers` threads each take every decision waiting (up to
// max_batch) and record them in one transaction: no decision waits for a
// timer, and under load batches grow by themselves while a commit runs.
class GroupCommitter {
 public:
  struct Options {
    int committers = 2;
    size_t max_batch = 256;
    // Decisions waiting beyond which Submit refuses (Unavailable).
    size_t max_queued = 20000;
    // Told the size of each batch written (optional; for metrics).
    std::function<void(size_t)> observe_batch;
  };
  using Done = absl::AnyInvocable<void(absl::StatusOr<RecordOutcome>) &&>;

  GroupCommitter(ConsentStore* store, Options options);
  // Records everything already submitted, answers it, then joins.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Records `decision` and calls `done` with the outcome, on a committer
  // thread, after its transaction committed or failed. A decision still
  // waiting when `deadline` passes is not written (DeadlineExceeded). Calls
  // `done` at once with Unavailable when too many decisions wait.
  void Submit(Decision decision, absl::Time deadline, Done done);

 private:
  struct Pending {
    Decision decision;
    absl::Time deadline;
    Done done;
  };
  void Loop();

  ConsentStore* const store_;
  const Options options_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace consentd

#endif  // CONSENTD_STORAGE_GROUP_COMMIT_H_
