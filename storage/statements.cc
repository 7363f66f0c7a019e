#include "storage/statements.h"

#include "absl/strings/str_cat.h"

namespace consentd {
namespace {

#define MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// clang-format off
// A subject's state: latest version, its policy seq and time, then one
// standing choice (category, granted, policy seq, time) a row.
#define SUBJECT_STATE_COLUMNS                                             \
  "s.consent_version, lp.seq, " MICROS("s.last_decided_at") ", "         \
  "c.category, c.granted, cp.seq, " MICROS("c.decided_at")
// clang-format on

const Statement kStatements[] = {
    // $1 version, $2 body, $3 document (JSON), $4 published_at, $5 actor.
    // No row when the version exists already.
    {kInsertPolicy,
     "INSERT INTO policies (version, body, document, published_at, "
     "published_by) VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5) "
     "ON CONFLICT (version) DO NOTHING "
     "RETURNING seq, " MICROS("published_at")},
    // $1 version, $2 body: does the stored policy carry exactly these bytes?
    {kComparePolicy, "SELECT seq, body = $2 AS same, " MICROS(
                         "published_at") " FROM policies WHERE version = $1"},
    // $1 version.
    {kPolicyExists,
     "SELECT EXISTS (SELECT 1 FROM policies WHERE version = $1)"},
    // Serializes publishers until commit, so that publish order (seq) is
    // also commit order and the latest committed policy is the current one.
    {kLockPolicies, "SELECT pg_advisory_xact_lock(7161131367236560997)"},
    {kLatestPolicySeq, "SELECT coalesce(max(seq), 0) FROM policies"},
    {kLoadPolicies, "SELECT seq, version, body, " MICROS(
                        "published_at") " FROM policies ORDER BY seq"},
    // $1 subject. One row per standing choice (one row with NULL choice
    // columns when the subject has none); no row for an unknown subject.
    // A linked device's state is its account's. Always one row or more: the
    // state columns are NULL for a subject without decisions, and the last
    // column says whether $1 is a linked device.
    {kLoadSubject,
     "SELECT " SUBJECT_STATE_COLUMNS ", t.linked FROM (SELECT "
     "coalesce(l.account_subject_id, x.d) AS id, l.account_subject_id IS NOT "
     "NULL AS linked FROM (SELECT $1::text COLLATE \"C\" AS d) x "
     "LEFT JOIN subject_links l ON l.device_subject_id = x.d) t "
     "LEFT JOIN subjects s ON s.subject_id = t.id "
     "LEFT JOIN policies lp ON lp.version = s.last_policy_version "
     "LEFT JOIN subject_choices c ON c.subject_id = s.subject_id "
     "LEFT JOIN policies cp ON cp.version = c.policy_version"},
    // $1 subject, $2 a time: the subject's state then, rebuilt from the
    // append-only decisions recorded by then, in the rows of kLoadSubject
    // (no row when it had none). A category's standing choice is the one of
    // the latest decision naming it.
    {kLoadSubjectAsOf,
     "WITH d AS (SELECT d.consent_version, p.seq, d.recorded_at, d.choices, "
     "d.choice_origins "
     "FROM decisions d JOIN policies p ON p.version = d.policy_version "
     "WHERE d.subject_id = $1 AND d.recorded_at <= $2::timestamptz), "
     "latest AS (SELECT * FROM d ORDER BY consent_version DESC LIMIT 1), "
     "standing AS (SELECT DISTINCT ON (c.key) c.key, c.value::boolean AS "
     "granted, coalesce(op.seq, d.seq) AS seq, coalesce((d.choice_origins -> "
     "c.key ->> 'decided_at')::timestamptz, d.recorded_at) AS recorded_at "
     "FROM d CROSS JOIN jsonb_each_text(d.choices) AS c LEFT JOIN policies "
     "op ON op.version = d.choice_origins -> c.key ->> 'policy_version' "
     "ORDER BY c.key, d.consent_version DESC) "
     "SELECT l.consent_version, l.seq, " MICROS(
         "l.recorded_at") ", "
                          "st.key, st.granted, st.seq, " MICROS(
                              "st.recorded_at") " FROM latest l LEFT JOIN "
                                                "standing st ON true"},
    // $1 a batch of decisions as JSON; see migrations/V004 for its fields and
    // the rows it answers (column 9 is the subject it was recorded for, a
    // linked device's account). Columns 2-8 of a written
    // decision's rows are those of kLoadSubject: the subject's state after.
    {kRecordDecisions,
     "SELECT out_ord, out_outcome, out_version, out_policy_seq, "
     "out_decided_micros, out_category, out_granted, out_choice_policy_seq, "
     "out_choice_micros, out_subject "
     "FROM consentd_record_decisions($1::jsonb)"},
    // $1 subject, $2 key, then the request to compare: $3 policy version,
    // $4 choices, $5 source, $6 region, $7 gpc, $8 expected version, $9 the
    // time an import keeps ('' for other decisions: not compared).
    {kDecisionByKey, "SELECT consent_version, " MICROS(
                         "recorded_at") ", "
                                        "(policy_version = $3 AND choices = "
                                        "$4::jsonb AND source = $5 "
                                        "AND region = $6 AND gpc = $7 AND "
                                        "expected_version = $8 AND "
                                        "recorded_at = coalesce(nullif($9, "
                                        "'')::timestamptz, recorded_at)) "
                                        "AS same "
                                        "FROM decisions WHERE subject_id = $1 "
                                        "AND idempotency_key = $2"},
    // $1 payload (changes.h). Delivered to every listener when, and only
    // if, the transaction commits.
    {kNotifyChange, "SELECT pg_notify('consentd_changes', $1)"},
    // $1 a JSON array of payloads, sent in order.
    {kNotifyChanges,
     "SELECT count(pg_notify('consentd_changes', n)) "
     "FROM jsonb_array_elements_text($1::jsonb) AS n"},

    // --- The audit log (migrations/V002). ---
    // $1 a JSON array of events {subject_id (null: none), subject_pseudonym
    // (null: none), action, actor, recorded_at, payload, key_id, event_mac
    // (hex)}: inserted and queued for sealing.
    {kInsertAuditEvents,
     "WITH e AS (INSERT INTO audit_events (subject_id, subject_pseudonym, "
     "action, actor, recorded_at, payload, key_id, event_mac) "
     "SELECT x.subject_id, x.subject_pseudonym, x.action, x.actor, "
     "x.recorded_at, x.payload, x.key_id, decode(x.event_mac, 'hex') "
     "FROM jsonb_to_recordset($1::jsonb) AS x(subject_id text, "
     "subject_pseudonym text, action text, actor text, recorded_at "
     "timestamptz, payload text, key_id text, event_mac text) "
     "RETURNING event_id) "
     "INSERT INTO audit_unsealed (event_id) SELECT event_id FROM e"},
    // One sealer at a time, across replicas; others skip their turn.
    {kLockSealer, "SELECT pg_try_advisory_xact_lock(7161131367236560998)"},
    {kChainHead,
     "SELECT sequence, encode(chain_mac, 'hex') FROM audit_chain "
     "ORDER BY sequence DESC LIMIT 1"},
    // $1 limit. Committed events not yet in the chain, oldest first.
    {kUnsealedEvents,
     "SELECT e.event_id, coalesce(e.subject_pseudonym, ''), e.action, "
     "e.actor, " MICROS("e.recorded_at") ", e.payload, e.key_id, "
                                         "encode(e.event_mac, 'hex') "
                                         "FROM audit_unsealed u JOIN "
                                         "audit_events e USING (event_id) "
                                         "ORDER BY u.event_id LIMIT $1"},
    // $1 sequences, $2 event ids, $3 key ids, $4 chain MACs (hex): arrays.
    {kAppendChain,
     "INSERT INTO audit_chain (sequence, event_id, key_id, chain_mac) "
     "SELECT s, e, k, decode(m, 'hex') FROM unnest($1::bigint[], "
     "$2::bigint[], $3::text[], $4::text[]) AS t(s, e, k, m)"},
    // $1 event ids (array).
    {kDequeueEvents,
     "DELETE FROM audit_unsealed WHERE event_id = ANY($1::bigint[])"},
    // $1 after sequence, $2 since, $3 until, $4 limit.
    {kExportAll,
     "SELECT c.sequence, e.event_id, coalesce(e.subject_id, ''), "
     "coalesce(e.subject_pseudonym, ''), e.action, e.actor, " MICROS(
         "e.recorded_at") ", e.payload, e.key_id, "
                          "encode(e.event_mac, 'hex'), encode(c.chain_mac, "
                          "'hex') "
                          "FROM audit_chain c JOIN audit_events e ON "
                          "e.event_id = c.event_id "
                          "WHERE c.sequence > $1 AND e.recorded_at >= "
                          "$2::timestamptz "
                          "AND e.recorded_at < $3::timestamptz ORDER BY "
                          "c.sequence LIMIT $4"},
    // As kExportAll, for one subject: $5 subject id, $6 its pseudonym (so
    // the events of an erased subject are found too).
    {kExportSubject,
     "SELECT c.sequence, e.event_id, coalesce(e.subject_id, ''), "
     "coalesce(e.subject_pseudonym, ''), e.action, e.actor, " MICROS(
         "e.recorded_at") ", e.payload, e.key_id, "
                          "encode(e.event_mac, 'hex'), encode(c.chain_mac, "
                          "'hex') "
                          "FROM audit_events e JOIN audit_chain c ON "
                          "c.event_id = e.event_id "
                          "WHERE (e.subject_id = $5 OR e.subject_pseudonym = "
                          "$6) "
                          "AND c.sequence > $1 AND e.recorded_at >= "
                          "$2::timestamptz "
                          "AND e.recorded_at < $3::timestamptz ORDER BY "
                          "c.sequence LIMIT $4"},
    // $1 after sequence, $2 limit. Chain entries with their events (NULLs
    // where the event is gone).
    {kVerifyPage,
     "SELECT c.sequence, c.event_id, c.key_id, encode(c.chain_mac, 'hex'), "
     "e.event_id IS NOT NULL, coalesce(e.subject_pseudonym, ''), "
     "coalesce(e.action, ''), coalesce(e.actor, ''), "
     "coalesce(" MICROS(
         "e.recorded_at") ", 0), coalesce(e.payload, ''), "
                          "coalesce(e.key_id, ''), "
                          "coalesce(encode(e.event_mac, 'hex'), ''), "
                          "coalesce(e.subject_id, '') "
                          "FROM audit_chain c LEFT JOIN audit_events e ON "
                          "e.event_id = c.event_id "
                          "WHERE c.sequence > $1 ORDER BY c.sequence LIMIT $2"},
    // Events neither sealed nor waiting to be: inserted behind consentd's
    // back (or rejected by the sealer).
    {kOrphanEvents,
     "SELECT e.event_id FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM "
     "audit_chain c WHERE c.event_id = e.event_id) AND NOT EXISTS (SELECT 1 "
     "FROM audit_unsealed u WHERE u.event_id = e.event_id) "
     "ORDER BY e.event_id LIMIT 10"},
    // Rows that repeat another event (its MAC): copies.
    {kDuplicateEvents,
     "SELECT max(event_id) FROM audit_events GROUP BY event_mac "
     "HAVING count(*) > 1 LIMIT 10"},
    {kUnsealedCount, "SELECT count(*) FROM audit_unsealed"},
    // $1 subject: its decisions, oldest first, one row per named category.
    {kHistory,
     "SELECT d.consent_version, " MICROS(
         "d.recorded_at") ", "
                          "d.policy_version, d.source, d.region, d.gpc, "
                          "coalesce(d.idempotency_key, ''), "
                          "d.expected_version, d.actor, "
                          "c.key, c.value::boolean "
                          "FROM decisions d CROSS JOIN LATERAL "
                          "jsonb_each_text(d.choices) AS c "
                          "WHERE d.subject_id = $1 ORDER BY d.consent_version, "
                          "c.key"},
    // $1 subject, $2 pseudonym: is anything held about it?
    {kSubjectExists,
     "SELECT EXISTS (SELECT 1 FROM subjects WHERE subject_id = $1) OR "
     "EXISTS (SELECT 1 FROM decisions WHERE subject_id = $1) OR "
     "EXISTS (SELECT 1 FROM audit_events WHERE subject_id = $1) OR "
     "EXISTS (SELECT 1 FROM subject_links WHERE device_subject_id = $1 OR "
     "account_subject_id = $1)"},
    {kLockSubject,
     "SELECT consent_version FROM subjects WHERE subject_id = $1 FOR UPDATE"},
    // $1 pseudonym.
    {kCountErasures,
     "SELECT count(*) FROM subject_erasures WHERE subject_pseudonym = $1"},
    {kEraseChoices, "DELETE FROM subject_choices WHERE subject_id = $1"},
    {kEraseSubjectRow, "DELETE FROM subjects WHERE subject_id = $1"},
    // $1 subject, $2 replacement id.
    {kEraseDecisions,
     "UPDATE decisions SET subject_id = $2 WHERE subject_id = $1"},
    {kEraseAuditIds,
     "UPDATE audit_events SET subject_id = NULL WHERE subject_id = $1"},
    // $1 pseudonym, $2 erasure number, $3 time, $4 actor.
    // $1 subject: its links, as device or as account.
    {kEraseLinks,
     "DELETE FROM subject_links WHERE device_subject_id = $1 OR "
     "account_subject_id = $1"},
    // --- Linked identities (migrations/V003). ---
    // $1 device, $2 account: lock both subjects' rows that exist (id order)
    // and every link touching either.
    {kLockLinkSubjects,
     "SELECT s.subject_id FROM subjects s WHERE s.subject_id IN ($1, $2) "
     "ORDER BY s.subject_id FOR UPDATE"},
    {kLinksOf,
     "SELECT device_subject_id, account_subject_id FROM subject_links WHERE "
     "device_subject_id IN ($1, $2) OR account_subject_id IN ($1, $2) "
     "ORDER BY device_subject_id FOR UPDATE"},
    // $1 subject, $2 the most rows: the links it is in, as device or as
    // account.
    {kSubjectLinks,
     "SELECT device_subject_id, account_subject_id, merge_rule, " MICROS(
         "linked_at") ", actor FROM subject_links WHERE device_subject_id = "
                      "$1 OR account_subject_id = $1 ORDER BY "
                      "device_subject_id LIMIT $2"},
    // $1 device, $2 account: both subjects' standing choices.
    {kStandingOf,
     "SELECT c.subject_id, c.category, c.granted, c.policy_version, " MICROS(
         "c.decided_at") " FROM subject_choices c WHERE c.subject_id IN ($1, "
                         "$2)"},
    // $1 account, $2 policy version, $3 time: the account's next version
    // (creating its row), and the decision's time (never before its last).
    {kBumpSubject,
     "INSERT INTO subjects AS s (subject_id, consent_version, "
     "last_policy_version, last_decided_at, created_at) VALUES ($1, 1, $2, "
     "$3::timestamptz, $3::timestamptz) ON CONFLICT (subject_id) DO UPDATE "
     "SET consent_version = s.consent_version + 1, last_policy_version = "
     "EXCLUDED.last_policy_version, last_decided_at = "
     "GREATEST(s.last_decided_at, EXCLUDED.last_decided_at) RETURNING "
     "consent_version, " MICROS("last_decided_at")},
    // $1 subject: its version (no row: none).
    {kSubjectVersion,
     "SELECT consent_version FROM subjects WHERE subject_id = $1"},
    // $1 account, $2 version, $3 policy version, $4 choices, $5 origins,
    // $6 actor, $7 time: a merge decision.
    {kInsertLinkDecision,
     "INSERT INTO decisions (subject_id, consent_version, policy_version, "
     "choices, source, region, gpc, idempotency_key, expected_version, "
     "actor, recorded_at, choice_origins) VALUES ($1, $2, $3, $4::jsonb, "
     "'link', '', false, NULL, 0, $6, $7::timestamptz, $5::jsonb)"},
    // $1 account, $2 category, $3 granted, $4 policy version, $5 decided at,
    // $6 version: a standing choice carried over by a merge.
    {kUpsertChoice,
     "INSERT INTO subject_choices (subject_id, category, granted, "
     "policy_version, decided_at, consent_version) VALUES ($1, $2, $3, $4, "
     "$5::timestamptz, $6) ON CONFLICT (subject_id, category) DO UPDATE SET "
     "granted = EXCLUDED.granted, policy_version = EXCLUDED.policy_version, "
     "decided_at = EXCLUDED.decided_at, consent_version = "
     "EXCLUDED.consent_version"},
    // $1 device, $2 account, $3 rule, $4 time, $5 actor.
    {kInsertLink,
     "INSERT INTO subject_links (device_subject_id, account_subject_id, "
     "merge_rule, linked_at, actor) VALUES ($1, $2, $3, $4::timestamptz, $5)"},
    // $1 device: ends its link; answers the account.
    {kDeleteLink,
     "DELETE FROM subject_links WHERE device_subject_id = $1 RETURNING "
     "account_subject_id"},
    {kRecordErasure,
     "INSERT INTO subject_erasures (subject_pseudonym, erasure, erased_at, "
     "actor) VALUES ($1, $2, $3::timestamptz, $4)"},

    // --- Policy dry runs. ---
    // $1 a JSON array [{category, floor_seq}], $2 the expiry cutoff: the
    // standing choices that count today for those categories (made under a
    // policy of seq >= floor_seq, decided after the cutoff). One row per
    // category with a counted choice (category, granted, denied), then one
    // row (NULL, distinct subjects over all of them, 0).
    {kCountReconsent,
     "WITH f AS (SELECT * FROM jsonb_to_recordset($1::jsonb) "
     "AS f(category text, floor_seq bigint, grant_until timestamptz, "
     "refusal_until timestamptz)), "
     "c AS (SELECT c.subject_id, c.category, c.granted "
     "FROM subject_choices c JOIN f ON c.category = f.category COLLATE \"C\" "
     "JOIN policies p ON p.version = c.policy_version "
     "WHERE p.seq >= f.floor_seq AND c.decided_at > CASE WHEN c.granted "
     "THEN f.grant_until ELSE f.refusal_until END) "
     "SELECT category, count(*) FILTER (WHERE granted), "
     "count(*) FILTER (WHERE NOT granted) FROM c GROUP BY category "
     "UNION ALL SELECT NULL, count(DISTINCT subject_id), 0 FROM c"},
};

#undef MICROS

}  // namespace

std::span<const Statement> AllStatements() { return kStatements; }

std::string SessionSettingsSql(int64_t statement_timeout_ms) {
  return absl::StrCat("SET statement_timeout = ", statement_timeout_ms,
                      "; SET lock_timeout = ", statement_timeout_ms,
                      "; SET idle_in_transaction_session_timeout = 60000");
}

std::string LocalStatementTimeoutSql(int64_t timeout_ms) {
  return absl::StrCat("SET LOCAL statement_timeout = ", timeout_ms);
}

}  // namespace consentd
