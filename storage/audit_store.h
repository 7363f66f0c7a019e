// The audit log in PostgreSQL (migrations/V002): appending events inside the
// transaction of the change they record, sealing committed events into the
// keyed chain, exporting and verifying it, and the data-subject requests
// (history, access, erasure).
#ifndef CONSENTD_STORAGE_AUDIT_STORE_H_
#define CONSENTD_STORAGE_AUDIT_STORE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/audit.h"
#include "storage/audit_keys.h"
#include "storage/database.h"

namespace consentd {

// Who an audit event is about.
struct AuditSubject {
  // Empty for events about no subject (a policy publish).
  absl::string_view id;
  // Whether the event keeps the id in clear (false: only its pseudonym, as
  // for the record of an erasure).
  bool keep_id = true;
};

// Audit events for the transaction of the change they record: they commit
// or roll back with it. Add() signs each one; Append() inserts them all and
// queues them for sealing, in one statement.
class AuditEvents {
 public:
  explicit AuditEvents(const AuditKeys& keys) : keys_(keys) {}

  void Add(AuditAction action, AuditSubject subject, absl::string_view actor,
           absl::Time recorded_at, absl::string_view payload);
  bool empty() const { return count_ == 0; }
  void Append(const Database& db, pqxx::transaction_base& tx);

 private:
  const AuditKeys& keys_;
  std::string json_ = "[";  // The events, as kInsertAuditEvents takes them.
  int count_ = 0;
};

// Appends one audit event to the transaction `tx`.
void AppendAuditEvent(const Database& db, pqxx::transaction_base& tx,
                      const AuditKeys& keys, AuditAction action,
                      AuditSubject subject, absl::string_view actor,
                      absl::Time recorded_at, absl::string_view payload);

struct AuditEventRecord {
  int64_t sequence = 0;
  int64_t event_id = 0;
  std::string subject_id;  // Empty for none, or once erased.
  std::string subject_pseudonym;
  std::string action;
  std::string actor;
  absl::Time recorded_at;
  std::string payload;  // Canonical JSON, as MACed.
  std::string key_id;
  std::string event_mac_hex;
  std::string chain_mac_hex;
};

struct AuditExportFilter {
  std::string subject_id;  // Empty: every subject.
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
};

struct AuditVerification {
  struct Problem {
    int64_t sequence = 0;  // 0 for an event outside the chain.
    int64_t event_id = 0;
    std::string description;
  };
  bool ok = true;
  int64_t events_verified = 0;
  // At most kMaxProblems, in sequence order.
  std::vector<Problem> problems;
  int64_t head_sequence = 0;
  std::string head_mac_hex;
  // Committed events waiting to be sealed.
  int64_t unsealed = 0;
};

// A link in force between a device id and an account id.
struct LinkRecord {
  std::string device_subject_id;
  std::string account_subject_id;
  std::string merge_rule;  // As stored: "most_recent", "most_restrictive".
  absl::Time linked_at;
  std::string actor;
};

// One decision in a subject's history, with the standing choice of every
// category named so far.
struct HistoryRecord {
  int64_t consent_version = 0;
  absl::Time recorded_at;
  std::string policy_version;
  std::vector<std::pair<std::string, bool>> choices;  // As named.
  std::string source;
  std::string region;
  bool gpc = false;
  std::string idempotency_key;
  int64_t expected_version = 0;
  std::string actor;
  std::vector<std::pair<std::string, bool>> standing;  // After it.
};

struct ErasureOutcome {
  std::string pseudonym;
  int erasure = 0;
  int64_t decisions = 0;
  int64_t audit_events = 0;
};

// Thread-safe.
class AuditStore {
 public:
  static constexpr size_t kMaxProblems = 10;

  AuditStore(Database* db, const AuditKeys* keys) : db_(db), keys_(keys) {}

  // Seals up to `max_events` committed events into the chain, in one
  // transaction. Returns how many were sealed; 0 when another replica is
  // sealing. Events whose MAC does not verify are left out (and then show
  // in verification).
  absl::StatusOr<int> SealBatch(int max_events);

  // Sealed events after `after_sequence` that match `filter`, by sequence.
  absl::StatusOr<std::vector<AuditEventRecord>> ExportPage(
      const AuditExportFilter& filter, int64_t after_sequence, int limit);

  // The last sequence sealed (0 when the log is empty).
  absl::StatusOr<int64_t> HeadSequence();

  // Recomputes every MAC of the chain and looks for events outside it.
  absl::StatusOr<AuditVerification> Verify();

  // Every decision of `subject_id`, oldest first. NotFound when there is
  // none.
  absl::StatusOr<std::vector<HistoryRecord>> History(
      const std::string& subject_id);

  // Whether anything is held about `subject_id`.
  absl::StatusOr<bool> SubjectKnown(const std::string& subject_id);
  // The links `subject_id` is in, as a device or as an account, in device
  // id order: at most `limit`.
  absl::StatusOr<std::vector<LinkRecord>> Links(const std::string& subject_id,
                                                int limit);

  // Removes the subject's identifier everywhere: current state deleted,
  // decisions renamed to "erased:<pseudonym>:<n>", audit events keep only
  // the pseudonym; records the erasure as an audit event; announces it to
  // every replica. NotFound when nothing is held about the subject.
  absl::StatusOr<ErasureOutcome> Erase(const std::string& subject_id,
                                       const std::string& actor,
                                       absl::Time now);

  const AuditKeys& keys() const { return *keys_; }

 private:
  Database* const db_;
  const AuditKeys* const keys_;
};

// Seals the audit log in the background: a thread calling SealBatch every
// `interval` (at once again while there is a backlog). Stops when destroyed.
class AuditSealer {
 public:
  AuditSealer(AuditStore* store, absl::Duration interval);
  ~AuditSealer();
  AuditSealer(const AuditSealer&) = delete;
  AuditSealer& operator=(const AuditSealer&) = delete;

 private:
  AuditStore* const store_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace consentd

#endif  // CONSENTD_STORAGE_AUDIT_STORE_H_
