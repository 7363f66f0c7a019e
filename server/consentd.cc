#include "server/consentd.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <prometheus/exposer.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "migrations/embedded.h"
#include "server/codec.h"
#include "storage/logging.h"
#include "storage/migrator.h"

namespace consentd {
namespace {

void InitGrpcOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const Config& config) {
  if (!config.tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      config.tls->client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = config.tls->client_ca_pem;
  options.pem_key_cert_pairs.push_back(
      {config.tls->key_pem, config.tls->cert_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace

Consentd::Consentd(const Config& config, Clock* clock)
    : config_(config), clock_(clock) {}

absl::StatusOr<std::unique_ptr<Consentd>> Consentd::Start(const Config& config,
                                                          Clock* clock) {
  std::unique_ptr<Consentd> d(new Consentd(config, clock));
  if (config.tokens == nullptr) {
    return absl::InvalidArgumentError(
        "--auth_tokens_file is required: who may call (see docs/security.md)");
  }
  if (!config.tls && !config.allow_insecure_listen &&
      !IsLoopback(config.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", config.listen,
        " is not a loopback address: serve it "
        "with TLS (--tls_cert, --tls_key) or pass --allow_insecure_listen"));
  }
  d->auth_ = std::make_unique<Authenticator>(config.tokens);
  if (config.audit_keys == nullptr) {
    return absl::InvalidArgumentError(
        "--audit_key_file is required: the audit log's keys (see "
        "docs/audit.md; create one with `echo k1 $(head -c 32 /dev/urandom | "
        "od -An -tx1 | tr -d ' \\n') > audit.keys`)");
  }

  absl::StatusOr<MigrationReport> migrated =
      Migrate(config.database_url, EmbeddedMigrations());
  if (!migrated.ok()) return migrated.status();
  spdlog::info("database schema at version {} ({} migration(s) applied now)",
               migrated->schema_version, migrated->applied);

  d->metrics_ = std::make_unique<Metrics>();
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(DatabaseOptions{
      .url = config.database_url,
      .pool_size = config.db_pool_size + config.write_committers,
      .observer = d->metrics_.get()});
  if (!db.ok()) return db.status();
  d->db_ = *std::move(db);
  d->store_ = std::make_unique<ConsentStore>(
      d->db_.get(), config.audit_log ? config.audit_keys.get() : nullptr);
  d->audit_ =
      std::make_unique<AuditStore>(d->db_.get(), config.audit_keys.get());
  if (!config.audit_log) {
    spdlog::warn(
        "the audit log is OFF (--audit_log=false): changes are not "
        "recorded as evidence. Use this only to measure its cost.");
  }
  d->policies_ = std::make_unique<PolicyRegistry>(d->store_.get());
  // Checks are served once a policy is loaded, however it was loaded (at
  // start, by a publish on this replica, or after a notification).
  Health* health = &d->health_;
  d->policies_->OnInstalled([health](const PolicySnapshot& snapshot) {
    health->SetPolicyLoaded(snapshot.current() != nullptr);
  });
  if (absl::Status s = d->policies_->Reload(); !s.ok()) return s;

  if (config.bootstrap_policy) {
    const consent::v1::Policy& policy = *config.bootstrap_policy;
    if (d->policies_->Get()->history->Find(policy.version()) != nullptr) {
      spdlog::info("bootstrap policy {} is already published",
                   policy.version());
    } else {
      absl::StatusOr<PublishOutcome> published =
          d->policies_->Publish(policy, "bootstrap", clock->Now());
      if (absl::IsAlreadyExists(published.status())) {
        spdlog::warn(
            "bootstrap policy {} exists with other content; kept "
            "the published one",
            policy.version());
      } else if (!published.ok()) {
        return absl::Status(
            published.status().code(),
            absl::StrCat("bootstrap policy: ", published.status().message()));
      } else {
        spdlog::info("published bootstrap policy {}", policy.version());
      }
    }
  }
  if (d->policies_->Get()->current() == nullptr) {
    spdlog::warn(
        "no cookie policy is published: checks will fail until one "
        "is (PolicyService.PublishPolicy or --bootstrap_policy)");
  }

  // Trust in the cache is measured on a clock that never jumps, whatever
  // clock answers checks.
  d->cache_ = std::make_unique<ConsentCache>(config.cache_max_bytes,
                                             MonotonicClock::Get());
  // Nothing is served from the cache until the listener has proved that
  // change notifications reach this replica.
  d->cache_->Distrust();
  d->coherence_ = std::make_unique<Coherence>(
      d->cache_.get(), d->policies_.get(), d->metrics_.get(), &d->health_,
      config.cache_staleness_bound);
  const absl::Duration heartbeat =
      std::min(config.cache_staleness_bound / 8, absl::Seconds(1));
  d->listener_ = std::make_unique<ChangeListener>(
      ChangeListener::Options{
          .url = config.database_url,
          .heartbeat_interval = heartbeat,
          .dead_after = std::max(absl::Seconds(5), 4 * heartbeat)},
      d->coherence_.get());
  d->work_ =
      std::make_unique<WorkQueue>(config.db_pool_size, config.max_queued_tasks);
  Metrics* metrics = d->metrics_.get();
  d->committer_ = std::make_unique<GroupCommitter>(
      d->store_.get(),
      GroupCommitter::Options{
          .committers = config.write_committers,
          .max_batch = static_cast<size_t>(config.write_batch_max),
          .observe_batch = [metrics](size_t size) {
            metrics->ObserveWriteBatch(size);
          }});
  const ServiceContext ctx{d->auth_.get(),
                           d->store_.get(),
                           d->committer_.get(),
                           d->audit_.get(),
                           config.audit_keys.get(),
                           d->policies_.get(),
                           d->cache_.get(),
                           d->work_.get(),
                           &d->config_.regions,
                           clock,
                           d->metrics_.get(),
                           config.consent_ttl,
                           config.access_log_sample_rate};
  d->consent_service_ = std::make_unique<ConsentServiceImpl>(ctx);
  d->policy_service_ = std::make_unique<PolicyServiceImpl>(ctx);
  d->audit_service_ = std::make_unique<AuditServiceImpl>(ctx);
  d->sealer_ = std::make_unique<AuditSealer>(d->audit_.get(),
                                             config.audit_seal_interval);
  if (config.audit_verify_interval > absl::ZeroDuration()) {
    AuditStore* audit = d->audit_.get();
    d->verifier_ = std::make_unique<Periodic>(
        config.audit_verify_interval,
        [audit, metrics] {
          absl::StatusOr<AuditVerification> v = audit->Verify();
          if (!v.ok()) {
            spdlog::warn("periodic audit verification could not run: {}",
                         v.status().ToString());
            return;
          }
          metrics->SetAuditVerification(v->ok, absl::Now());
          if (v->ok) {
            spdlog::info("audit log verified: {} events, head {}",
                         v->events_verified, v->head_sequence);
          } else {
            spdlog::error("AUDIT LOG NOT INTACT: {}",
                          v->problems.front().description);
          }
        },
        // Soon after start, so replicas restarted more often than the
        // interval still verify.
        std::min(config.audit_verify_interval, absl::Minutes(1)));
  }
  Database* db_ptr = d->db_.get();
  ConsentCache* cache_ptr = d->cache_.get();
  PolicyRegistry* policies_ptr = d->policies_.get();
  d->metrics_->SetScrapeSources(ScrapeSources{
      .pool = [db_ptr] { return db_ptr->Stats(); },
      .cache = [cache_ptr] { return cache_ptr->GetStats(); },
      .cache_trusted = [cache_ptr] { return cache_ptr->Trusted(); },
      .policy_version =
          [policies_ptr] {
            const CompiledPolicy* current = policies_ptr->Get()->current();
            return current == nullptr ? std::string() : current->version();
          }});

  if (!config.metrics_listen.empty()) {
    try {
      d->exposer_ =
          std::make_unique<prometheus::Exposer>(config.metrics_listen);
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(
          absl::StrCat("--metrics_listen: cannot serve metrics on ",
                       config.metrics_listen, ": ", e.what()));
    }
    d->exposer_->RegisterCollectable(d->metrics_->registry());
    d->exposer_->RegisterCollectable(d->metrics_->scrape_collectable());
  }

  InitGrpcOnce();
  grpc::ServerBuilder builder;
  // Without this gRPC sets SO_REUSEPORT, and a second consentd on the same
  // port would start and silently share the traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(config.max_request_bytes);
  // Keepalive (docs/operations... see docs/security.md): ping idle clients
  // every 60 s, drop them if a ping is not answered in 20 s; accept client
  // pings at most every 10 s, also without calls in flight.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddListeningPort(config.listen, ServerCredentials(config), &d->port_);
  builder.RegisterService(d->consent_service_.get());
  builder.RegisterService(d->policy_service_.get());
  builder.RegisterService(d->audit_service_.get());
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr || d->port_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--listen: cannot listen on ", config.listen,
                     " (address in use or invalid)"));
  }
  d->health_.SetPolicyLoaded(d->policies_->Get()->current() != nullptr);
  d->health_.Attach(d->server_->GetHealthCheckService());
  spdlog::info("consentd serving gRPC on port {} ({}), {} credential(s)",
               d->port_,
               !config.tls                         ? "plaintext"
               : config.tls->client_ca_pem.empty() ? "TLS"
                                                   : "mutual TLS",
               config.tokens->size());
  if (!config.tls) {
    spdlog::warn(
        "gRPC is served in plaintext on {}: tokens and personal "
        "data cross the network unencrypted unless it stays on "
        "this host",
        config.listen);
  }
  return d;
}

void Consentd::Shutdown(absl::Duration grace, absl::Duration delay) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  health_.SetShuttingDown();
  if (server_ != nullptr) {
    if (delay > absl::ZeroDuration()) {
      spdlog::info("draining: NOT_SERVING for {} before stopping",
                   absl::FormatDuration(delay));
      absl::SleepFor(delay);
    }
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  }
  work_.reset();       // Runs what is queued, then joins.
  committer_.reset();  // Writes and answers what is queued, then joins.
  verifier_.reset();
  listener_.reset();
  sealer_.reset();
  spdlog::info("consentd server stopped");
}

Consentd::~Consentd() { Shutdown(absl::Seconds(5)); }

}  // namespace consentd
