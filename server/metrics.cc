#include "server/metrics.h"

#include <prometheus/metric_family.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "storage/statements.h"

#ifndef CONSENTD_VERSION
#define CONSENTD_VERSION "unknown"
#endif

namespace consentd {
namespace {

constexpr const char* kReasonLabels[] = {
    "unspecified", "necessary",          "granted",
    "denied",      "no_decision",        "unknown_cookie",
    "expired",     "reconsent_required", "gpc_opt_out"};

constexpr const char* kCodeNames[] = {"OK",
                                      "Canceled",
                                      "Unknown",
                                      "InvalidArgument",
                                      "DeadlineExceeded",
                                      "NotFound",
                                      "AlreadyExists",
                                      "PermissionDenied",
                                      "ResourceExhausted",
                                      "FailedPrecondition",
                                      "Aborted",
                                      "OutOfRange",
                                      "Unimplemented",
                                      "Internal",
                                      "Unavailable",
                                      "DataLoss",
                                      "Unauthenticated"};

// Resolves tens of microseconds (a cache hit) up to seconds (a write under
// load).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{
          0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
          0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25,
          0.5,     1,        2.5,     5,      10};
  return *buckets;
}

prometheus::ClientMetric GaugeValue(double value) {
  prometheus::ClientMetric m;
  m.gauge.value = value;
  return m;
}

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddGauge(std::vector<prometheus::MetricFamily>& out, std::string name,
              std::string help, double value,
              std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::MetricFamily f =
      Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  prometheus::ClientMetric m = GaugeValue(value);
  m.label = std::move(labels);
  f.metric.push_back(std::move(m));
  out.push_back(std::move(f));
}

// Fields of /proc/self/stat after the command name.
std::vector<std::string> ProcStat() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return {};
  return absl::StrSplit(text.substr(paren + 2), ' ');
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    double btime;
    if (absl::StartsWith(line, "btime ") &&
        absl::SimpleAtod(line.substr(6), &btime)) {
      return btime;
    }
  }
  return 0;
}

}  // namespace

// Builds the gauges of state at each scrape.
class Metrics::ScrapeCollectable final : public prometheus::Collectable {
 public:
  void Set(ScrapeSources sources) {
    absl::MutexLock lock(&mu_);
    sources_ = std::move(sources);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    ScrapeSources s;
    {
      absl::MutexLock lock(&mu_);
      s = sources_;
    }
    std::vector<prometheus::MetricFamily> out;
    AddGauge(out, "consentd_build_info", "consentd's version.", 1,
             {{"version", CONSENTD_VERSION}});
    if (s.policy_version) {
      const std::string version = s.policy_version();
      AddGauge(out, "consentd_policy_info",
               "The current cookie policy (1), by version.",
               version.empty() ? 0 : 1, {{"version", version}});
    }
    if (s.pool) {
      const Database::PoolStats pool = s.pool();
      prometheus::MetricFamily f =
          Family("consentd_db_pool_connections",
                 "PostgreSQL connections of the pool, by state.",
                 prometheus::MetricType::Gauge);
      prometheus::ClientMetric idle = GaugeValue(pool.idle);
      idle.label = {{"state", "idle"}};
      prometheus::ClientMetric busy = GaugeValue(pool.open - pool.idle);
      busy.label = {{"state", "in_use"}};
      f.metric = {idle, busy};
      out.push_back(std::move(f));
      AddGauge(out, "consentd_db_pool_waiters",
               "Callers waiting for a free PostgreSQL connection.",
               pool.waiters);
      AddGauge(out, "consentd_database_reachable",
               "1 when the last attempt to connect to PostgreSQL succeeded.",
               pool.reachable ? 1 : 0);
    }
    if (s.cache) {
      const ConsentCache::Stats cache = s.cache();
      AddGauge(out, "consentd_cache_entries",
               "Subjects in the cache (negative entries too).", cache.entries);
      AddGauge(out, "consentd_cache_bytes",
               "Memory held by the cache's entries.", cache.bytes);
      prometheus::MetricFamily f =
          Family("consentd_cache_evictions_total",
                 "Entries dropped to stay within the bound.",
                 prometheus::MetricType::Counter);
      prometheus::ClientMetric m;
      m.counter.value = static_cast<double>(cache.evictions);
      f.metric.push_back(m);
      out.push_back(std::move(f));
    }
    if (s.cache_trusted) {
      AddGauge(out, "consentd_cache_trusted",
               "1 while cached entries may be served; 0 while change "
               "notifications may have been missed (checks read PostgreSQL).",
               s.cache_trusted() ? 1 : 0);
    }
    // Process metrics, named as Prometheus's client libraries name them.
    const std::vector<std::string> stat = ProcStat();
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    if (stat.size() > 21) {
      double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
      (void)absl::SimpleAtod(stat[11], &utime);
      (void)absl::SimpleAtod(stat[12], &stime);
      (void)absl::SimpleAtod(stat[19], &start);
      (void)absl::SimpleAtod(stat[20], &vsize);
      (void)absl::SimpleAtod(stat[21], &rss);
      prometheus::MetricFamily cpu =
          Family("process_cpu_seconds_total",
                 "User and system CPU time spent, in seconds.",
                 prometheus::MetricType::Counter);
      prometheus::ClientMetric m;
      m.counter.value = (utime + stime) / ticks;
      cpu.metric.push_back(m);
      out.push_back(std::move(cpu));
      AddGauge(out, "process_start_time_seconds",
               "Start time of the process since the Unix epoch, in seconds.",
               BootTimeSeconds() + start / ticks);
      AddGauge(out, "process_virtual_memory_bytes",
               "Virtual memory size, in bytes.", vsize);
      AddGauge(out, "process_resident_memory_bytes",
               "Resident memory size, in bytes.",
               rss * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
    std::error_code error;
    size_t fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
         !error && it != std::filesystem::directory_iterator(); ++it) {
      ++fds;
    }
    AddGauge(out, "process_open_fds", "Open file descriptors.",
             static_cast<double>(fds));
    AddGauge(out, "process_max_fds",
             "Most file descriptors the process may open.",
             static_cast<double>(sysconf(_SC_OPEN_MAX)));
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  ScrapeSources sources_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      scrape_(std::make_shared<ScrapeCollectable>()) {
  auto& started = prometheus::BuildCounter()
                      .Name("grpc_server_started_total")
                      .Help("RPCs started on the server.")
                      .Register(*registry_);
  auto& handled = prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("RPCs completed on the server, by code.")
                      .Register(*registry_);
  auto& handling = prometheus::BuildHistogram()
                       .Name("grpc_server_handling_seconds")
                       .Help("Time from an RPC's start to its completion.")
                       .Register(*registry_);
  for (size_t i = 0; i < kRpcCount; ++i) {
    const RpcInfo& info = Info(static_cast<Rpc>(i));
    const std::map<std::string, std::string> labels = {
        {"grpc_type", info.server_streaming ? "server_stream" : "unary"},
        {"grpc_service", std::string(info.service)},
        {"grpc_method", std::string(info.method)}};
    started_[i] = &started.Add(labels);
    handling_[i] = &handling.Add(labels, LatencyBuckets());
    for (size_t c = 0; c < kCodes; ++c) {
      auto with_code = labels;
      with_code["grpc_code"] = kCodeNames[c];
      handled_[i][c] = &handled.Add(with_code);
    }
  }
  checks_family_ = &prometheus::BuildCounter()
                        .Name("consentd_cookie_checks_total")
                        .Help("Cookies answered, by reason and category.")
                        .Register(*registry_);
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
  auto& changes =
      prometheus::BuildCounter()
          .Name("consentd_cache_invalidations_total")
          .Help(
              "Change notifications, by whether they changed a cached "
              "entry (applied) or found nothing older cached (ignored).")
          .Register(*registry_);
  changes_applied_ = &changes.Add({{"result", "applied"}});
  changes_ignored_ = &changes.Add({{"result", "ignored"}});
  change_lag_ = &prometheus::BuildHistogram()
                     .Name("consentd_change_notification_lag_seconds")
                     .Help(
                         "From a change's notification being built, just "
                         "before its commit, to its being applied on this "
                         "replica (the two hosts' wall clocks).")
                     .Register(*registry_)
                     .Add({}, LatencyBuckets());
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
  auto& verification =
      prometheus::BuildGauge()
          .Name("consentd_audit_last_verification_ok")
          .Help(
              "0 once a verification of the audit log found it not "
              "intact; 1 otherwise (also before the first).")
          .Register(*registry_);
  audit_verification_ok_ = &verification.Add({});
  audit_verification_ok_->Set(1);
  audit_verification_time_ =
      &prometheus::BuildGauge()
           .Name("consentd_audit_last_verification_timestamp_seconds")
           .Help("When the audit log was last verified (0: never).")
           .Register(*registry_)
           .Add({});
  auto& queries = prometheus::BuildHistogram()
                      .Name("consentd_db_query_seconds")
                      .Help("PostgreSQL statement latency, by statement.")
                      .Register(*registry_);
  for (const Statement& s : AllStatements()) {
    queries_[s.name] =
        &queries.Add({{"statement", std::string(s.name)}}, LatencyBuckets());
  }
  write_batch_size_ =
      &prometheus::BuildHistogram()
           .Name("consentd_write_batch_size")
           .Help("Decisions written per transaction (group commit).")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{
                        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
}

std::shared_ptr<prometheus::Collectable> Metrics::scrape_collectable() const {
  return scrape_;
}

void Metrics::SetScrapeSources(ScrapeSources sources) {
  scrape_->Set(std::move(sources));
}

void Metrics::RpcStarted(Rpc rpc) {
  started_[static_cast<size_t>(rpc)]->Increment();
}

void Metrics::RpcHandled(Rpc rpc, grpc::StatusCode code,
                         absl::Duration elapsed) {
  const size_t c = static_cast<size_t>(code) < kCodes
                       ? static_cast<size_t>(code)
                       : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  handled_[static_cast<size_t>(rpc)][c]->Increment();
  handling_[static_cast<size_t>(rpc)]->Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::CountCheck(Reason reason,
                         const CompiledPolicy::CategoryInfo* category) {
  const size_t r = static_cast<size_t>(reason);
  // Categories beyond the table (never in practice) share the last slot's
  // neighbour with their own label through the slow path below.
  const size_t slot = category == nullptr                  ? kCategorySlots - 1
                      : category->key < kCategorySlots - 1 ? category->key
                                                           : kCategorySlots;
  if (slot < kCategorySlots) {
    if (prometheus::Counter* c =
            checks_[r][slot].load(std::memory_order_acquire)) {
      c->Increment();
      return;
    }
  }
  const std::string id = category == nullptr ? "" : category->def->id;
  absl::MutexLock lock(&checks_mu_);
  prometheus::Counter* counter =
      &checks_family_->Add({{"reason", kReasonLabels[r]}, {"category", id}});
  if (slot < kCategorySlots) {
    checks_[r][slot].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

void Metrics::CountChange(bool applied, absl::Duration lag) {
  (applied ? changes_applied_ : changes_ignored_)->Increment();
  change_lag_->Observe(absl::ToDoubleSeconds(lag));
}

void Metrics::SetAuditVerification(bool ok, absl::Time when) {
  audit_verification_ok_->Set(ok ? 1 : 0);
  audit_verification_time_->Set(
      absl::ToDoubleSeconds(when - absl::UnixEpoch()));
}

void Metrics::ObserveQuery(absl::string_view statement,
                           absl::Duration elapsed) {
  auto it = queries_.find(statement);
  if (it != queries_.end()) it->second->Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace consentd
