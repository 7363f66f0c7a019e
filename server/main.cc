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
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "server/codec.h"
#include "server/config.h"
#include "server/consentd.h"
#include "storage/logging.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address, host:port.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "HTTP address serving Prometheus /metrics; empty disables it.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection string or URI (required).");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "Bearer token file (<role> <principal> <sha256 hex> per line). "
          "Accepted but not enforced yet.");
ABSL_FLAG(absl::Duration, consent_ttl, absl::Hours(8760),
          "How long a decision counts after it was recorded, e.g. 8760h.");
ABSL_FLAG(std::string, audit_key_file, "",
          "Keys of the audit log (<key_id> <hex secret of 32+ bytes> per "
          "line; the last one signs). Required.");
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
          "PostgreSQL connections (and threads doing database work).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight calls may take to finish on SIGTERM.");

namespace consentd {
namespace {

constexpr const char* kFlagNames[] = {
    "listen",         "metrics_listen",   "database_url",
    "auth_tokens_file", "consent_ttl",    "regions_file",
    "bootstrap_policy", "db_pool_size",   "shutdown_grace",
    "cache_max_bytes",  "cache_staleness_bound", "audit_key_file",
    "audit_log"};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "consentd: " << message << "\n";
  std::exit(2);
}

// Sets each flag from CONSENTD_<FLAG> when that variable is set; flags on the
// command line are parsed afterwards and win.
void ApplyEnvironment() {
  for (const char* name : kFlagNames) {
    const std::string var =
        absl::StrCat("CONSENTD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(value, &error)) {
      Die(absl::StrCat(var, ": ", error));
    }
  }
}

std::string ReadFileOrDie(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Config BuildConfig() {
  Config config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  if (config.database_url.empty()) {
    Die("--database_url (or CONSENTD_DATABASE_URL) is required");
  }
  config.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
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
    absl::StatusOr<consent::v1::Policy> policy = ParsePolicyJson(
        ReadFileOrDie(path, "bootstrap_policy"), path);
    if (!policy.ok()) {
      Die(absl::StrCat("--bootstrap_policy: ", policy.status().message()));
    }
    if (absl::Status s = ValidatePolicy(PolicyFromProto(*policy)); !s.ok()) {
      Die(absl::StrCat("--bootstrap_policy ", path, ": ", s.message()));
    }
    config.bootstrap_policy = *std::move(policy);
  }
  const int64_t cache_bytes = absl::GetFlag(FLAGS_cache_max_bytes);
  if (cache_bytes < (1 << 20)) Die("--cache_max_bytes must be at least 1 MiB");
  config.cache_max_bytes = static_cast<size_t>(cache_bytes);
  config.cache_staleness_bound = absl::GetFlag(FLAGS_cache_staleness_bound);
  if (config.cache_staleness_bound < absl::Milliseconds(100)) {
    Die("--cache_staleness_bound must be at least 100ms");
  }
  config.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  if (config.db_pool_size < 1 || config.db_pool_size > 512) {
    Die("--db_pool_size must be between 1 and 512");
  }
  return config;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "consentd: the system of record for cookie and privacy consent.\n"
      "Every flag can also be set as CONSENTD_<FLAG>, e.g. "
      "CONSENTD_DATABASE_URL.");
  ApplyEnvironment();
  absl::ParseCommandLine(argc, argv);
  const Config config = BuildConfig();
  if (!config.auth_tokens_file.empty()) {
    spdlog::warn("--auth_tokens_file is accepted but not enforced yet: every "
                 "caller is served");
  }

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config, SystemClock::Get());
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}, shutting down", strsignal(signal));
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}

}  // namespace
}  // namespace consentd

int main(int argc, char** argv) { return consentd::Run(argc, argv); }
