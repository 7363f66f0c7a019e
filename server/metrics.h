// consentd's Prometheus metrics, built once at start-up; the hot path only
// increments references it already holds. Labels are bounded (reason,
// source), never a subject or a cookie name.
#ifndef CONSENTD_SERVER_METRICS_H_
#define CONSENTD_SERVER_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

#include "core/decision.h"
#include "core/evaluation.h"

namespace consentd {

// Thread-safe.
class Metrics {
 public:
  Metrics();

  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

  // One cookie answered with `reason`.
  void CountCheck(Reason reason) {
    checks_[static_cast<size_t>(reason)]->Increment();
  }
  // One decision committed (not replayed) through `source`.
  void CountDecision(ConsentSource source) {
    decisions_[static_cast<size_t>(source)]->Increment();
  }
  void CountCacheHit() { cache_hits_->Increment(); }
  void CountCacheMiss() { cache_misses_->Increment(); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, 9> checks_{};
  std::array<prometheus::Counter*, 6> decisions_{};
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_METRICS_H_
