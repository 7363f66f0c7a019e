// One consentd server: the composition of storage, cache, policies and the
// gRPC services, with its start-up sequence and its shutdown.
#ifndef CONSENTD_SERVER_CONSENTD_H_
#define CONSENTD_SERVER_CONSENTD_H_

#include <grpcpp/server.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/consent_cache.h"
#include "server/audit_service.h"
#include "server/coherence.h"
#include "server/config.h"
#include "server/consent_service.h"
#include "server/health.h"
#include "server/metrics.h"
#include "server/periodic.h"
#include "server/policy_registry.h"
#include "server/policy_service.h"
#include "server/work_queue.h"
#include "storage/consent_store.h"
#include "storage/database.h"
#include "storage/group_commit.h"

namespace prometheus {
class Exposer;
}

namespace consentd {

// Thread-safe.
class Consentd {
 public:
  // Connects to PostgreSQL, applies migrations, loads the policies,
  // publishes the bootstrap policy, then serves gRPC (and /metrics). Errors
  // name what failed: Unavailable (database), InvalidArgument (bootstrap
  // policy), FailedPrecondition (cannot listen; edited migration).
  // `clock` must outlive the server.
  static absl::StatusOr<std::unique_ptr<Consentd>> Start(const Config& config,
                                                         Clock* clock);

  // Reports NOT_SERVING, keeps serving for `delay` (so load balancers stop
  // sending), then stops taking calls, lets in-flight calls finish for up to
  // `grace`, and cancels the rest (their writes roll back). Idempotent;
  // concurrent calls wait for the first.
  void Shutdown(absl::Duration grace,
                absl::Duration delay = absl::ZeroDuration())
      ABSL_LOCKS_EXCLUDED(shutdown_mu_);
  ~Consentd();

  // The bound gRPC port (useful with port 0).
  int port() const { return port_; }

  // Replaces the tokens file's contents (on SIGHUP); calls in flight and
  // open connections are not affected, the next call uses the new table.
  void ReplaceTokens(std::shared_ptr<const TokenTable> tokens) {
    auth_->Replace(std::move(tokens));
  }

 private:
  explicit Consentd(const Config& config, Clock* clock);

  const Config config_;
  Clock* const clock_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<AuditSealer> sealer_;
  std::unique_ptr<Periodic> verifier_;
  std::unique_ptr<PolicyRegistry> policies_;
  std::unique_ptr<ConsentCache> cache_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<GroupCommitter> committer_;
  Health health_;
  std::unique_ptr<Coherence> coherence_;
  std::unique_ptr<ChangeListener> listener_;
  std::unique_ptr<ConsentServiceImpl> consent_service_;
  std::unique_ptr<PolicyServiceImpl> policy_service_;
  std::unique_ptr<AuditServiceImpl> audit_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_CONSENTD_H_
