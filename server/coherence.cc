#include "server/coherence.h"

#include "storage/logging.h"

namespace consentd {

void Coherence::OnChange(const Change& change) {
  switch (change.kind) {
    case Change::Kind::kDecision: {
      const bool applied =
          cache_->Invalidate(change.subject_id, change.version);
      metrics_->CountChange(applied, absl::Now() - change.sent_at);
      break;
    }
    case Change::Kind::kPolicy:
      ReloadPolicies();
      break;
  }
}

void Coherence::OnConnected() {
  // Whatever was committed while nobody listened is unknown: forget it all.
  // Trust returns with the first heartbeat sent after LISTEN.
  cache_->Clear();
  ReloadPolicies();
  if (ever_connected_) metrics_->CountListenerReconnect();
  ever_connected_ = true;
  metrics_->SetListenerConnected(true);
  health_->SetDatabaseReachable(true);
  spdlog::info("change listener connected; cache cleared");
}

void Coherence::OnDisconnected(const std::string& why) {
  cache_->Distrust();
  metrics_->SetListenerConnected(false);
  health_->SetDatabaseReachable(false);
  spdlog::warn(
      "change listener lost ({}): checks read PostgreSQL until it "
      "is back",
      why);
}

void Coherence::OnCaughtUp(absl::Time sent_at) {
  if (policies_stale_) ReloadPolicies();
  // Cached decisions are evaluated against the policies: while a published
  // policy could not be loaded, nothing is served from the cache.
  if (!policies_stale_) cache_->TrustUntil(sent_at + staleness_bound_);
}

void Coherence::ReloadPolicies() {
  absl::Status s = policies_->Reload();
  policies_stale_ = !s.ok();
  health_->SetPolicyLoaded(policies_->Get()->current() != nullptr);
  if (!s.ok()) {
    cache_->Distrust();
    spdlog::warn(
        "reloading policies failed, checks read PostgreSQL until it "
        "succeeds: {}",
        s.ToString());
  }
}

}  // namespace consentd
