// consentd's Prometheus metrics. Every series is built once at start-up (or,
// for a category, on its first use); the hot path only increments counters
// it already holds. Labels are bounded (method, code, reason, category,
// source, statement), never a subject or a cookie name. Gauges of state
// (pool, cache, process, policy) are read when Prometheus scrapes.
#ifndef CONSENTD_SERVER_METRICS_H_
#define CONSENTD_SERVER_METRICS_H_

#include <grpcpp/support/status_code_enum.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/consent_cache.h"
#include "core/decision.h"
#include "core/evaluation.h"
#include "core/policy_catalog.h"
#include "server/rpc_methods.h"
#include "storage/database.h"

namespace consentd {

// State read at scrape time; each source may be unset.
struct ScrapeSources {
  std::function<Database::PoolStats()> pool;
  std::function<ConsentCache::Stats()> cache;
  std::function<bool()> cache_trusted;
  std::function<std::string()> policy_version;  // "" when none.
};

// Thread-safe.
class Metrics final : public QueryObserver {
 public:
  Metrics();

  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }
  // What to register with the exposer besides registry(): the gauges read
  // at scrape time.
  std::shared_ptr<prometheus::Collectable> scrape_collectable() const;
  void SetScrapeSources(ScrapeSources sources);

  // grpc_server_started_total / handled_total / handling_seconds.
  void RpcStarted(Rpc rpc);
  void RpcHandled(Rpc rpc, grpc::StatusCode code, absl::Duration elapsed);

  // One cookie answered with `reason`, for a cookie of `category` (nullptr
  // for an unknown cookie).
  void CountCheck(Reason reason, const CompiledPolicy::CategoryInfo* category);
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
  // The outcome of an audit log verification.
  void SetAuditVerification(bool ok, absl::Time when);

  void ObserveQuery(absl::string_view statement,
                    absl::Duration elapsed) override;
  // A group commit wrote `size` decisions in one transaction.
  void ObserveWriteBatch(size_t size) {
    write_batch_size_->Observe(static_cast<double>(size));
  }

 private:
  class ScrapeCollectable;
  static constexpr size_t kCodes = 17;
  static constexpr size_t kReasons = 9;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeCollectable> scrape_;

  std::array<prometheus::Counter*, kRpcCount> started_{};
  std::array<std::array<prometheus::Counter*, kCodes>, kRpcCount> handled_{};
  std::array<prometheus::Histogram*, kRpcCount> handling_{};

  // Check counters by reason and category key (slot kCategorySlots - 1 for
  // unknown cookies), created on first use; read without a lock.
  static constexpr size_t kCategorySlots = 257;
  prometheus::Family<prometheus::Counter>* checks_family_;
  absl::Mutex checks_mu_;  // Serializes creation.
  std::array<std::array<std::atomic<prometheus::Counter*>, kCategorySlots>,
             kReasons>
      checks_{};

  std::array<prometheus::Counter*, 7> decisions_{};  // By ConsentSource.
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  prometheus::Counter* changes_applied_;
  prometheus::Counter* changes_ignored_;
  prometheus::Histogram* change_lag_;
  prometheus::Counter* listener_reconnects_;
  prometheus::Gauge* listener_connected_;
  prometheus::Gauge* audit_verification_ok_;
  prometheus::Gauge* audit_verification_time_;
  absl::flat_hash_map<std::string, prometheus::Histogram*> queries_;
  prometheus::Histogram* write_batch_size_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_METRICS_H_
