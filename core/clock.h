// Time as the domain sees it. Everything that depends on "now" (decision
// expiry, recorded_at) takes a Clock so tests can control time without sleeps.
#ifndef CONSENTD_CORE_CLOCK_H_
#define CONSENTD_CORE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace consentd {

// A source of the current time (UTC). Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static Clock* Get();
};

// A clock that never jumps: time since an arbitrary start (the machine's
// boot), as an absl::Time. For deadlines within one process (the cache's
// trust), where a wall-clock step must not extend or cut them.
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override;
  static Clock* Get();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace consentd

#endif  // CONSENTD_CORE_CLOCK_H_
