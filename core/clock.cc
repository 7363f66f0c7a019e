#include "core/clock.h"

namespace consentd {

Clock* SystemClock::Get() {
  static Clock* const clock = new SystemClock();
  return clock;
}

}  // namespace consentd
