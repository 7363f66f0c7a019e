#include "storage/consent_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "core/audit.h"
#include "core/json_text.h"
#include "storage/audit_store.h"
#include "storage/changes.h"
#include "storage/query.h"
#include "storage/statements.h"

namespace consentd {
namespace {

// Reads the rows of kLoadSubject into a state.
SubjectState SubjectFromRows(const pqxx::result& rows) {
  SubjectState state;
  if (rows.empty()) return state;
  const pqxx::row& first = rows[0];
  state.consent_version = first[0].as<int64_t>();
  state.latest_policy_seq = first[1].as<int64_t>();
  state.latest_decided_at = TimeFromMicros(first[2].as<int64_t>());
  CategoryInterner& interner = CategoryInterner::Global();
  for (const pqxx::row& row : rows) {
    if (row[3].is_null()) continue;
    state.choices.push_back(CategoryChoice{
        interner.Intern(row[3].as<std::string>()), row[4].as<bool>(),
        row[5].as<int64_t>(), TimeFromMicros(row[6].as<int64_t>())});
  }
  return state;
}

}  // namespace

std::string ChoicesJson(
    const std::vector<std::pair<std::string, bool>>& choices) {
  std::string json = "{";
  for (const auto& [category, granted] : choices) {
    if (json.size() > 1) json += ", ";
    AppendJsonString(json, category);
    json += granted ? ": true" : ": false";
  }
  json += "}";
  return json;
}

absl::StatusOr<std::vector<StoredPolicy>> ConsentStore::LoadPolicies() {
  std::vector<StoredPolicy> policies;
  absl::Status status =
      db_->Read("load policies", [&](pqxx::transaction_base& tx) {
        policies.clear();
        for (const pqxx::row& row : Exec(*db_, tx, kLoadPolicies)) {
          policies.push_back(StoredPolicy{
              row[0].as<int64_t>(), row[1].as<std::string>(),
              pqxx::binarystring(row[2]).str(),
              TimeFromMicros(row[3].as<int64_t>())});
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return policies;
}

absl::StatusOr<int64_t> ConsentStore::LatestPolicySeq() {
  int64_t seq = 0;
  absl::Status status =
      db_->Read("latest policy", [&](pqxx::transaction_base& tx) {
        seq = Exec1(*db_, tx, kLatestPolicySeq)[0].as<int64_t>();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return seq;
}

absl::StatusOr<PublishOutcome> ConsentStore::PublishPolicy(
    const PolicyToPublish& policy) {
  PublishOutcome outcome;
  absl::Status status =
      db_->Transact("publish policy", [&](pqxx::transaction_base& tx) {
        Exec(*db_, tx, kLockPolicies);
        const pqxx::binarystring body(policy.body);
        pqxx::result inserted = Exec(*db_, tx, 
            kInsertPolicy, policy.version, body, policy.document,
            SqlTime(policy.published_at), policy.actor);
        if (!inserted.empty()) {
          outcome = PublishOutcome{inserted[0][0].as<int64_t>(),
                                   TimeFromMicros(inserted[0][1].as<int64_t>()),
                                   true};
          if (audit_keys_ != nullptr) {
            AppendAuditEvent(*db_, tx, *audit_keys_, AuditAction::kPolicyPublish,
                             AuditSubject{}, policy.actor, outcome.published_at,
                             PolicyAuditPayload(policy.version, outcome.seq,
                                                Sha256Hex(policy.body)));
          }
          Exec(*db_, tx, kNotifyChange,
                           EncodePolicyChange(outcome.seq, absl::Now()));
          return absl::OkStatus();
        }
        pqxx::row existing =
            Exec1(*db_, tx, kComparePolicy, policy.version, body);
        if (!existing[1].as<bool>()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "policy ", policy.version,
              " was already published with different content; publish "
              "the change under a new version"));
        }
        outcome = PublishOutcome{existing[0].as<int64_t>(),
                                 TimeFromMicros(existing[2].as<int64_t>()),
                                 false};
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return outcome;
}

absl::StatusOr<bool> ConsentStore::PolicyExists(const std::string& version) {
  bool exists = false;
  absl::Status status =
      db_->Read("policy exists", [&](pqxx::transaction_base& tx) {
        exists = Exec1(*db_, tx, kPolicyExists, version)[0].as<bool>();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return exists;
}

absl::StatusOr<SubjectState> ConsentStore::LoadSubject(
    absl::string_view subject_id, absl::Time deadline) {
  SubjectState state;
  absl::Status status =
      db_->Read("load subject", [&](pqxx::transaction_base& tx) {
        state = SubjectFromRows(
            Exec(*db_, tx, kLoadSubject, std::string(subject_id)));
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return state;
}

absl::StatusOr<RecordOutcome> ConsentStore::RecordDecision(
    const Decision& d, absl::Time deadline) {
  const std::string choices = ChoicesJson(d.choices);
  const std::string source(SourceName(d.source));
  RecordOutcome outcome;
  // Set when the key turned out to be taken: answer from the first decision.
  bool key_taken = false;

  absl::Status status =
      db_->Transact("record decision", [&](pqxx::transaction_base& tx) {
        key_taken = false;
        const pqxx::row bumped = Exec1(*db_, tx, 
            kBumpSubject, d.subject_id, d.policy_version, SqlTime(d.recorded_at));
        const int64_t version = bumped[0].as<int64_t>();
        const absl::Time decided_at = TimeFromMicros(bumped[1].as<int64_t>());
        const std::string recorded_at = SqlTime(decided_at);
        // The unique index on (subject_id, idempotency_key) decides whether
        // this is a retry; it is checked before expected_version so that an
        // exact retry is a replay, not a conflict.
        const pqxx::result inserted = Exec(*db_, tx, 
            kInsertDecision, d.subject_id, version, d.policy_version, choices,
            source, d.region, d.gpc, d.idempotency_key, d.expected_version,
            d.actor, recorded_at);
        if (inserted.empty()) {
          key_taken = true;
          return absl::CancelledError("idempotency key taken");  // Roll back.
        }
        if (d.expected_version != 0 && version != d.expected_version + 1) {
          return absl::AbortedError(absl::StrCat(
              "expected_version is ", d.expected_version,
              " but the subject's current version is ", version - 1));
        }
        if (audit_keys_ != nullptr) {
          AppendAuditEvent(*db_, tx, *audit_keys_, AuditAction::kDecision,
                           AuditSubject{d.subject_id}, d.actor, decided_at,
                           DecisionAuditPayload(d, version));
        }
        Exec(*db_, tx, kUpsertChoices, d.subject_id, d.policy_version,
                         recorded_at, version, choices);
        outcome.consent_version = version;
        outcome.recorded_at = decided_at;
        outcome.replayed = false;
        outcome.state =
            SubjectFromRows(Exec(*db_, tx, kLoadSubject, d.subject_id));
        Exec(*db_, tx, kNotifyChange,
                         EncodeDecisionChange(d.subject_id, version,
                                              absl::Now()));
        return absl::OkStatus();
      },
      deadline);
  if (!key_taken) {
    if (!status.ok()) return status;
    return outcome;
  }

  // A replay: read the first decision made with this key.
  status = db_->Read("replay decision", [&](pqxx::transaction_base& tx) {
    const pqxx::row first =
        Exec1(*db_, tx, kDecisionByKey, d.subject_id, d.idempotency_key,
                          d.policy_version, choices, source, d.region, d.gpc,
                          d.expected_version);
    if (!first[2].as<bool>()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "idempotency_key was already used for this subject with a "
          "different request (consent_version ",
          first[0].as<int64_t>(), ")"));
    }
    outcome.consent_version = first[0].as<int64_t>();
    outcome.recorded_at = TimeFromMicros(first[1].as<int64_t>());
    outcome.replayed = true;
    outcome.state =
        SubjectFromRows(Exec(*db_, tx, kLoadSubject, d.subject_id));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return outcome;
}

}  // namespace consentd
