// consentd: the composition root. Reads flags (each also from an environment
// variable CONSENTD_<FLAG>), builds one validated Config, starts the server
// and stops it on SIGINT or SIGTERM.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "server/codec.h"
#include "server/config.h"
#include "server/consentd.h"
#include "server/logging.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address, host:port.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "HTTP address serving Prometheus /metrics; empty disables it.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection string or URI (required).");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "Who may call (required): one `<role> <principal> <sha256 hex of "
          "the token>` a line; roles app, support, admin. Re-read on SIGHUP.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for the gRPC port.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: when set, clients must present a certificate it "
          "signed (mutual TLS).");
ABSL_FLAG(bool, allow_insecure_listen, false,
          "Serve plaintext gRPC on a non-loopback --listen address.");
ABSL_FLAG(int32_t, max_request_bytes, 4 << 20,
          "Largest request accepted; larger ones get RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, consent_ttl, absl::Hours(8760),
          "How long a decision counts after it was recorded, e.g. 8760h.");
ABSL_FLAG(std::string, audit_key_file, "",
          "Keys of the audit log (<key_id> <hex secret of 32+ bytes> per "
          "line; the last one signs). Required.");
ABSL_FLAG(absl::Duration, audit_verify_interval, absl::Hours(24),
          "How often to verify the whole audit log in the background (for "
          "alerts); 0 disables.");
ABSL_FLAG(bool, audit_log, true,
          "Record every change in the audit log. Turn off only to measure "
          "what the audit log costs.");
ABSL_FLAG(std::string, regions_file, "",
          "Region table (<REGION> <opt_in|opt_out> per line) replacing the "
          "built-in one (config/regions.txt).");
ABSL_FLAG(std::string, bootstrap_policy, "",
          "Policy JSON file published at start unless its version exists.");
ABSL_FLAG(int64_t, cache_max_bytes, 256 << 20,
          "Memory for cached subject state, in bytes.");
ABSL_FLAG(absl::Duration, cache_staleness_bound, absl::Seconds(2),
          "Longest a replica answers from its cache after a change committed "
          "on another replica; beyond it, checks read PostgreSQL.");
ABSL_FLAG(int32_t, db_pool_size, 8,
          "Threads doing database work other than writing decisions (reads "
          "on a cache miss, policy publishes, audit), each with a PostgreSQL "
          "connection.");
ABSL_FLAG(int32_t, write_batch_max, 256,
          "Most decisions written in one transaction (group commit); 1 "
          "writes each alone.");
ABSL_FLAG(int32_t, write_committers, 2,
          "Threads writing batches of decisions (group commit); the "
          "connection pool holds one more connection for each.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight calls may take to finish on SIGTERM.");
ABSL_FLAG(absl::Duration, shutdown_delay, absl::ZeroDuration(),
          "On SIGTERM, report NOT_SERVING and keep serving this long before "
          "stopping (lets load balancers notice; e.g. 5s on Kubernetes).");
ABSL_FLAG(std::string, log_format, "json", "json (one object a line) or text.");
ABSL_FLAG(double, access_log_sample_rate, 0,
          "Fraction of calls logged (method, code, duration); 0 = none.");

namespace consentd {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "consentd: " << message << "\n";
  std::exit(2);
}

// Sets each of consentd's flags from CONSENTD_<FLAG> when that variable is
// set; flags on the command line are parsed afterwards and win.
void ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::EndsWith(flag->Filename(), "server/main.cc")) continue;
    const std::string var =
        absl::StrCat("CONSENTD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) Die(absl::StrCat(var, ": ", error));
  }
}

std::string ReadFileOrDie(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads and parses --auth_tokens_file. A file without credentials is refused
// at start (nobody could call) unless `allow_empty` (a reload: emptying the
// file is how an operator revokes every token at once).
absl::StatusOr<std::shared_ptr<const TokenTable>> LoadTokens(
    bool allow_empty = false) {
  const std::string path = absl::GetFlag(FLAGS_auth_tokens_file);
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "--auth_tokens_file (or CONSENTD_AUTH_TOKENS_FILE) is required: one "
        "`<role> <principal> <sha256 hex of the token>` a line (see "
        "docs/security.md)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--auth_tokens_file: cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_tokens_file ", path, ": ", table.status().message()));
  }
  if (table->size() == 0 && !allow_empty) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_tokens_file ", path, ": no credential in the file"));
  }
  return std::make_shared<const TokenTable>(*std::move(table));
}

Config BuildConfig() {
  Config config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  if (config.database_url.empty()) {
    Die("--database_url (or CONSENTD_DATABASE_URL) is required");
  }
  absl::StatusOr<std::shared_ptr<const TokenTable>> tokens = LoadTokens();
  if (!tokens.ok()) Die(std::string(tokens.status().message()));
  config.tokens = *std::move(tokens);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() != key.empty()) {
    Die("--tls_cert and --tls_key go together");
  }
  if (!client_ca.empty() && cert.empty()) {
    Die("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (!cert.empty()) {
    config.tls = Config::Tls{
        ReadFileOrDie(cert, "tls_cert"), ReadFileOrDie(key, "tls_key"),
        client_ca.empty() ? "" : ReadFileOrDie(client_ca, "tls_client_ca")};
  }
  config.allow_insecure_listen = absl::GetFlag(FLAGS_allow_insecure_listen);
  config.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  if (config.max_request_bytes < 64 * 1024) {
    Die("--max_request_bytes must be at least 65536");
  }
  if (const std::string path = absl::GetFlag(FLAGS_audit_key_file);
      path.empty()) {
    Die("--audit_key_file (or CONSENTD_AUDIT_KEY_FILE) is required: the "
        "secret keys of the audit log, one `<key_id> <hex>` a line. Create "
        "one with: echo \"k1 $(head -c 32 /dev/urandom | od -An -tx1 | "
        "tr -d ' \\n')\" > audit.keys");
  } else {
    absl::StatusOr<AuditKeys> keys =
        AuditKeys::Parse(ReadFileOrDie(path, "audit_key_file"));
    if (!keys.ok()) {
      Die(absl::StrCat("--audit_key_file ", path, ": ",
                       keys.status().message()));
    }
    config.audit_keys = std::make_shared<const AuditKeys>(*std::move(keys));
  }
  config.audit_log = absl::GetFlag(FLAGS_audit_log);
  config.audit_verify_interval = absl::GetFlag(FLAGS_audit_verify_interval);
  config.consent_ttl = absl::GetFlag(FLAGS_consent_ttl);
  if (config.consent_ttl <= absl::ZeroDuration()) {
    Die("--consent_ttl must be positive");
  }
  if (const std::string path = absl::GetFlag(FLAGS_regions_file);
      !path.empty()) {
    absl::StatusOr<RegionTable> regions =
        RegionTable::Parse(ReadFileOrDie(path, "regions_file"));
    if (!regions.ok()) {
      Die(absl::StrCat("--regions_file ", path, ": ",
                       regions.status().message()));
    }
    config.regions = *std::move(regions);
  }
  if (const std::string path = absl::GetFlag(FLAGS_bootstrap_policy);
      !path.empty()) {
    absl::StatusOr<consent::v1::Policy> policy =
        ParsePolicyJson(ReadFileOrDie(path, "bootstrap_policy"), path);
    if (!policy.ok()) {
      Die(absl::StrCat("--bootstrap_policy: ", policy.status().message()));
    }
    if (absl::Status s = ValidatePolicy(PolicyFromProto(*policy)); !s.ok()) {
      Die(absl::StrCat("--bootstrap_policy ", path, ": ", s.message()));
    }
    config.bootstrap_policy = *std::move(policy);
  }
  const int64_t cache_bytes = absl::GetFlag(FLAGS_cache_max_bytes);
  if (cache_bytes < (64 << 10)) {
    Die("--cache_max_bytes must be at least 64 KiB (1,000 subjects)");
  }
  config.cache_max_bytes = static_cast<size_t>(cache_bytes);
  config.cache_staleness_bound = absl::GetFlag(FLAGS_cache_staleness_bound);
  if (config.cache_staleness_bound < absl::Milliseconds(100)) {
    Die("--cache_staleness_bound must be at least 100ms");
  }
  config.access_log_sample_rate = absl::GetFlag(FLAGS_access_log_sample_rate);
  if (config.access_log_sample_rate < 0 || config.access_log_sample_rate > 1) {
    Die("--access_log_sample_rate must be between 0 and 1");
  }
  config.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  if (config.db_pool_size < 1 || config.db_pool_size > 512) {
    Die("--db_pool_size must be between 1 and 512");
  }
  config.write_batch_max = absl::GetFlag(FLAGS_write_batch_max);
  if (config.write_batch_max < 1 || config.write_batch_max > 10000) {
    Die("--write_batch_max must be between 1 and 10000");
  }
  config.write_committers = absl::GetFlag(FLAGS_write_committers);
  if (config.write_committers < 1 || config.write_committers > 64) {
    Die("--write_committers must be between 1 and 64");
  }
  return config;
}

#ifndef CONSENTD_VERSION
#define CONSENTD_VERSION "unknown"
#endif

int Run(int argc, char** argv) {
  // Debian's abseil checks every Mutex acquisition for lock-order cycles,
  // under one process-wide lock: a serial point on the hot path. The tests,
  // which run the same code in process, keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "consentd: the system of record for cookie and privacy consent.\n"
      "Every flag can also be set as CONSENTD_<FLAG>, e.g. "
      "CONSENTD_DATABASE_URL.");
  ApplyEnvironment();
  absl::ParseCommandLine(argc, argv);
  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "json" && log_format != "text") {
    Die("--log_format must be json or text");
  }
  ConfigureLogging(log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  const Config config = BuildConfig();
  LogWithFields(
      spdlog::level::info, "consentd starting",
      {{"version", CONSENTD_VERSION},
       {"listen", config.listen},
       {"metrics_listen", config.metrics_listen},
       {"database_url", RedactDatabaseUrl(config.database_url)},
       {"tls", !config.tls                         ? "off"
               : config.tls->client_ca_pem.empty() ? "tls"
                                                   : "mutual"},
       {"credentials", absl::StrCat(config.tokens->size())},
       {"regions", absl::StrCat(config.regions.size())},
       {"bootstrap_policy",
        config.bootstrap_policy ? config.bootstrap_policy->version() : ""},
       {"consent_ttl", absl::FormatDuration(config.consent_ttl)},
       {"cache_max_bytes", absl::StrCat(config.cache_max_bytes)},
       {"cache_staleness_bound",
        absl::FormatDuration(config.cache_staleness_bound)},
       {"db_pool_size", absl::StrCat(config.db_pool_size)},
       {"write_batch_max", absl::StrCat(config.write_batch_max)},
       {"write_committers", absl::StrCat(config.write_committers)},
       {"audit_log", config.audit_log ? "on" : "off"},
       {"access_log_sample_rate",
        absl::StrCat(config.access_log_sample_rate)}});

  // Block the signals in every thread; this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config, SystemClock::Get());
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    absl::StatusOr<std::shared_ptr<const TokenTable>> tokens =
        LoadTokens(/*allow_empty=*/true);
    if (!tokens.ok()) {
      spdlog::error("SIGHUP: kept the previous credentials: {}",
                    tokens.status().message());
      continue;
    }
    if ((*tokens)->size() == 0) {
      spdlog::warn(
          "SIGHUP: the tokens file holds no credential: every call that "
          "needs a token is refused from now on");
    } else {
      spdlog::info("SIGHUP: reloaded {} credential(s)", (*tokens)->size());
    }
    (*server)->ReplaceTokens(*std::move(tokens));
  }
  LogWithFields(spdlog::level::info, "consentd stopping",
                {{"signal", strsignal(signal)}});
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace),
                      absl::GetFlag(FLAGS_shutdown_delay));
  LogWithFields(spdlog::level::info, "consentd stopped", {});
  return 0;
}

}  // namespace
}  // namespace consentd

int main(int argc, char** argv) { return consentd::Run(argc, argv); }
