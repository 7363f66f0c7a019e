#include "core/clock.h"

#include <chrono>

namespace consentd {

Clock* SystemClock::Get() {
  static Clock* const clock = new SystemClock();
  return clock;
}

absl::Time MonotonicClock::Now() const {
  return absl::UnixEpoch() +
         absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

Clock* MonotonicClock::Get() {
  static Clock* const clock = new MonotonicClock();
  return clock;
}

}  // namespace consentd
