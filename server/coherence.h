// Keeps this replica's cache and policies coherent with PostgreSQL: applies
// the change notifications the listener hears, clears what can no longer be
// trusted after the listener lost its connection, and extends the cache's
// trust as heartbeats prove the notifications are flowing.
#ifndef CONSENTD_SERVER_COHERENCE_H_
#define CONSENTD_SERVER_COHERENCE_H_

#include <atomic>
#include <string>

#include "absl/time/time.h"
#include "core/consent_cache.h"
#include "server/health.h"
#include "server/metrics.h"
#include "server/policy_registry.h"
#include "storage/change_listener.h"

namespace consentd {

// The listener's handler. Called on the listener thread only.
class Coherence final : public ChangeListener::Handler {
 public:
  // Cached entries are served for at most `staleness_bound` past the last
  // moment at which every earlier change was known to have been applied.
  Coherence(ConsentCache* cache, PolicyRegistry* policies, Metrics* metrics,
            Health* health, absl::Duration staleness_bound)
      : cache_(cache),
        policies_(policies),
        metrics_(metrics),
        health_(health),
        staleness_bound_(staleness_bound) {}

  void OnChange(const Change& change) override;
  void OnConnected() override;
  void OnDisconnected(const std::string& why) override;
  void OnCaughtUp(absl::Time sent_at) override;

 private:
  void ReloadPolicies();

  ConsentCache* const cache_;
  PolicyRegistry* const policies_;
  Metrics* const metrics_;
  Health* const health_;
  const absl::Duration staleness_bound_;
  bool ever_connected_ = false;
  // A policy reload failed: retry at the next heartbeat.
  bool policies_stale_ = false;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_COHERENCE_H_
