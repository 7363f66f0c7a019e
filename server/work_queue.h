// A fixed pool of threads running queued tasks: where RPC handlers send work
// that touches the database, so that gRPC's callback threads never block.
#ifndef CONSENTD_SERVER_WORK_QUEUE_H_
#define CONSENTD_SERVER_WORK_QUEUE_H_

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace consentd {

// Thread-safe. Tasks run in FIFO order on `threads` threads.
class WorkQueue {
 public:
  WorkQueue(int threads, size_t max_queued);
  // Runs every task already queued, then joins the threads.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`. Unavailable when max_queued tasks are waiting (the task
  // is not run) or the queue is shutting down.
  absl::Status Submit(absl::AnyInvocable<void() &&> task);

  size_t Queued() const;

 private:
  void Loop();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_WORK_QUEUE_H_
