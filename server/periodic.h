// Runs a function on its own thread every `interval` until destroyed.
#ifndef CONSENTD_SERVER_PERIODIC_H_
#define CONSENTD_SERVER_PERIODIC_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace consentd {

// Thread-safe. The first run is `first_delay` after construction, then one
// every `interval`.
class Periodic {
 public:
  Periodic(absl::Duration interval, std::function<void()> fn,
           absl::Duration first_delay)
      : interval_(interval), fn_(std::move(fn)) {
    thread_ = std::thread([this, first_delay] {
      absl::Duration wait = first_delay;
      while (true) {
        {
          absl::MutexLock lock(&mu_);
          mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
          if (stopping_) return;
        }
        fn_();
        wait = interval_;
      }
    });
  }
  ~Periodic() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  const absl::Duration interval_;
  const std::function<void()> fn_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_PERIODIC_H_
