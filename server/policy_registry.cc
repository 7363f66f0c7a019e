#include "server/policy_registry.h"

#include "absl/strings/str_cat.h"
#include "server/codec.h"
#include "storage/logging.h"

namespace consentd {
namespace {

std::shared_ptr<const PolicySnapshot> EmptySnapshot() {
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->history = *PolicyHistory::Build({});
  return snapshot;
}

}  // namespace

PolicyRegistry::PolicyRegistry(ConsentStore* store)
    : store_(store), current_(EmptySnapshot()) {}

std::shared_ptr<const PolicySnapshot> PolicyRegistry::Get() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_;
}

absl::Status PolicyRegistry::Reload() {
  absl::MutexLock reload_lock(&reload_mu_);
  absl::StatusOr<std::vector<StoredPolicy>> stored = store_->LoadPolicies();
  if (!stored.ok()) return stored.status();

  const std::shared_ptr<const PolicySnapshot> old = Get();
  const auto& known = old->history->all();
  bool same = known.size() == stored->size();
  for (size_t i = 0; same && i < known.size(); ++i) {
    same = known[i]->seq() == (*stored)[i].seq;
  }
  if (same) return absl::OkStatus();

  auto snapshot = std::make_shared<PolicySnapshot>();
  std::vector<PublishedPolicy> published;
  for (const StoredPolicy& s : *stored) {
    consent::v1::Policy proto;
    if (!proto.ParseFromString(s.body)) {
      return absl::InternalError(
          absl::StrCat("stored policy ", s.version, " does not decode"));
    }
    published.push_back(
        PublishedPolicy{PolicyFromProto(proto), s.seq, s.published_at});
    snapshot->protos.push_back(std::move(proto));
  }
  absl::StatusOr<std::shared_ptr<const PolicyHistory>> history =
      PolicyHistory::Build(std::move(published));
  if (!history.ok()) return absl::InternalError(history.status().message());
  snapshot->history = *std::move(history);
  if (const CompiledPolicy* current = snapshot->current()) {
    spdlog::info("policies loaded: {}, current {}",
                 snapshot->history->all().size(), current->version());
  }
  {
    absl::MutexLock lock(&mu_);
    current_ = snapshot;
  }
  if (on_installed_) on_installed_(*snapshot);
  return absl::OkStatus();
}

absl::Status PolicyRegistry::RefreshIfChanged() {
  absl::StatusOr<int64_t> latest = store_->LatestPolicySeq();
  if (!latest.ok()) return latest.status();
  const CompiledPolicy* current = Get()->current();
  if (*latest == (current == nullptr ? 0 : current->seq())) {
    return absl::OkStatus();
  }
  return Reload();
}

absl::StatusOr<PublishOutcome> PolicyRegistry::Publish(
    const consent::v1::Policy& policy, const std::string& actor,
    absl::Time now) {
  if (absl::Status s = ValidatePolicy(PolicyFromProto(policy)); !s.ok()) {
    return s;
  }
  absl::StatusOr<PublishOutcome> outcome = store_->PublishPolicy(
      PolicyToPublish{policy.version(), CanonicalPolicyBytes(policy),
                      PolicyToJson(policy, /*pretty=*/false), actor, now});
  if (!outcome.ok()) return outcome;
  // Committed: the publish succeeded even if this replica cannot load it
  // right now; the next reload (or the next request naming it) will.
  if (absl::Status s = Reload(); !s.ok()) {
    spdlog::warn("policy {} published, but reloading policies failed: {}",
                 policy.version(), s.ToString());
  }
  return outcome;
}

absl::StatusOr<PolicyReview> PolicyRegistry::Review(
    const consent::v1::Policy& policy, absl::Duration consent_ttl,
    absl::Time now) {
  const Policy candidate = PolicyFromProto(policy);
  if (absl::Status s = ValidatePolicy(candidate); !s.ok()) return s;
  if (absl::Status s = Reload(); !s.ok()) return s;
  const std::shared_ptr<const PolicySnapshot> snapshot = Get();
  const auto& all = snapshot->history->all();
  PolicyReview review;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i]->version() != policy.version()) continue;
    if (CanonicalPolicyBytes(snapshot->protos[i]) !=
        CanonicalPolicyBytes(policy)) {
      // As ConsentStore::PublishPolicy answers.
      return absl::AlreadyExistsError(absl::StrCat(
          "policy ", policy.version(),
          " was already published with different content; publish the "
          "change under a new version"));
    }
    review.already_published = true;
  }
  const CompiledPolicy* current = snapshot->current();
  if (current != nullptr) review.current_version = current->version();
  if (!review.already_published) {
    review.diff = DiffPolicies(
        current == nullptr ? nullptr : &current->policy(), candidate);
    review.reconsent_categories = candidate.reconsent_categories;
    std::vector<ReconsentFloor> floors;
    for (const std::string& id : candidate.reconsent_categories) {
      ReconsentFloor floor{id, ReconsentFloorSeq(*snapshot->history, id)};
      // Which choices count today: by the current policy's lifetimes for
      // the category (its own, or the server's).
      absl::Duration grant_ttl = consent_ttl, refusal_ttl = consent_ttl;
      if (const CompiledPolicy::CategoryInfo* c =
              current == nullptr ? nullptr : current->FindCategory(id)) {
        if (c->def->grant_ttl_seconds > 0) {
          grant_ttl = absl::Seconds(c->def->grant_ttl_seconds);
        }
        if (c->def->refusal_ttl_seconds > 0) {
          refusal_ttl = absl::Seconds(c->def->refusal_ttl_seconds);
        }
      }
      floor.grant_expired_until = now - grant_ttl;
      floor.refusal_expired_until = now - refusal_ttl;
      floors.push_back(std::move(floor));
    }
    absl::StatusOr<ReconsentCounts> counts = store_->CountReconsent(floors);
    if (!counts.ok()) return counts.status();
    review.subjects_to_reconsent = counts->subjects;
    review.reconsent_impact = std::move(counts->categories);
  }
  review.findings = LintPolicy(candidate, review.diff, consent_ttl);
  return review;
}

absl::StatusOr<std::shared_ptr<const PolicySnapshot>>
PolicyRegistry::FindVersion(const std::string& version) {
  std::shared_ptr<const PolicySnapshot> snapshot = Get();
  if (snapshot->history->Find(version) != nullptr) return snapshot;
  // A cheap probe first: a bogus version must not reload every policy.
  absl::StatusOr<bool> exists = store_->PolicyExists(version);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return absl::NotFoundError(
        absl::StrCat("no policy with version \"", version, "\" was published"));
  }
  if (absl::Status s = Reload(); !s.ok()) return s;
  snapshot = Get();
  if (snapshot->history->Find(version) != nullptr) return snapshot;
  return absl::NotFoundError(
      absl::StrCat("no policy with version \"", version, "\" was published"));
}

}  // namespace consentd
