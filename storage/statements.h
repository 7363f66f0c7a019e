// Every SQL statement consentd runs, by name. Each is prepared on every pooled
// connection when it opens; code runs them with exec_prepared(kName, ...).
// Times cross the boundary as UTC text in ($n::timestamptz) and as Unix
// microseconds out.
#ifndef CONSENTD_STORAGE_STATEMENTS_H_
#define CONSENTD_STORAGE_STATEMENTS_H_

#include <cstdint>
#include <span>
#include <string>

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
inline constexpr char kLoadSubjectAsOf[] = "load_subject_as_of";
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
inline constexpr char kEraseLinks[] = "erase_links";
// Linked identities.
inline constexpr char kLockLinkSubjects[] = "lock_link_subjects";
inline constexpr char kLinksOf[] = "links_of";
inline constexpr char kSubjectLinks[] = "subject_links";
inline constexpr char kStandingOf[] = "standing_of";
inline constexpr char kBumpSubject[] = "bump_subject";
inline constexpr char kSubjectVersion[] = "subject_version";
inline constexpr char kInsertLinkDecision[] = "insert_link_decision";
inline constexpr char kUpsertChoice[] = "upsert_choice";
inline constexpr char kInsertLink[] = "insert_link";
inline constexpr char kDeleteLink[] = "delete_link";
// Policy dry runs.
inline constexpr char kCountReconsent[] = "count_reconsent";

// All statements, for preparing.
std::span<const Statement> AllStatements();

// SQL that is not prepared: the migration runner's (it runs before the
// schema exists, on a connection of its own), a new connection's session
// settings, and the change listener's heartbeat. Here so that this file and
// statements.cc hold every SQL text consentd sends.
namespace sql {
// The migrations' advisory lock ("consentd" in ASCII, as a key).
inline constexpr char kLockMigrations[] =
    "SELECT pg_advisory_lock(7161131367236560996)";
inline constexpr char kUnlockMigrations[] =
    "SELECT pg_advisory_unlock(7161131367236560996)";
inline constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
inline constexpr char kAppliedMigrations[] =
    "SELECT version, checksum FROM schema_migrations";
// $1 the migration's SQL.
inline constexpr char kMigrationChecksum[] = "SELECT md5($1)";
// $1 version, $2 file name, $3 checksum.
inline constexpr char kRecordMigration[] =
    "INSERT INTO schema_migrations (version, name, checksum) "
    "VALUES ($1, $2, $3)";
inline constexpr char kServerEncoding[] = "SHOW server_encoding";
// Whether a pooled session is usable, and ending what is left of a failed
// transaction block.
inline constexpr char kProbe[] = "SELECT 1";
inline constexpr char kRollback[] = "ROLLBACK";
// $1 channel, $2 payload.
inline constexpr char kHeartbeat[] = "SELECT pg_notify($1, $2)";
}  // namespace sql

// A new pooled connection's session: no statement or lock wait may run
// longer than `statement_timeout_ms`, and a transaction left open is cut
// off after a minute.
std::string SessionSettingsSql(int64_t statement_timeout_ms);
// Within a transaction: its statements end by `timeout_ms`.
std::string LocalStatementTimeoutSql(int64_t timeout_ms);

}  // namespace consentd

#endif  // CONSENTD_STORAGE_STATEMENTS_H_
