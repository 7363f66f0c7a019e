#include "storage/group_commit.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace consentd {

GroupCommitter::GroupCommitter(ConsentStore* store, Options options)
    : store_(store), options_(std::move(options)) {
  threads_.reserve(options_.committers);
  for (int i = 0; i < options_.committers; ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void GroupCommitter::Submit(Decision decision, absl::Time deadline, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.push_back(Pending{std::move(decision), deadline, std::move(done)});
      return;
    }
  }
  std::move(done)(absl::UnavailableError(
      "too many decisions are waiting to be written; retry later"));
}

void GroupCommitter::Loop() {
  std::vector<Pending> batch;
  std::vector<ConsentStore::BatchEntry> entries;
  while (true) {
    batch.clear();
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitter* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->stopping_ || !c->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // Stopping, and nothing left to write.
      const size_t take = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // A decision whose caller stopped waiting is not written.
    const absl::Time now = absl::Now();
    entries.clear();
    for (Pending& p : batch) {
      if (p.deadline <= now) {
        std::move(p.done)(absl::DeadlineExceededError(
            "the call's deadline passed before its decision was written; "
            "nothing was written"));
        p.done = nullptr;
        continue;
      }
      entries.push_back({&p.decision, p.deadline});
    }
    if (entries.empty()) continue;
    if (options_.observe_batch) options_.observe_batch(entries.size());
    std::vector<absl::StatusOr<RecordOutcome>> outcomes =
        store_->RecordDecisions(entries);
    size_t next = 0;
    for (Pending& p : batch) {
      if (p.done == nullptr) continue;
      std::move(p.done)(std::move(outcomes[next++]));
    }
  }
}

}  // namespace consentd
