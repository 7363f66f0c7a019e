// What the gRPC health service reports, per service:
//   ""                          SERVING while checks can be answered (a
//                               policy is loaded), whether or not PostgreSQL
//                               is reachable: checks keep answering from
//                               memory and read through when they can.
//   consent.v1.ConsentService   the same.
//   consent.v1.PolicyService,   SERVING while PostgreSQL is reachable (they
//   consent.v1.AuditService     read and write it on every call).
//   consentd.database           SERVING while PostgreSQL is reachable.
// Everything is NOT_SERVING once shutdown has begun.
#ifndef CONSENTD_SERVER_HEALTH_H_
#define CONSENTD_SERVER_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace consentd {

// Thread-safe. Reports nothing until Attach (the gRPC server is built after
// the parts whose state it reports).
class Health {
 public:
  void Attach(grpc::HealthCheckServiceInterface* service);
  void SetPolicyLoaded(bool loaded);
  void SetDatabaseReachable(bool reachable);
  void SetShuttingDown();

 private:
  // Sends the statuses to the health service: only those that changed, so
  // that Watch streams see each change once.
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* service_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool policy_loaded_ ABSL_GUARDED_BY(mu_) = false;
  bool database_ ABSL_GUARDED_BY(mu_) = true;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // What was last sent (unset until the first Publish).
  std::optional<bool> sent_checks_ ABSL_GUARDED_BY(mu_);
  std::optional<bool> sent_database_ ABSL_GUARDED_BY(mu_);
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_HEALTH_H_
