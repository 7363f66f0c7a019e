// What the gRPC services share: the parts built once in Consentd::Start.
#ifndef CONSENTD_SERVER_SERVICE_CONTEXT_H_
#define CONSENTD_SERVER_SERVICE_CONTEXT_H_

#include "absl/time/time.h"
#include "core/clock.h"
#include "core/consent_cache.h"
#include "core/regions.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/policy_registry.h"
#include "server/work_queue.h"
#include "storage/audit_keys.h"
#include "storage/audit_store.h"
#include "storage/consent_store.h"
#include "storage/group_commit.h"

namespace consentd {

// Pointers are owned by Consentd and outlive the services.
struct ServiceContext {
  const Authenticator* auth = nullptr;
  ConsentStore* store = nullptr;
  GroupCommitter* committer = nullptr;
  AuditStore* audit = nullptr;
  const AuditKeys* audit_keys = nullptr;
  PolicyRegistry* policies = nullptr;
  ConsentCache* cache = nullptr;
  WorkQueue* work = nullptr;
  const RegionTable* regions = nullptr;
  Clock* clock = nullptr;
  Metrics* metrics = nullptr;
  absl::Duration consent_ttl = absl::Hours(24 * 365);
  double access_log_sample_rate = 0;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_SERVICE_CONTEXT_H_
