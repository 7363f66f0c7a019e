#include "storage/consent_store.h"

#include <algorithm>
#include <optional>
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

// Reads rows of kLoadSubject (or of kRecordDecisions from column 2) into
// `state`: each row carries the subject's columns and one standing choice.
void AddSubjectRow(const pqxx::row& row, int first, SubjectState& state) {
  if (row[first].is_null()) return;  // A subject without decisions.
  if (state.consent_version == 0) {
    state.consent_version = row[first].as<int64_t>();
    state.latest_policy_seq = row[first + 1].as<int64_t>();
    state.latest_decided_at = TimeFromMicros(row[first + 2].as<int64_t>());
  }
  if (row[first + 3].is_null()) return;
  state.choices.push_back(CategoryChoice{
      CategoryInterner::Global().Intern(row[first + 3].as<std::string>()),
      row[first + 4].as<bool>(), row[first + 5].as<int64_t>(),
      TimeFromMicros(row[first + 6].as<int64_t>())});
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

SubjectState SubjectFromRows(const pqxx::result& rows) {
  SubjectState state;
  for (const pqxx::row& row : rows) AddSubjectRow(row, 0, state);
  return state;
}

// The JSON object of one decision for consentd_record_decisions
// (migrations/V004).
void AppendDecisionJson(std::string& json, size_t ord, const Decision& d) {
  absl::StrAppend(&json, "{\"ord\":", ord, ",\"subject_id\":");
  AppendJsonString(json, d.subject_id);
  json += ",\"policy_version\":";
  AppendJsonString(json, d.policy_version);
  absl::StrAppend(&json, ",\"choices\":", ChoicesJson(d.choices),
                  ",\"source\":");
  AppendJsonString(json, SourceName(d.source));
  json += ",\"region\":";
  AppendJsonString(json, d.region);
  absl::StrAppend(&json, ",\"gpc\":", d.gpc ? "true" : "false",
                  ",\"idempotency_key\":");
  AppendJsonString(json, d.idempotency_key);
  absl::StrAppend(&json, ",\"expected_version\":", d.expected_version,
                  ",\"actor\":");
  AppendJsonString(json, d.actor);
  json += ",\"recorded_at\":";
  AppendJsonString(json, SqlTime(d.recorded_at));
  if (d.keep_time) json += ",\"keep_time\":true";
  json += "}";
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
          policies.push_back(
              StoredPolicy{row[0].as<int64_t>(), row[1].as<std::string>(),
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
        pqxx::result inserted =
            Exec(*db_, tx, kInsertPolicy, policy.version, body, policy.document,
                 SqlTime(policy.published_at), policy.actor);
        if (!inserted.empty()) {
          outcome = PublishOutcome{inserted[0][0].as<int64_t>(),
                                   TimeFromMicros(inserted[0][1].as<int64_t>()),
                                   true};
          if (audit_keys_ != nullptr) {
            AppendAuditEvent(*db_, tx, *audit_keys_,
                             AuditAction::kPolicyPublish, AuditSubject{},
                             policy.actor, outcome.published_at,
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
        outcome =
            PublishOutcome{existing[0].as<int64_t>(),
                           TimeFromMicros(existing[2].as<int64_t>()), false};
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

absl::StatusOr<ReconsentCounts> ConsentStore::CountReconsent(
    const std::vector<ReconsentFloor>& floors) {
  ReconsentCounts counts;
  if (floors.empty()) return counts;
  std::string json = "[";
  for (const ReconsentFloor& f : floors) {
    if (json.size() > 1) json += ",";
    json += "{\"category\":";
    AppendJsonString(json, f.category);
    absl::StrAppend(&json, ",\"floor_seq\":", f.floor_seq, ",\"grant_until\":");
    AppendJsonString(json, SqlTime(f.grant_expired_until));
    json += ",\"refusal_until\":";
    AppendJsonString(json, SqlTime(f.refusal_expired_until));
    json += "}";
  }
  json += "]";
  absl::Status status =
      db_->Read("count reconsent", [&](pqxx::transaction_base& tx) {
        counts = ReconsentCounts();
        for (const ReconsentFloor& f : floors) {
          counts.categories.push_back(ReconsentImpact{f.category});
        }
        for (const pqxx::row& row : Exec(*db_, tx, kCountReconsent, json)) {
          if (row[0].is_null()) {
            counts.subjects = row[1].as<int64_t>();
            continue;
          }
          const std::string category = row[0].as<std::string>();
          for (ReconsentImpact& impact : counts.categories) {
            if (impact.category != category) continue;
            impact.subjects_granted = row[1].as<int64_t>();
            impact.subjects_denied = row[2].as<int64_t>();
          }
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<SubjectState> ConsentStore::LoadSubject(
    absl::string_view subject_id, absl::Time deadline, bool* linked) {
  SubjectState state;
  absl::Status status = db_->Read(
      "load subject",
      [&](pqxx::transaction_base& tx) {
        const pqxx::result rows =
            Exec(*db_, tx, kLoadSubject, std::string(subject_id));
        state = SubjectFromRows(rows);
        if (linked != nullptr) {
          *linked = !rows.empty() && rows[0][7].as<bool>();
        }
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return state;
}

absl::StatusOr<SubjectState> ConsentStore::LoadSubjectAsOf(
    absl::string_view subject_id, absl::Time as_of, absl::Time deadline) {
  SubjectState state;
  absl::Status status = db_->Read(
      "load subject as of",
      [&](pqxx::transaction_base& tx) {
        state = SubjectFromRows(Exec(*db_, tx, kLoadSubjectAsOf,
                                     std::string(subject_id), SqlTime(as_of)));
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return state;
}

absl::StatusOr<RecordOutcome> ConsentStore::RecordDecision(
    const Decision& d, absl::Time deadline) {
  const BatchEntry batch[] = {{&d, deadline}};
  return std::move(RecordDecisions(batch)[0]);
}

std::vector<absl::StatusOr<RecordOutcome>> ConsentStore::RecordDecisions(
    absl::Span<const BatchEntry> batch) {
  const size_t n = batch.size();
  std::vector<absl::StatusOr<RecordOutcome>> results(
      n, absl::InternalError("decision not recorded"));
  if (n == 0) return results;
  // Subjects are locked in id order (then arrival order), the same order in
  // every batch of every replica, so that two batches never deadlock.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return batch[a].decision->subject_id < batch[b].decision->subject_id;
  });
  std::string json = "[";
  absl::Time deadline = absl::InfiniteFuture();
  for (size_t i : order) {
    if (json.size() > 1) json += ",";
    AppendDecisionJson(json, i, *batch[i].decision);
    deadline = std::min(deadline, batch[i].deadline);
  }
  json += "]";

  // Decisions that were retries, and the subject they were recorded for.
  std::vector<std::pair<size_t, std::string>> replays;
  absl::Status status = db_->Transact(
      "record decisions",
      [&](pqxx::transaction_base& tx) {
        replays.clear();
        std::optional<AuditEvents> audit;
        if (audit_keys_ != nullptr) audit.emplace(*audit_keys_);
        std::string notifications = "[";
        // Rows come grouped by decision: the first of a decision says its
        // outcome, each of a written one carries a standing choice.
        size_t previous = n;
        for (const pqxx::row& row : Exec(*db_, tx, kRecordDecisions, json)) {
          const size_t i = row[0].as<size_t>();
          if (i == previous) {
            AddSubjectRow(row, 2, results[i]->state);
            continue;
          }
          previous = i;
          const Decision& d = *batch[i].decision;
          // A linked device's decision is recorded for its account.
          const std::string subject = row[9].as<std::string>();
          const std::string result = row[1].as<std::string>();
          if (result == "replay") {
            replays.push_back({i, subject});
            continue;
          }
          if (result == "out_of_order") {
            results[i] = absl::FailedPreconditionError(absl::StrCat(
                "recorded_at ", Rfc3339(d.recorded_at),
                " is before the subject's latest decision (version ",
                row[2].as<int64_t>(), " at ",
                Rfc3339(TimeFromMicros(row[4].as<int64_t>())),
                "): an imported decision keeps its time, so it must not be "
                "older than what the subject decided since"));
            continue;
          }
          if (result == "conflict") {
            results[i] = absl::AbortedError(
                absl::StrCat("expected_version is ", d.expected_version,
                             " but the subject's current version is ",
                             row[2].as<int64_t>()));
            continue;
          }
          const int64_t version = row[2].as<int64_t>();
          const absl::Time decided_at = TimeFromMicros(row[4].as<int64_t>());
          RecordOutcome& outcome = results[i].emplace();
          outcome.subject_id = subject;
          outcome.consent_version = version;
          outcome.recorded_at = decided_at;
          AddSubjectRow(row, 2, outcome.state);
          if (audit) {
            audit->Add(AuditAction::kDecision, AuditSubject{subject}, d.actor,
                       decided_at, DecisionAuditPayload(d, version));
          }
          if (notifications.size() > 1) notifications += ",";
          AppendJsonString(notifications,
                           EncodeDecisionChange(subject, version, absl::Now()));
        }
        if (notifications.size() == 1) return absl::OkStatus();
        if (audit) audit->Append(*db_, tx);
        Exec(*db_, tx, kNotifyChanges, notifications + "]");
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) {
    if (n > 1 && !absl::IsCancelled(status) && !absl::IsUnavailable(status)) {
      // Not the database's absence or overload: perhaps one decision it
      // refused, or the earliest deadline.
      for (size_t i = 0; i < n; ++i) {
        results[i] = RecordDecision(*batch[i].decision, batch[i].deadline);
      }
    } else {
      for (auto& result : results) result = status;
    }
    return results;
  }
  for (const auto& [i, subject] : replays) {
    results[i] = Replay(*batch[i].decision, subject, batch[i].deadline);
  }
  return results;
}

absl::StatusOr<RecordOutcome> ConsentStore::Replay(const Decision& d,
                                                   const std::string& subject,
                                                   absl::Time deadline) {
  RecordOutcome outcome;
  outcome.subject_id = subject;
  absl::Status status = db_->Read(
      "replay decision",
      [&](pqxx::transaction_base& tx) {
        const pqxx::row first =
            Exec1(*db_, tx, kDecisionByKey, subject, d.idempotency_key,
                  d.policy_version, ChoicesJson(d.choices),
                  std::string(SourceName(d.source)), d.region, d.gpc,
                  d.expected_version,
                  d.keep_time ? SqlTime(d.recorded_at) : std::string());
        if (!first[2].as<bool>()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "idempotency_key was already used for this subject with a "
              "different request (consent_version ",
              first[0].as<int64_t>(), ")"));
        }
        outcome.consent_version = first[0].as<int64_t>();
        outcome.recorded_at = TimeFromMicros(first[1].as<int64_t>());
        outcome.replayed = true;
        outcome.state = SubjectFromRows(Exec(*db_, tx, kLoadSubject, subject));
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return outcome;
}

absl::StatusOr<LinkOutcome> ConsentStore::LinkSubjects(const LinkRequest& r,
                                                       absl::Time deadline) {
  const std::string& device = r.device_subject_id;
  const std::string& account = r.account_subject_id;
  LinkOutcome outcome;
  absl::Status status = db_->Transact(
      "link subjects",
      [&](pqxx::transaction_base& tx) {
        outcome = LinkOutcome();
        Exec(*db_, tx, kLockLinkSubjects, device, account);
        std::optional<std::string> linked_to;
        for (const pqxx::row& row : Exec(*db_, tx, kLinksOf, device, account)) {
          const std::string from = row[0].as<std::string>();
          const std::string to = row[1].as<std::string>();
          if (from == device) linked_to = to;
          if (to == device) {
            return absl::FailedPreconditionError(
                "device_subject_id is an account: devices are linked to it");
          }
          if (from == account) {
            return absl::FailedPreconditionError(
                "account_subject_id is itself a device linked to an account");
          }
        }
        const pqxx::result version_row =
            Exec(*db_, tx, kSubjectVersion, account);
        outcome.consent_version =
            version_row.empty() ? 0 : version_row[0][0].as<int64_t>();
        if (linked_to) {
          if (*linked_to != account) {
            return absl::AlreadyExistsError(
                "device_subject_id is linked to another account: unlink it "
                "first");
          }
          outcome.already_linked = true;
          return absl::OkStatus();
        }
        std::vector<StandingChoice> device_choices, account_choices;
        for (const pqxx::row& row :
             Exec(*db_, tx, kStandingOf, device, account)) {
          StandingChoice c{row[1].as<std::string>(), row[2].as<bool>(),
                           row[3].as<std::string>(),
                           TimeFromMicros(row[4].as<int64_t>())};
          (row[0].as<std::string>() == device ? device_choices
                                              : account_choices)
              .push_back(std::move(c));
        }
        std::sort(device_choices.begin(), device_choices.end(),
                  [](const StandingChoice& a, const StandingChoice& b) {
                    return a.category < b.category;
                  });
        const std::vector<StandingChoice> merged =
            MergeChoices(device_choices, account_choices, r.rule);
        std::optional<AuditEvents> audit;
        if (audit_keys_ != nullptr) audit.emplace(*audit_keys_);
        std::string notifications = "[";
        if (!merged.empty()) {
          const pqxx::row bumped = Exec1(*db_, tx, kBumpSubject, account,
                                         r.policy_version, SqlTime(r.now));
          outcome.consent_version = bumped[0].as<int64_t>();
          const absl::Time decided = TimeFromMicros(bumped[1].as<int64_t>());
          Decision d;
          d.subject_id = account;
          d.policy_version = r.policy_version;
          d.source = ConsentSource::kLink;
          d.actor = r.actor;
          d.recorded_at = decided;
          std::string origins = "{";
          for (const StandingChoice& m : merged) {
            d.choices.emplace_back(m.category, m.granted);
            if (origins.size() > 1) origins += ",";
            AppendJsonString(origins, m.category);
            origins += ":{\"policy_version\":";
            AppendJsonString(origins, m.policy_version);
            origins += ",\"decided_at\":";
            AppendJsonString(origins, SqlTime(m.decided_at));
            origins += "}";
          }
          origins += "}";
          Exec(*db_, tx, kInsertLinkDecision, account, outcome.consent_version,
               r.policy_version, ChoicesJson(d.choices), origins, r.actor,
               SqlTime(decided));
          for (const StandingChoice& m : merged) {
            Exec(*db_, tx, kUpsertChoice, account, m.category, m.granted,
                 m.policy_version, SqlTime(m.decided_at),
                 outcome.consent_version);
          }
          if (audit) {
            audit->Add(AuditAction::kDecision, AuditSubject{account}, r.actor,
                       decided,
                       DecisionAuditPayload(d, outcome.consent_version));
          }
          AppendJsonString(notifications,
                           EncodeDecisionChange(
                               account, outcome.consent_version, absl::Now()));
          outcome.merged = true;
        }
        Exec(*db_, tx, kInsertLink, device, account,
             std::string(MergeRuleName(r.rule)), SqlTime(r.now), r.actor);
        if (audit) {
          audit->Add(AuditAction::kLink, AuditSubject{device}, r.actor, r.now,
                     LinkAuditPayload(audit_keys_->Pseudonym(account), r.rule,
                                      outcome.consent_version, merged));
          audit->Append(*db_, tx);
        }
        // Whatever a replica cached of the device no longer answers it.
        if (notifications.size() > 1) notifications += ",";
        AppendJsonString(notifications,
                         EncodeErasureChange(device, absl::Now()));
        Exec(*db_, tx, kNotifyChanges, notifications + "]");
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return outcome;
}

absl::StatusOr<std::string> ConsentStore::UnlinkSubjects(
    const std::string& device, const std::string& actor, absl::Time now,
    absl::Time deadline) {
  std::string account;
  absl::Status status = db_->Transact(
      "unlink subjects",
      [&](pqxx::transaction_base& tx) {
        const pqxx::result deleted = Exec(*db_, tx, kDeleteLink, device);
        if (deleted.empty()) {
          return absl::NotFoundError("device_subject_id is not linked");
        }
        account = deleted[0][0].as<std::string>();
        if (audit_keys_ != nullptr) {
          AppendAuditEvent(*db_, tx, *audit_keys_, AuditAction::kUnlink,
                           AuditSubject{device}, actor, now,
                           UnlinkAuditPayload(audit_keys_->Pseudonym(account)));
        }
        Exec(*db_, tx, kNotifyChange, EncodeErasureChange(device, absl::Now()));
        return absl::OkStatus();
      },
      deadline);
  if (!status.ok()) return status;
  return account;
}

}  // namespace consentd
