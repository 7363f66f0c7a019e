// The validated configuration of one consentd process. Built by main.cc from
// flags and environment variables (and by tests directly); libraries never
// read flags or the environment.
#ifndef CONSENTD_SERVER_CONFIG_H_
#define CONSENTD_SERVER_CONFIG_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "consent/v1/policy.pb.h"
#include "core/access.h"
#include "core/regions.h"
#include "storage/audit_keys.h"

namespace consentd {

// Whether a listen address is only reachable from this host: a Unix
// socket, "localhost", ::1, or an IPv4 literal in 127.0.0.0/8.
bool IsLoopback(absl::string_view listen);

// The region table compiled from config/regions.txt.
const RegionTable& BuiltInRegions();

struct Config {
  // gRPC address, host:port; port 0 picks a free one (see Consentd::port()).
  std::string listen = "127.0.0.1:50051";
  // HTTP address serving /metrics; empty disables the endpoint.
  std::string metrics_listen;
  // libpq connection string or URI.
  std::string database_url;
  // Who may call (required): the parsed tokens file.
  std::shared_ptr<const TokenTable> tokens;
  // TLS for the gRPC port; mTLS when client_ca_pem is set.
  struct Tls {
    std::string cert_pem;
    std::string key_pem;
    std::string client_ca_pem;  // Empty: no client certificates.
  };
  std::optional<Tls> tls;
  // Without TLS, listening on anything but loopback needs this.
  bool allow_insecure_listen = false;
  // Largest request accepted; larger ones get RESOURCE_EXHAUSTED.
  int max_request_bytes = 4 << 20;
  // Decisions expire this long after they were recorded.
  absl::Duration consent_ttl = absl::Hours(24 * 365);
  // Regime per region; the table shipped in config/regions.txt by default.
  RegionTable regions = BuiltInRegions();
  // Published at start unless its version exists already.
  std::optional<consent::v1::Policy> bootstrap_policy;
  // Memory for cached subject state.
  size_t cache_max_bytes = 256 << 20;
  // Longest a replica answers from cache after a change committed elsewhere
  // (while the change listener is healthy the lag is milliseconds; when it
  // stalls or drops, cached entries stop being served after this long).
  absl::Duration cache_staleness_bound = absl::Seconds(2);
  // Keys of the audit log (required).
  std::shared_ptr<const AuditKeys> audit_keys;
  // Off only to measure what the audit log costs (see docs/audit.md).
  bool audit_log = true;
  // How often each replica verifies the whole audit log in the background
  // (for the consentd_audit_last_verification_* metrics); zero: never.
  absl::Duration audit_verify_interval = absl::Hours(24);
  // How often committed audit events are sealed into the chain.
  absl::Duration audit_seal_interval = absl::Milliseconds(100);
  // Fraction of calls logged (method, code, duration); 0 = none.
  double access_log_sample_rate = 0;
  // PostgreSQL connections, and threads doing database work.
  int db_pool_size = 8;
  // Tasks waiting for a database thread before calls get UNAVAILABLE.
  int max_queued_tasks = 10000;
  // Group commit: threads writing batches of decisions (each with its own
  // connection, besides db_pool_size), and the most decisions in one
  // transaction.
  int write_committers = 2;
  int write_batch_max = 256;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_CONFIG_H_
