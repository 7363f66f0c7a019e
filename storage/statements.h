// Every SQL statement consentd runs, by name. Each is prepared on every pooled
// connection when it opens; code runs them with exec_prepared(kName, ...).
// Times cross the boundary as UTC text in ($n::timestamptz) and as Unix
// microseconds out.
#ifndef CONSENTD_STORAGE_STATEMENTS_H_
#define CONSENTD_STORAGE_STATEMENTS_H_

#include <span>

#include "absl/strings/string_view.h"

namespace consentd {

struct Statement {
  absl::string_view name;
  absl::string_view sql;
};

// Statement names.
inline constexpr char kInsertPolicy[] = "insert_policy";
inline constexpr char kComparePolicy[] = "compare_policy";
inline constexpr char kPolicyExists[] = "policy_exists";
inline constexpr char kLockPolicies[] = "lock_policies";
inline constexpr char kLoadPolicies[] = "load_policies";
inline constexpr char kLatestPolicySeq[] = "latest_policy_seq";
inline constexpr char kLoadSubject[] = "load_subject";
inline constexpr char kLoadSubjects[] = "load_subjects";
inline constexpr char kRecordDecisions[] = "record_decisions";
inline constexpr char kDecisionByKey[] = "decision_by_key";
inline constexpr char kNotifyChange[] = "notify_change";
inline constexpr char kNotifyChanges[] = "notify_changes";
// The audit log.
inline constexpr char kInsertAuditEvents[] = "insert_audit_events";
inline constexpr char kLockSealer[] = "lock_sealer";
inline constexpr char kChainHead[] = "chain_head";
inline constexpr char kUnsealedEvents[] = "unsealed_events";
inline constexpr char kAppendChain[] = "append_chain";
inline constexpr char kDequeueEvents[] = "dequeue_events";
inline constexpr char kExportAll[] = "export_all";
inline constexpr char kExportSubject[] = "export_subject";
inline constexpr char kVerifyPage[] = "verify_page";
inline constexpr char kOrphanEvents[] = "orphan_events";
inline constexpr char kDuplicateEvents[] = "duplicate_events";
inline constexpr char kUnsealedCount[] = "unsealed_count";
inline constexpr char kHistory[] = "history";
inline constexpr char kSubjectExists[] = "subject_exists";
inline constexpr char kLockSubject[] = "lock_subject";
inline constexpr char kCountErasures[] = "count_erasures";
inline constexpr char kEraseChoices[] = "erase_choices";
inline constexpr char kEraseSubjectRow[] = "erase_subject_row";
inline constexpr char kEraseDecisions[] = "erase_decisions";
inline constexpr char kEraseAuditIds[] = "erase_audit_ids";
inline constexpr char kRecordErasure[] = "record_erasure";

// All statements, for preparing.
std::span<const Statement> AllStatements();

}  // namespace consentd

#endif  // CONSENTD_STORAGE_STATEMENTS_H_
