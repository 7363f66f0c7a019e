#include "storage/statements.h"

namespace consentd {
namespace {

#define MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

const Statement kStatements[] = {
    // $1 version, $2 body, $3 document (JSON), $4 published_at, $5 actor.
    // No row when the version exists already.
    {kInsertPolicy,
     "INSERT INTO policies (version, body, document, published_at, "
     "published_by) VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5) "
     "ON CONFLICT (version) DO NOTHING "
     "RETURNING seq, " MICROS("published_at")},
    // $1 version, $2 body: does the stored policy carry exactly these bytes?
    {kComparePolicy,
     "SELECT seq, body = $2 AS same, " MICROS("published_at")
     " FROM policies WHERE version = $1"},
    // $1 version.
    {kPolicyExists, "SELECT EXISTS (SELECT 1 FROM policies WHERE version = $1)"},
    // Serializes publishers until commit, so that publish order (seq) is
    // also commit order and the latest committed policy is the current one.
    {kLockPolicies, "SELECT pg_advisory_xact_lock(7161131367236560997)"},
    {kLatestPolicySeq, "SELECT coalesce(max(seq), 0) FROM policies"},
    {kLoadPolicies,
     "SELECT seq, version, body, " MICROS("published_at")
     " FROM policies ORDER BY seq"},
    // $1 subject. One row per standing choice (one row with NULL choice
    // columns when the subject has none); no row for an unknown subject.
    {kLoadSubject,
     "SELECT s.consent_version, lp.seq, " MICROS("s.last_decided_at") ", "
     "c.category, c.granted, cp.seq, " MICROS("c.decided_at")
     " FROM subjects s"
     " JOIN policies lp ON lp.version = s.last_policy_version"
     " LEFT JOIN subject_choices c ON c.subject_id = s.subject_id"
     " LEFT JOIN policies cp ON cp.version = c.policy_version"
     " WHERE s.subject_id = $1"},
    // $1 subject, $2 policy version, $3 server time. Takes the subject's row
    // lock and answers the new consent_version and the decision's time: the
    // server time, but never before the subject's previous decision, so a
    // later version never expires earlier.
    {kBumpSubject,
     "INSERT INTO subjects AS s (subject_id, consent_version, "
     "last_policy_version, last_decided_at, created_at) "
     "VALUES ($1, 1, $2, $3::timestamptz, $3::timestamptz) "
     "ON CONFLICT (subject_id) DO UPDATE SET "
     "consent_version = s.consent_version + 1, "
     "last_policy_version = EXCLUDED.last_policy_version, "
     "last_decided_at = GREATEST(s.last_decided_at, EXCLUDED.last_decided_at) "
     "RETURNING consent_version, " MICROS("last_decided_at")},
    // $1 subject, $2 version, $3 policy version, $4 choices (JSON object),
    // $5 source, $6 region, $7 gpc, $8 idempotency key ('' = none),
    // $9 expected version, $10 actor, $11 recorded_at. No row when the
    // idempotency key was used before.
    {kInsertDecision,
     "INSERT INTO decisions (subject_id, consent_version, policy_version, "
     "choices, source, region, gpc, idempotency_key, expected_version, actor, "
     "recorded_at) "
     "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, NULLIF($8, ''), $9, $10, "
     "$11::timestamptz) "
     "ON CONFLICT (subject_id, idempotency_key) "
     "WHERE idempotency_key IS NOT NULL DO NOTHING "
     "RETURNING consent_version"},
    // $1 subject, $2 policy version, $3 decided_at, $4 version, $5 choices.
    {kUpsertChoices,
     "INSERT INTO subject_choices (subject_id, category, granted, "
     "policy_version, decided_at, consent_version) "
     "SELECT $1, c.key, c.value::boolean, $2, $3::timestamptz, $4 "
     "FROM jsonb_each_text($5::jsonb) AS c "
     "ON CONFLICT (subject_id, category) DO UPDATE SET "
     "granted = EXCLUDED.granted, policy_version = EXCLUDED.policy_version, "
     "decided_at = EXCLUDED.decided_at, "
     "consent_version = EXCLUDED.consent_version"},
    // $1 subject, $2 key, then the request to compare: $3 policy version,
    // $4 choices, $5 source, $6 region, $7 gpc, $8 expected version.
    {kDecisionByKey,
     "SELECT consent_version, " MICROS("recorded_at") ", "
     "(policy_version = $3 AND choices = $4::jsonb AND source = $5 "
     "AND region = $6 AND gpc = $7 AND expected_version = $8) AS same "
     "FROM decisions WHERE subject_id = $1 AND idempotency_key = $2"},
    // $1 payload (changes.h). Delivered to every listener when, and only
    // if, the transaction commits.
    {kNotifyChange, "SELECT pg_notify('consentd_changes', $1)"},
};

#undef MICROS

}  // namespace

std::span<const Statement> AllStatements() { return kStatements; }

}  // namespace consentd
