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
}

}  // namespace consentd
