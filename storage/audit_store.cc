#include "storage/audit_store.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/json_text.h"
#include "storage/changes.h"
#include "storage/logging.h"
#include "storage/query.h"
#include "storage/statements.h"

namespace consentd {
namespace {

// A timestamptz parameter, with PostgreSQL's infinities for open ranges.
std::string SqlTimeOrInfinity(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return SqlTime(t);
}

// A PostgreSQL array literal of values that need no quoting.
template <typename T>
std::string ArrayLiteral(const std::vector<T>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

AuditEventRecord EventFromRow(const pqxx::row& row) {
  return AuditEventRecord{row[0].as<int64_t>(),
                          row[1].as<int64_t>(),
                          row[2].as<std::string>(),
                          row[3].as<std::string>(),
                          row[4].as<std::string>(),
                          row[5].as<std::string>(),
                          TimeFromMicros(row[6].as<int64_t>()),
                          row[7].as<std::string>(),
                          row[8].as<std::string>(),
                          row[9].as<std::string>(),
                          row[10].as<std::string>()};
}

}  // namespace

void AuditEvents::Add(AuditAction action, AuditSubject subject,
                      absl::string_view actor, absl::Time recorded_at,
                      absl::string_view payload) {
  const std::string pseudonym =
      subject.id.empty() ? "" : keys_.Pseudonym(subject.id);
  const int64_t micros = absl::ToUnixMicros(recorded_at);
  const absl::string_view action_name = AuditActionName(action);
  // The signing key is always known, so EventMac cannot fail here.
  const std::string mac =
      *keys_.EventMac(keys_.signing_key_id(), std::string(action_name),
                      pseudonym, actor, micros, payload);
  if (count_++ > 0) json_ += ",";
  json_ += "{\"subject_id\":";
  if (subject.keep_id && !subject.id.empty()) {
    AppendJsonString(json_, subject.id);
  } else {
    json_ += "null";
  }
  json_ += ",\"subject_pseudonym\":";
  if (pseudonym.empty()) {
    json_ += "null";
  } else {
    AppendJsonString(json_, pseudonym);
  }
  json_ += ",\"action\":";
  AppendJsonString(json_, action_name);
  json_ += ",\"actor\":";
  AppendJsonString(json_, actor);
  json_ += ",\"recorded_at\":";
  AppendJsonString(json_, SqlTime(absl::FromUnixMicros(micros)));
  json_ += ",\"payload\":";
  AppendJsonString(json_, payload);
  json_ += ",\"key_id\":";
  AppendJsonString(json_, keys_.signing_key_id());
  absl::StrAppend(&json_, ",\"event_mac\":\"", absl::BytesToHexString(mac),
                  "\"}");
}

void AuditEvents::Append(const Database& db, pqxx::transaction_base& tx) {
  if (count_ == 0) return;
  Exec(db, tx, kInsertAuditEvents, json_ + "]");
}

void AppendAuditEvent(const Database& db, pqxx::transaction_base& tx,
                      const AuditKeys& keys, AuditAction action,
                      AuditSubject subject, absl::string_view actor,
                      absl::Time recorded_at, absl::string_view payload) {
  AuditEvents events(keys);
  events.Add(action, subject, actor, recorded_at, payload);
  events.Append(db, tx);
}

absl::StatusOr<int> AuditStore::SealBatch(int max_events) {
  int sealed = 0;
  absl::Status status =
      db_->Transact("seal audit events", [&](pqxx::transaction_base& tx) {
        sealed = 0;
        if (!Exec1(*db_, tx, kLockSealer)[0].as<bool>())
          return absl::OkStatus();
        int64_t sequence = 0;
        std::string previous;
        if (pqxx::result head = Exec(*db_, tx, kChainHead); !head.empty()) {
          sequence = head[0][0].as<int64_t>();
          previous = absl::HexStringToBytes(head[0][1].as<std::string>());
        }
        std::vector<int64_t> sequences, event_ids, dequeued;
        std::vector<std::string> key_ids, macs;
        for (const pqxx::row& row :
             Exec(*db_, tx, kUnsealedEvents, max_events)) {
          const int64_t event_id = row[0].as<int64_t>();
          dequeued.push_back(event_id);
          const std::string key_id = row[6].as<std::string>();
          const std::string event_mac =
              absl::HexStringToBytes(row[7].as<std::string>());
          absl::StatusOr<std::string> expected = keys_->EventMac(
              key_id, row[2].as<std::string>(), row[1].as<std::string>(),
              row[3].as<std::string>(), row[4].as<int64_t>(),
              row[5].as<std::string>());
          if (!expected.ok()) {
            // Signed with a key this replica does not know yet (a rotation in
            // progress): leave it, and what follows, to a replica that does.
            dequeued.pop_back();
            spdlog::warn(
                "audit event {} is signed with key {}, which this "
                "replica's --audit_key_file lacks; leaving it to be "
                "sealed by a replica that has it",
                event_id, key_id);
            break;
          }
          if (*expected != event_mac) {
            spdlog::error(
                "audit event {} does not verify and is not sealed: it "
                "was altered or forged in the database",
                event_id);
            continue;
          }
          ++sequence;
          // Sealing always signs with the current key.
          const std::string& signing = keys_->signing_key_id();
          previous = *keys_->ChainMac(signing, previous, sequence, event_id,
                                      event_mac);
          sequences.push_back(sequence);
          event_ids.push_back(event_id);
          key_ids.push_back(signing);
          macs.push_back(absl::BytesToHexString(previous));
        }
        if (dequeued.empty()) return absl::OkStatus();
        if (!sequences.empty()) {
          Exec(*db_, tx, kAppendChain, ArrayLiteral(sequences),
               ArrayLiteral(event_ids), ArrayLiteral(key_ids),
               ArrayLiteral(macs));
        }
        Exec(*db_, tx, kDequeueEvents, ArrayLiteral(dequeued));
        sealed = static_cast<int>(sequences.size());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return sealed;
}

absl::StatusOr<int64_t> AuditStore::HeadSequence() {
  int64_t head = 0;
  absl::Status status =
      db_->Read("audit head", [&](pqxx::transaction_base& tx) {
        const pqxx::result r = Exec(*db_, tx, kChainHead);
        head = r.empty() ? 0 : r[0][0].as<int64_t>();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return head;
}

absl::StatusOr<std::vector<AuditEventRecord>> AuditStore::ExportPage(
    const AuditExportFilter& filter, int64_t after_sequence, int limit) {
  std::vector<AuditEventRecord> events;
  absl::Status status =
      db_->Read("export audit log", [&](pqxx::transaction_base& tx) {
        events.clear();
        const pqxx::result rows =
            filter.subject_id.empty()
                ? Exec(*db_, tx, kExportAll, after_sequence,
                       SqlTimeOrInfinity(filter.since),
                       SqlTimeOrInfinity(filter.until), limit)
                : Exec(*db_, tx, kExportSubject, after_sequence,
                       SqlTimeOrInfinity(filter.since),
                       SqlTimeOrInfinity(filter.until), limit,
                       filter.subject_id, keys_->Pseudonym(filter.subject_id));
        events.reserve(rows.size());
        for (const pqxx::row& row : rows) events.push_back(EventFromRow(row));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return events;
}

absl::StatusOr<AuditVerification> AuditStore::Verify() {
  AuditVerification result;
  constexpr int kPage = 2000;
  std::string previous;  // Chain MAC of the previous entry (bytes).
  int64_t expected = 1;
  auto problem = [&](int64_t sequence, int64_t event_id, std::string what) {
    result.ok = false;
    if (result.problems.size() < kMaxProblems) {
      result.problems.push_back({sequence, event_id, std::move(what)});
    }
  };
  bool more = true;
  while (more) {
    absl::Status status =
        db_->Read("verify audit log", [&](pqxx::transaction_base& tx) {
          const pqxx::result rows =
              Exec(*db_, tx, kVerifyPage, expected - 1, kPage);
          more = rows.size() == static_cast<size_t>(kPage);
          for (const pqxx::row& row : rows) {
            const int64_t sequence = row[0].as<int64_t>();
            const int64_t event_id = row[1].as<int64_t>();
            if (sequence != expected) {
              problem(expected, 0,
                      absl::StrCat("sequences ", expected, " to ", sequence - 1,
                                   " are missing from the chain"));
            }
            const std::string chain_mac =
                absl::HexStringToBytes(row[3].as<std::string>());
            const std::string event_mac =
                absl::HexStringToBytes(row[11].as<std::string>());
            if (!row[4].as<bool>()) {
              problem(
                  sequence, event_id,
                  absl::StrCat("event ", event_id, " is missing (deleted)"));
            } else {
              const std::string subject_id = row[12].as<std::string>();
              if (!subject_id.empty() &&
                  keys_->Pseudonym(subject_id) != row[5].as<std::string>()) {
                problem(sequence, event_id,
                        absl::StrCat("event ", event_id,
                                     " was moved to another subject"));
              }
              absl::StatusOr<std::string> recomputed = keys_->EventMac(
                  row[10].as<std::string>(), row[6].as<std::string>(),
                  row[5].as<std::string>(), row[7].as<std::string>(),
                  row[8].as<int64_t>(), row[9].as<std::string>());
              if (!recomputed.ok()) {
                problem(sequence, event_id,
                        std::string(recomputed.status().message()));
              } else if (*recomputed != event_mac) {
                problem(sequence, event_id,
                        absl::StrCat("event ", event_id,
                                     " was modified (its MAC does not match)"));
              }
            }
            absl::StatusOr<std::string> link =
                keys_->ChainMac(row[2].as<std::string>(), previous, sequence,
                                event_id, event_mac);
            if (!link.ok() || *link != chain_mac) {
              problem(sequence, event_id,
                      absl::StrCat("the chain is broken at sequence ", sequence,
                                   " (entry altered, inserted or reordered)"));
            }
            previous = chain_mac;
            result.head_sequence = sequence;
            expected = sequence + 1;
            ++result.events_verified;
          }
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
  }
  result.head_mac_hex = absl::BytesToHexString(previous);
  absl::Status status =
      db_->Read("verify audit log", [&](pqxx::transaction_base& tx) {
        for (const pqxx::row& row : Exec(*db_, tx, kOrphanEvents)) {
          problem(0, row[0].as<int64_t>(),
                  absl::StrCat("event ", row[0].as<int64_t>(),
                               " is not in the chain (inserted, or altered "
                               "before it was sealed)"));
        }
        for (const pqxx::row& row : Exec(*db_, tx, kDuplicateEvents)) {
          problem(0, row[0].as<int64_t>(),
                  absl::StrCat("event ", row[0].as<int64_t>(),
                               " is a copy of another event"));
        }
        result.unsealed = Exec1(*db_, tx, kUnsealedCount)[0].as<int64_t>();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<HistoryRecord>> AuditStore::History(
    const std::string& subject_id) {
  std::vector<HistoryRecord> history;
  absl::Status status = db_->Read("history", [&](pqxx::transaction_base& tx) {
    history.clear();
    std::map<std::string, bool> standing;
    for (const pqxx::row& row : Exec(*db_, tx, kHistory, subject_id)) {
      const int64_t version = row[0].as<int64_t>();
      if (history.empty() || history.back().consent_version != version) {
        if (!history.empty()) {
          history.back().standing.assign(standing.begin(), standing.end());
        }
        HistoryRecord& r = history.emplace_back();
        r.consent_version = version;
        r.recorded_at = TimeFromMicros(row[1].as<int64_t>());
        r.policy_version = row[2].as<std::string>();
        r.source = row[3].as<std::string>();
        r.region = row[4].as<std::string>();
        r.gpc = row[5].as<bool>();
        r.idempotency_key = row[6].as<std::string>();
        r.expected_version = row[7].as<int64_t>();
        r.actor = row[8].as<std::string>();
      }
      const std::string category = row[9].as<std::string>();
      const bool granted = row[10].as<bool>();
      history.back().choices.emplace_back(category, granted);
      standing[category] = granted;
    }
    if (!history.empty()) {
      history.back().standing.assign(standing.begin(), standing.end());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (history.empty()) {
    return absl::NotFoundError("no decision is recorded for this subject");
  }
  return history;
}

absl::StatusOr<bool> AuditStore::SubjectKnown(const std::string& subject_id) {
  bool known = false;
  absl::Status status =
      db_->Read("subject known", [&](pqxx::transaction_base& tx) {
        known = Exec1(*db_, tx, kSubjectExists, subject_id)[0].as<bool>();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return known;
}

absl::StatusOr<std::vector<LinkRecord>> AuditStore::Links(
    const std::string& subject_id, int limit) {
  std::vector<LinkRecord> links;
  absl::Status status =
      db_->Read("subject links", [&](pqxx::transaction_base& tx) {
        links.clear();
        for (const pqxx::row& row :
             Exec(*db_, tx, kSubjectLinks, subject_id, limit)) {
          links.push_back(LinkRecord{
              row[0].as<std::string>(), row[1].as<std::string>(),
              row[2].as<std::string>(), TimeFromMicros(row[3].as<int64_t>()),
              row[4].as<std::string>()});
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return links;
}

absl::StatusOr<ErasureOutcome> AuditStore::Erase(const std::string& subject_id,
                                                 const std::string& actor,
                                                 absl::Time now) {
  ErasureOutcome outcome;
  outcome.pseudonym = keys_->Pseudonym(subject_id);
  absl::Status status =
      db_->Transact("erase subject", [&](pqxx::transaction_base& tx) {
        // Writers of this subject wait for the erasure, and vice versa.
        Exec(*db_, tx, kLockSubject, subject_id);
        if (!Exec1(*db_, tx, kSubjectExists, subject_id)[0].as<bool>()) {
          return absl::NotFoundError("nothing is held about this subject");
        }
        outcome.erasure = static_cast<int>(
            Exec1(*db_, tx, kCountErasures, outcome.pseudonym)[0]
                .as<int64_t>() +
            1);
        Exec(*db_, tx, kEraseChoices, subject_id);
        Exec(*db_, tx, kEraseSubjectRow, subject_id);
        // Its links go too: a device answers from its own state again, and
        // an account no longer gathers any device.
        Exec(*db_, tx, kEraseLinks, subject_id);
        outcome.decisions = Exec(*db_, tx, kEraseDecisions, subject_id,
                                 absl::StrCat("erased:", outcome.pseudonym, ":",
                                              outcome.erasure))
                                .affected_rows();
        outcome.audit_events =
            Exec(*db_, tx, kEraseAuditIds, subject_id).affected_rows();
        Exec(*db_, tx, kRecordErasure, outcome.pseudonym, outcome.erasure,
             SqlTime(now), actor);
        AppendAuditEvent(*db_, tx, *keys_, AuditAction::kErasure,
                         AuditSubject{subject_id, /*keep_id=*/false}, actor,
                         now,
                         ErasureAuditPayload(outcome.erasure, outcome.decisions,
                                             outcome.audit_events));
        Exec(*db_, tx, kNotifyChange, EncodeErasureChange(subject_id, now));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return outcome;
}

AuditSealer::AuditSealer(AuditStore* store, absl::Duration interval)
    : store_(store), interval_(interval) {
  thread_ = std::thread([this] {
    constexpr int kBatch = 1000;
    while (true) {
      absl::StatusOr<int> sealed = store_->SealBatch(kBatch);
      if (!sealed.ok()) {
        spdlog::warn("sealing the audit log failed: {}",
                     sealed.status().ToString());
      }
      const bool backlog = sealed.ok() && *sealed == kBatch;
      absl::MutexLock lock(&mu_);
      if (!backlog) {
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
      }
      if (stopping_) return;
    }
  });
}

AuditSealer::~AuditSealer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

}  // namespace consentd
