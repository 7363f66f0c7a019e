#include "server/metrics.h"

#include <string>

namespace consentd {
namespace {

constexpr const char* kReasonLabels[] = {
    "unspecified", "necessary", "granted",       "denied",     "no_decision",
    "unknown_cookie", "expired", "reconsent_required", "gpc_opt_out"};

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& checks = prometheus::BuildCounter()
                     .Name("consentd_cookie_checks_total")
                     .Help("Cookies answered, by reason.")
                     .Register(*registry_);
  for (size_t i = 0; i < checks_.size(); ++i) {
    checks_[i] = &checks.Add({{"reason", kReasonLabels[i]}});
  }
  auto& decisions = prometheus::BuildCounter()
                        .Name("consentd_decisions_recorded_total")
                        .Help("Decisions committed, by source.")
                        .Register(*registry_);
  for (size_t i = 0; i < decisions_.size(); ++i) {
    const absl::string_view name = SourceName(static_cast<ConsentSource>(i));
    decisions_[i] = &decisions.Add(
        {{"source", name.empty() ? "unspecified" : std::string(name)}});
  }
  auto& cache = prometheus::BuildCounter()
                    .Name("consentd_cache_lookups_total")
                    .Help("Subject state lookups in the cache, by result.")
                    .Register(*registry_);
  cache_hits_ = &cache.Add({{"result", "hit"}});
  cache_misses_ = &cache.Add({{"result", "miss"}});
  cache_entries_ = &prometheus::BuildGauge()
                        .Name("consentd_cache_entries")
                        .Help("Subjects in the cache (negative entries too).")
                        .Register(*registry_)
                        .Add({});
  cache_bytes_ = &prometheus::BuildGauge()
                      .Name("consentd_cache_bytes")
                      .Help("Memory held by the cache's entries.")
                      .Register(*registry_)
                      .Add({});
  cache_trusted_ = &prometheus::BuildGauge()
                        .Name("consentd_cache_trusted")
                        .Help("1 while cached entries may be served; 0 while "
                              "change notifications may have been missed "
                              "(checks read PostgreSQL).")
                        .Register(*registry_)
                        .Add({});
  cache_evictions_ = &prometheus::BuildCounter()
                          .Name("consentd_cache_evictions_total")
                          .Help("Entries dropped to stay within the bound.")
                          .Register(*registry_)
                          .Add({});
  auto& changes =
      prometheus::BuildCounter()
          .Name("consentd_cache_invalidations_total")
          .Help("Change notifications, by whether they changed a cached "
                "entry (applied) or found nothing older cached (ignored).")
          .Register(*registry_);
  changes_applied_ = &changes.Add({{"result", "applied"}});
  changes_ignored_ = &changes.Add({{"result", "ignored"}});
  change_lag_ = &prometheus::BuildHistogram()
                     .Name("consentd_change_notification_lag_seconds")
                     .Help("From a change's commit to its notification being "
                           "applied on this replica.")
                     .Register(*registry_)
                     .Add({}, prometheus::Histogram::BucketBoundaries{
                                  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05, 0.1, 0.25, 0.5, 1, 2, 5});
  listener_reconnects_ = &prometheus::BuildCounter()
                              .Name("consentd_listener_reconnects_total")
                              .Help("Times the change listener reconnected.")
                              .Register(*registry_)
                              .Add({});
  listener_connected_ =
      &prometheus::BuildGauge()
           .Name("consentd_listener_connected")
           .Help("1 while the change listener is connected to PostgreSQL.")
           .Register(*registry_)
           .Add({});
}

void Metrics::CountChange(bool applied, absl::Duration lag) {
  (applied ? changes_applied_ : changes_ignored_)->Increment();
  change_lag_->Observe(absl::ToDoubleSeconds(lag));
}

void Metrics::UpdateCache(const ConsentCache::Stats& stats, bool trusted) {
  cache_entries_->Set(static_cast<double>(stats.entries));
  cache_bytes_->Set(static_cast<double>(stats.bytes));
  cache_trusted_->Set(trusted ? 1 : 0);
  const double evictions = static_cast<double>(stats.evictions);
  if (evictions > evictions_seen_) {
    cache_evictions_->Increment(evictions - evictions_seen_);
    evictions_seen_ = evictions;
  }
}

}  // namespace consentd
