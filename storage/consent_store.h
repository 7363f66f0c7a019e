// The repository of consentd's state in PostgreSQL: published policies,
// subjects' current state and their append-only decisions. Each method is one
// transaction; SQL lives in statements.cc.
#ifndef CONSENTD_STORAGE_CONSENT_STORE_H_
#define CONSENTD_STORAGE_CONSENT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/decision.h"
#include "core/link.h"
#include "core/policy_review.h"
#include "core/subject_state.h"
#include "storage/audit_keys.h"
#include "storage/database.h"

namespace consentd {

// A policy as stored: its canonical bytes are opaque to storage (the server
// encodes and decodes them).
struct StoredPolicy {
  int64_t seq = 0;
  std::string version;
  std::string body;  // Deterministic protobuf encoding of consent.v1.Policy.
  absl::Time published_at;
};

struct PolicyToPublish {
  std::string version;
  // Deterministic protobuf encoding; its SHA-256 goes to the audit log.
  std::string body;
  std::string document;  // The same policy as JSON, for people and SQL.
  std::string actor;
  absl::Time published_at;
};

struct PublishOutcome {
  int64_t seq = 0;
  absl::Time published_at;
  // False when the identical policy was published before (a no-op).
  bool created = false;
};

struct RecordOutcome {
  // The subject it was recorded for: the one asked for, or the account a
  // device asked for is linked to.
  std::string subject_id;
  int64_t consent_version = 0;
  absl::Time recorded_at;
  // True when the idempotency key was used before with the same payload:
  // nothing was written and the first result is returned.
  bool replayed = false;
  // The subject's state after the call, for the cache.
  SubjectState state;
};

struct LinkRequest {
  std::string device_subject_id;
  std::string account_subject_id;
  MergeRule rule = MergeRule::kMostRecent;
  // The current policy: the merge decision is recorded under it.
  std::string policy_version;
  std::string actor;
  absl::Time now;
};

struct LinkOutcome {
  // The account's version after the link.
  int64_t consent_version = 0;
  // A merge decision was recorded.
  bool merged = false;
  // The device was linked to this account already; nothing was written.
  bool already_linked = false;
};

// A re-consent category and the publish order from which its decisions
// count today (CompiledPolicy::CategoryInfo::reconsent_floor_seq).
struct ReconsentFloor {
  std::string category;
  int64_t floor_seq = 0;
  // Choices decided at or before these have expired (a grant, a refusal).
  absl::Time grant_expired_until = absl::InfinitePast();
  absl::Time refusal_expired_until = absl::InfinitePast();
};

// How many subjects a re-consent would ask again.
struct ReconsentCounts {
  // One per ReconsentFloor, in the same order.
  std::vector<ReconsentImpact> categories;
  // Distinct subjects over all of them.
  int64_t subjects = 0;
};

// Thread-safe (each call takes a pooled connection).
class ConsentStore {
 public:
  // `audit_keys` signs the audit events every change appends; nullptr
  // turns the audit log off (only for measuring its cost).
  ConsentStore(Database* db, const AuditKeys* audit_keys)
      : db_(db), audit_keys_(audit_keys) {}

  // Every published policy, in publish order.
  absl::StatusOr<std::vector<StoredPolicy>> LoadPolicies();

  // The seq of the latest published policy (0 when none).
  absl::StatusOr<int64_t> LatestPolicySeq();

  // Publishes a policy. AlreadyExists when the version exists with other
  // content.
  absl::StatusOr<PublishOutcome> PublishPolicy(const PolicyToPublish& policy);

  // Whether a policy of `version` was published (a cheap check before
  // reloading every policy).
  absl::StatusOr<bool> PolicyExists(const std::string& version);

  // Counts, for each of `floors`, the subjects whose standing choice for the
  // category counts today: made under a policy whose seq is at least the
  // floor, and decided after the floor's expiry time for a grant or a
  // refusal. Read-only. Errors: those of Database::Read.
  absl::StatusOr<ReconsentCounts> CountReconsent(
      const std::vector<ReconsentFloor>& floors);

  // The subject's current state; version 0 and no choices for a subject
  // never seen. For a device linked to an account, the account's state
  // (and *linked, when given, says so).
  absl::StatusOr<SubjectState> LoadSubject(
      absl::string_view subject_id,
      absl::Time deadline = absl::InfiniteFuture(), bool* linked = nullptr);

  // The subject's state at `as_of`, from the decisions recorded by then;
  // version 0 and no choices when it had none (or has been erased since).
  absl::StatusOr<SubjectState> LoadSubjectAsOf(
      absl::string_view subject_id, absl::Time as_of,
      absl::Time deadline = absl::InfiniteFuture());

  // Records `decision` (validated by the caller against its policy) as the
  // subject's next version, with its standing choices, in one transaction;
  // returns only after the commit. The decision's time is
  // decision.recorded_at, or the subject's previous decision time if that is
  // later (times never go backwards within a subject); with
  // decision.keep_time exactly decision.recorded_at. A retry with the same
  // idempotency key must repeat policy version, choices, source, region,
  // GPC and expected_version (and recorded_at with keep_time). Errors:
  // Aborted (expected_version is set and is not the current version),
  // AlreadyExists (the idempotency key was used with another payload),
  // FailedPrecondition (keep_time, and the subject's latest decision is
  // later than decision.recorded_at), and those of Database::Transact.
  absl::StatusOr<RecordOutcome> RecordDecision(
      const Decision& decision, absl::Time deadline = absl::InfiniteFuture());

  // Links a device id to an account id in one transaction: the account
  // takes the device's standing choices by the rule (MergeChoices), as one
  // decision of source "link" under the current policy whose choices keep
  // their origins, and the link is recorded and audited. Errors:
  // AlreadyExists (linked to another account), FailedPrecondition (the
  // device is an account with devices, or the account a linked device).
  absl::StatusOr<LinkOutcome> LinkSubjects(
      const LinkRequest& request, absl::Time deadline = absl::InfiniteFuture());

  // Ends the link of `device` (audited); returns the account it was linked
  // to. NotFound when it is not linked.
  absl::StatusOr<std::string> UnlinkSubjects(
      const std::string& device, const std::string& actor, absl::Time now,
      absl::Time deadline = absl::InfiniteFuture());

  // One decision of a batch, and when its caller stops waiting.
  struct BatchEntry {
    const Decision* decision = nullptr;
    absl::Time deadline = absl::InfiniteFuture();
  };
  // Records many decisions in one transaction (group commit), each as
  // RecordDecision would, and answers for each in the same order: one that
  // is refused (Aborted, AlreadyExists, a replay) does not affect the
  // others. The transaction must end by the earliest deadline. When it
  // fails for another reason than Unavailable (the database is away or
  // overloaded) or Cancelled, such as a decision the database refused or
  // the earliest deadline, each decision is tried again alone with its own
  // deadline: none is written after its caller's deadline, and none fails
  // because of another. Otherwise all fail with that error and nothing is
  // written.
  // Decisions of one subject are applied in the order given.
  std::vector<absl::StatusOr<RecordOutcome>> RecordDecisions(
      absl::Span<const BatchEntry> batch);

 private:
  // The answer to a retry whose idempotency key was used before, for the
  // decision recorded for `subject`.
  absl::StatusOr<RecordOutcome> Replay(const Decision& d,
                                       const std::string& subject,
                                       absl::Time deadline);

  Database* const db_;
  const AuditKeys* const audit_keys_;
};

// The JSON object {"category": granted, ...} of `choices`, as stored.
std::string ChoicesJson(
    const std::vector<std::pair<std::string, bool>>& choices);

}  // namespace consentd

#endif  // CONSENTD_STORAGE_CONSENT_STORE_H_
