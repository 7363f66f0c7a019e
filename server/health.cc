#include "server/health.h"

namespace consentd {

void Health::Attach(grpc::HealthCheckServiceInterface* service) {
  absl::MutexLock lock(&mu_);
  service_ = service;
  Publish();
}

void Health::SetPolicyLoaded(bool loaded) {
  absl::MutexLock lock(&mu_);
  policy_loaded_ = loaded;
  Publish();
}

void Health::SetDatabaseReachable(bool reachable) {
  absl::MutexLock lock(&mu_);
  database_ = reachable;
  Publish();
}

void Health::SetShuttingDown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  Publish();
}

void Health::Publish() {
  if (service_ == nullptr) return;
  const bool checks = policy_loaded_ && !shutting_down_;
  const bool database = database_ && !shutting_down_;
  if (sent_checks_ != checks) {
    service_->SetServingStatus("", checks);
    service_->SetServingStatus("consent.v1.ConsentService", checks);
    sent_checks_ = checks;
  }
  if (sent_database_ != database) {
    service_->SetServingStatus("consent.v1.PolicyService", database);
    service_->SetServingStatus("consent.v1.AuditService", database);
    service_->SetServingStatus("consentd.database", database);
    sent_database_ = database;
  }
}

}  // namespace consentd
