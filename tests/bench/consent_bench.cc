// consent-bench: a closed-loop load generator for consentd.
//
// C calls are kept in flight over N channels for a duration (or a request
// count); each completed call starts the next. Operations are drawn from a
// mix (check, checks, record, get, health) over M subjects chosen uniformly
// or by a Zipf law. Prints QPS and latency percentiles per RPC and one JSON
// line per scenario. See tests/bench/run.sh for the standard scenarios.
//
// --mix=naive measures the design a user would otherwise build: no consentd,
// C threads each with its own PostgreSQL connection (--database_url) running
// the prepared SELECT of a subject's current state that consentd itself
// runs on a miss (storage/statements.cc, load_subject), once per check.
//
//   consent-bench --target=127.0.0.1:50051 --mix=check:100 --concurrency=64
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "consent/v1/consent.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "storage/statements.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "consentd address.");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections).");
ABSL_FLAG(int, concurrency, 32, "Calls in flight.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long to run.");
ABSL_FLAG(int64_t, requests, 0, "Stop after this many calls (0: duration).");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "Run this long first without measuring.");
ABSL_FLAG(int, subjects, 10000, "Subjects to draw from.");
ABSL_FLAG(std::string, distribution, "zipf",
          "zipf, uniform, or sequential (each call the next subject, in "
          "order: --requests=M touches every subject once).");
ABSL_FLAG(double, zipf_q, 1.1, "Zipf exponent (> 1).");
ABSL_FLAG(std::string, mix, "check:100",
          "Operations and weights: check, checks, record, get, health.");
ABSL_FLAG(int, cookies_per_check, 20, "Cookie names per CheckCookies call.");
ABSL_FLAG(bool, prepopulate, true,
          "Record a decision for every subject before measuring.");
ABSL_FLAG(std::string, scenario, "", "Name for the JSON line.");
ABSL_FLAG(int, server_pid, 0,
          "Report this process's CPU use (its /proc stat).");
ABSL_FLAG(std::string, token, "", "Bearer token.");
ABSL_FLAG(std::string, database_url, "",
          "For --mix=naive: the PostgreSQL database consentd uses.");

namespace {

enum class Op { kCheck, kChecks, kRecord, kGet, kHealth, kNaive };
constexpr int kOps = 6;
constexpr const char* kOpNames[kOps] = {"CheckCookie",   "CheckCookies",
                                        "RecordConsent", "GetConsent",
                                        "Health.Check",  "NaiveSelect"};

// The seed policy's optional cookies, and a necessary one.
const char* const kCookies[] = {
    "ia_stats_events",  "ia_mkt_source",    "ia_pref_theme",    "refreshToken",
    "ia_stats_perf",    "ia_mkt_campaign",  "ia_pref_language", "currency",
    "ia_stats_session", "ia_mkt_conversion"};

std::string SubjectId(int i) {
  // 36 characters, like a UUID.
  return absl::StrFormat("bench-%08d-0000-4000-8000-%012d", i, i);
}

double ProcessCpuSeconds(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(text.substr(paren + 2), ' ');
  if (fields.size() < 13) return 0;
  int64_t utime = 0, stime = 0;
  (void)absl::SimpleAtoi(fields[11], &utime);
  (void)absl::SimpleAtoi(fields[12], &stime);
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

struct Stats {
  std::vector<int64_t> latencies_ns;
  int64_t errors = 0;
};

class Bench {
 public:
  Bench() {
    for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Own connection.
      auto channel =
          grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                    grpc::InsecureChannelCredentials(), args);
      consent_.push_back(consent::v1::ConsentService::NewStub(channel));
      health_.push_back(grpc::health::v1::Health::NewStub(channel));
    }
    for (absl::string_view part :
         absl::StrSplit(absl::GetFlag(FLAGS_mix), ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(part, absl::MaxSplits(':', 1));
      int weight = 0;
      if (!absl::SimpleAtoi(kv.second, &weight) || weight < 0) Die("bad --mix");
      const std::map<std::string, Op> ops = {
          {"check", Op::kCheck},   {"checks", Op::kChecks},
          {"record", Op::kRecord}, {"get", Op::kGet},
          {"health", Op::kHealth}, {"naive", Op::kNaive}};
      auto it = ops.find(kv.first);
      if (it == ops.end()) Die("unknown operation in --mix: " + kv.first);
      for (int w = 0; w < weight; ++w) mix_.push_back(it->second);
    }
    if (mix_.empty()) Die("--mix is empty");
    naive_ = std::find(mix_.begin(), mix_.end(), Op::kNaive) != mix_.end();
    if (naive_ && (mix_.size() != static_cast<size_t>(std::count(
                                      mix_.begin(), mix_.end(), Op::kNaive)) ||
                   absl::GetFlag(FLAGS_database_url).empty())) {
      Die("--mix=naive runs alone and needs --database_url");
    }
    subjects_ = absl::GetFlag(FLAGS_subjects);
    const std::string distribution = absl::GetFlag(FLAGS_distribution);
    if (distribution != "zipf" && distribution != "uniform" &&
        distribution != "sequential") {
      Die("--distribution must be zipf, uniform or sequential");
    }
    zipf_ = distribution == "zipf";
    sequential_ = distribution == "sequential";
  }

  [[noreturn]] static void Die(const std::string& message) {
    std::fprintf(stderr, "consent-bench: %s\n", message.c_str());
    std::exit(2);
  }

  void Prepopulate() {
    std::fprintf(stderr, "recording a decision for %d subjects...\n",
                 subjects_);
    RunPhase(absl::InfiniteDuration(), subjects_, /*record_all=*/true);
  }

  // Runs until `duration` passes or `requests` calls completed.
  void RunPhase(absl::Duration duration, int64_t requests, bool record_all) {
    if (naive_ && !record_all) return RunNaive(duration, requests);
    const absl::Time deadline = absl::Now() + duration;
    std::atomic<int64_t> issued{0};
    absl::Mutex mu;
    int active = absl::GetFlag(FLAGS_concurrency);
    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < active; ++i) {
      slots.push_back(std::make_unique<Slot>(
          this, i, deadline, requests, &issued, record_all, &mu, &active));
    }
    for (auto& slot : slots) slot->Next();
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &active));
    for (auto& slot : slots) {
      for (int op = 0; op < kOps; ++op) {
        Stats& s = stats_[op];
        s.latencies_ns.insert(s.latencies_ns.end(),
                              slot->stats[op].latencies_ns.begin(),
                              slot->stats[op].latencies_ns.end());
        s.errors += slot->stats[op].errors;
      }
    }
  }

  void Reset() {
    for (Stats& s : stats_) s = Stats();
  }

  void Report(absl::Duration elapsed, double server_cpu) {
    const std::string scenario = absl::GetFlag(FLAGS_scenario);
    std::vector<std::string> json;
    for (int op = 0; op < kOps; ++op) {
      Stats& s = stats_[op];
      if (s.latencies_ns.empty() && s.errors == 0) continue;
      std::sort(s.latencies_ns.begin(), s.latencies_ns.end());
      auto pct = [&](double p) -> double {
        if (s.latencies_ns.empty()) return 0;
        size_t i = static_cast<size_t>(p * (s.latencies_ns.size() - 1));
        return s.latencies_ns[i] / 1000.0;
      };
      const double qps = s.latencies_ns.size() / absl::ToDoubleSeconds(elapsed);
      absl::PrintF(
          "%-14s %10.0f QPS  p50 %8.1f us  p90 %8.1f us  p99 %8.1f us"
          "  p99.9 %8.1f us  errors %d\n",
          kOpNames[op], qps, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
          s.errors);
      json.push_back(absl::StrFormat(
          "\"%s\": {\"qps\": %.1f, \"p50_us\": %.1f, \"p90_us\": %.1f, "
          "\"p99_us\": %.1f, \"p999_us\": %.1f, \"errors\": %d}",
          kOpNames[op], qps, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
          s.errors));
    }
    if (server_cpu >= 0) {
      absl::PrintF("server CPU     %.0f%% of one core\n",
                   100 * server_cpu / absl::ToDoubleSeconds(elapsed));
      json.push_back(
          absl::StrFormat("\"server_cpu_cores\": %.2f",
                          server_cpu / absl::ToDoubleSeconds(elapsed)));
    }
    absl::PrintF(
        "{\"scenario\": \"%s\", \"concurrency\": %d, \"channels\": %d, "
        "\"seconds\": %.2f, %s}\n",
        scenario, absl::GetFlag(FLAGS_concurrency),
        absl::GetFlag(FLAGS_channels), absl::ToDoubleSeconds(elapsed),
        absl::StrJoin(json, ", "));
  }

 private:
  // One call in flight at a time, issued again on completion.
  struct Slot {
    Slot(Bench* b, int i, absl::Time d, int64_t r, std::atomic<int64_t>* n,
         bool all, absl::Mutex* m, int* a)
        : bench(b),
          index(i),
          deadline(d),
          requests(r),
          issued(n),
          record_all(all),
          mu(m),
          active(a) {}

    void Next() {
      const int64_t n = issued->fetch_add(1);
      if ((requests > 0 && n >= requests) || absl::Now() >= deadline) {
        absl::MutexLock lock(mu);
        --*active;
        return;
      }
      const int subject =
          record_all ? static_cast<int>(n) : bench->PickSubject(gen);
      const Op op =
          record_all
              ? Op::kRecord
              : bench->mix_[absl::Uniform<size_t>(gen, 0, bench->mix_.size())];
      const size_t channel =
          static_cast<size_t>(index) % bench->consent_.size();
      context = std::make_unique<grpc::ClientContext>();
      context->set_deadline(
          absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      if (!bench->token_.empty()) {
        context->AddMetadata("authorization", "Bearer " + bench->token_);
      }
      start = absl::Now();
      auto done = [this, op](grpc::Status s) {
        Stats& st = stats[static_cast<int>(op)];
        if (s.ok()) {
          st.latencies_ns.push_back(
              absl::ToInt64Nanoseconds(absl::Now() - start));
        } else {
          ++st.errors;
        }
        Next();
      };
      auto* stub = bench->consent_[channel]->async();
      switch (op) {
        case Op::kCheck:
          check.set_subject_id(SubjectId(subject));
          check.set_cookie_name(kCookies[absl::Uniform(gen, 0, 10)]);
          stub->CheckCookie(context.get(), &check, &check_out, done);
          break;
        case Op::kChecks:
          checks.set_subject_id(SubjectId(subject));
          if (checks.cookie_names_size() == 0) {
            for (int k = 0; k < absl::GetFlag(FLAGS_cookies_per_check); ++k) {
              checks.add_cookie_names(kCookies[k % 10]);
            }
          }
          stub->CheckCookies(context.get(), &checks, &checks_out, done);
          break;
        case Op::kRecord:
          record.set_subject_id(SubjectId(subject));
          record.set_policy_version("2026-01-12");
          record.mutable_choices()->clear();
          (*record.mutable_choices())["statistics"] = absl::Bernoulli(gen, 0.5);
          (*record.mutable_choices())["marketing"] = absl::Bernoulli(gen, 0.5);
          record.set_source(consent::v1::SOURCE_API);
          stub->RecordConsent(context.get(), &record, &record_out, done);
          break;
        case Op::kGet:
          get.set_subject_id(SubjectId(subject));
          stub->GetConsent(context.get(), &get, &get_out, done);
          break;
        case Op::kHealth:
          bench->health_[channel]->async()->Check(context.get(), &health,
                                                  &health_out, done);
          break;
        case Op::kNaive:  // Never in a gRPC phase (see RunNaive).
          break;
      }
    }

    Bench* bench;
    int index;
    absl::Time deadline;
    int64_t requests;
    std::atomic<int64_t>* issued;
    bool record_all;
    absl::Mutex* mu;
    int* active;
    absl::BitGen gen;
    absl::Time start;
    std::unique_ptr<grpc::ClientContext> context;
    consent::v1::CheckCookieRequest check;
    consent::v1::CheckCookieResponse check_out;
    consent::v1::CheckCookiesRequest checks;
    consent::v1::CheckCookiesResponse checks_out;
    consent::v1::RecordConsentRequest record;
    consent::v1::RecordConsentResponse record_out;
    consent::v1::GetConsentRequest get;
    consent::v1::GetConsentResponse get_out;
    grpc::health::v1::HealthCheckRequest health;
    grpc::health::v1::HealthCheckResponse health_out;
    Stats stats[kOps];
  };

  // The naive design: one thread and one connection per call in flight.
  void RunNaive(absl::Duration duration, int64_t requests) {
    const absl::Time deadline = absl::Now() + duration;
    std::atomic<int64_t> issued{0};
    const int threads = absl::GetFlag(FLAGS_concurrency);
    std::vector<Stats> per_thread(threads);
    std::vector<std::thread> workers;
    absl::string_view sql;
    for (const consentd::Statement& st : consentd::AllStatements()) {
      if (st.name == consentd::kLoadSubject) sql = st.sql;
    }
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        absl::BitGen gen;
        try {
          pqxx::connection conn(absl::GetFlag(FLAGS_database_url));
          conn.prepare("load_subject", std::string(sql));
          while (absl::Now() < deadline &&
                 (requests == 0 || issued.fetch_add(1) < requests)) {
            const std::string subject = SubjectId(PickSubject(gen));
            const absl::Time start = absl::Now();
            pqxx::nontransaction tx(conn);
            const pqxx::result rows = tx.exec_prepared("load_subject", subject);
            per_thread[t].latencies_ns.push_back(
                absl::ToInt64Nanoseconds(absl::Now() - start));
            if (rows.empty()) ++per_thread[t].errors;  // Not prepopulated.
          }
        } catch (const std::exception& e) {
          std::fprintf(stderr, "consent-bench: naive: %s\n", e.what());
          ++per_thread[t].errors;
        }
      });
    }
    for (auto& w : workers) w.join();
    Stats& s = stats_[static_cast<int>(Op::kNaive)];
    for (const Stats& p : per_thread) {
      s.latencies_ns.insert(s.latencies_ns.end(), p.latencies_ns.begin(),
                            p.latencies_ns.end());
      s.errors += p.errors;
    }
  }

  int PickSubject(absl::BitGen& gen) const {
    if (sequential_) {
      return static_cast<int>(
          next_subject_.fetch_add(1, std::memory_order_relaxed) % subjects_);
    }
    if (!zipf_) return absl::Uniform(gen, 0, subjects_);
    return static_cast<int>(
        absl::Zipf<int>(gen, subjects_ - 1, absl::GetFlag(FLAGS_zipf_q)));
  }

  std::vector<std::unique_ptr<consent::v1::ConsentService::Stub>> consent_;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_;
  std::vector<Op> mix_;
  int subjects_ = 0;
  bool zipf_ = true;
  bool sequential_ = false;
  mutable std::atomic<int64_t> next_subject_{0};
  bool naive_ = false;
  std::string token_ = absl::GetFlag(FLAGS_token);
  Stats stats_[kOps];
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "consent-bench: closed-loop load for consentd. See tests/bench/run.sh.");
  absl::ParseCommandLine(argc, argv);
  Bench bench;
  if (absl::GetFlag(FLAGS_prepopulate)) bench.Prepopulate();
  bench.Reset();
  if (absl::GetFlag(FLAGS_warmup) > absl::ZeroDuration()) {
    bench.RunPhase(absl::GetFlag(FLAGS_warmup), 0, false);
    bench.Reset();
  }
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const double cpu_before = pid > 0 ? ProcessCpuSeconds(pid) : 0;
  const absl::Time start = absl::Now();
  bench.RunPhase(absl::GetFlag(FLAGS_duration), absl::GetFlag(FLAGS_requests),
                 false);
  const absl::Duration elapsed = absl::Now() - start;
  bench.Report(elapsed, pid > 0 ? ProcessCpuSeconds(pid) - cpu_before : -1);
  return 0;
}
