// The policies this replica answers with: every published policy, compiled
// into an immutable snapshot that is swapped atomically when the set changes.
#ifndef CONSENTD_SERVER_POLICY_REGISTRY_H_
#define CONSENTD_SERVER_POLICY_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "consent/v1/policy.pb.h"
#include "core/policy_catalog.h"
#include "core/policy_review.h"
#include "storage/consent_store.h"

namespace consentd {

// Every published policy, compiled, with its wire form. Immutable.
struct PolicySnapshot {
  std::shared_ptr<const PolicyHistory> history;
  // Wire form of history->all()[i].
  std::vector<consent::v1::Policy> protos;

  const CompiledPolicy* current() const { return history->current(); }
};

// Thread-safe. Readers take the current snapshot without waiting for a
// reload in progress.
class PolicyRegistry {
 public:
  explicit PolicyRegistry(ConsentStore* store);

  // Called with every snapshot swapped in, by the thread that loaded it
  // (reloads are serialized, so calls come in load order). Set it before
  // the registry is shared.
  void OnInstalled(std::function<void(const PolicySnapshot&)> callback) {
    on_installed_ = std::move(callback);
  }

  // The current snapshot; never null (empty before the first Reload).
  std::shared_ptr<const PolicySnapshot> Get() const;

  // Reads every policy from the database and swaps in a new snapshot if the
  // set changed. Errors: those of the store; Internal if a stored policy
  // does not decode.
  absl::Status Reload();

  // Reloads only if a policy was published since the current snapshot: one
  // small query when nothing changed.
  absl::Status RefreshIfChanged();

  // Validates and publishes `policy`, then reloads. InvalidArgument lists
  // every problem; AlreadyExists when the version exists with other content.
  absl::StatusOr<PublishOutcome> Publish(const consent::v1::Policy& policy,
                                         const std::string& actor,
                                         absl::Time now);

  // A dry run of Publish: validates `policy` as Publish does (the same
  // InvalidArgument and AlreadyExists), writes and audits nothing, and
  // reports what publishing it would change relative to the current policy
  // (reloaded first, so a publish through another replica counts). A
  // decision counts today if it was decided after `now - consent_ttl` and
  // is not made stale by an earlier re-consent. Errors: those of the store.
  absl::StatusOr<PolicyReview> Review(const consent::v1::Policy& policy,
                                      absl::Duration consent_ttl,
                                      absl::Time now);

  // The policy of `version`, reloading once from the database if this
  // replica has not seen it yet (another replica may have published it).
  // NotFound when it does not exist.
  absl::StatusOr<std::shared_ptr<const PolicySnapshot>> FindVersion(
      const std::string& version);

 private:
  ConsentStore* const store_;
  std::function<void(const PolicySnapshot&)> on_installed_;
  absl::Mutex reload_mu_;  // Serializes reloads.
  mutable absl::Mutex mu_;
  std::shared_ptr<const PolicySnapshot> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_POLICY_REGISTRY_H_
