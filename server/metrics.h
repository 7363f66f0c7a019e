// consentd's Prometheus metrics, built once at start-up; the hot path only
// increments references it already holds. Labels are bounded (reason,
// source, result), never a subject or a cookie name.
#ifndef CONSENTD_SERVER_METRICS_H_
#define CONSENTD_SERVER_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

#include "core/consent_cache.h"
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

  // A change notification: whether it changed a cached entry, and how long
  // after it was sent it was applied.
  void CountChange(bool applied, absl::Duration lag);
  void CountListenerReconnect() { listener_reconnects_->Increment(); }
  void SetListenerConnected(bool connected) {
    listener_connected_->Set(connected ? 1 : 0);
  }
  // Publishes the cache's size and trust.
  void UpdateCache(const ConsentCache::Stats& stats, bool trusted);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, 9> checks_{};
  std::array<prometheus::Counter*, 6> decisions_{};
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  prometheus::Gauge* cache_entries_;
  prometheus::Gauge* cache_bytes_;
  prometheus::Gauge* cache_trusted_;
  prometheus::Counter* cache_evictions_;
  double evictions_seen_ = 0;  // Guarded by the listener thread.
  prometheus::Counter* changes_applied_;
  prometheus::Counter* changes_ignored_;
  prometheus::Histogram* change_lag_;
  prometheus::Counter* listener_reconnects_;
  prometheus::Gauge* listener_connected_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_METRICS_H_
