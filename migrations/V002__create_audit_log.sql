-- consentd schema, version 2: the tamper-evident audit log.
--
-- audit_events: one row per change (a decision, a policy publish, an
-- erasure), written in the same transaction as the change. The service never
-- updates or deletes a row, except that erasing a subject replaces
-- subject_id by NULL (the pseudonym stays). Each row carries event_mac, a
-- keyed MAC (HMAC-SHA256, key outside the database) of its content: action,
-- pseudonym, actor, time and payload.
--
-- audit_chain: the order of the log. A background sealer (one at a time,
-- under an advisory lock) appends each committed event with the next
-- sequence number and chain_mac = HMAC(key, previous chain_mac, sequence,
-- event_id, event_mac). Writers never wait for it. Exports page by sequence,
-- so every event is delivered exactly once; verification recomputes both
-- MACs and reports the first sequence that does not hold.
CREATE TABLE audit_events (
  event_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The subject in clear, for lookups; NULL for events about no subject,
  -- and once the subject is erased.
  subject_id        text COLLATE "C",
  -- Keyed pseudonym of the subject (hex), kept after erasure.
  subject_pseudonym text COLLATE "C",
  action            text NOT NULL
                      CHECK (action IN ('decision', 'policy_publish', 'erasure')),
  actor             text NOT NULL,
  recorded_at       timestamptz NOT NULL,
  -- Canonical JSON, exactly the bytes the MAC covers.
  payload           text NOT NULL,
  key_id            text NOT NULL,
  event_mac         bytea NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_id)
  WHERE subject_id IS NOT NULL;
CREATE INDEX audit_events_pseudonym ON audit_events (subject_pseudonym)
  WHERE subject_pseudonym IS NOT NULL;
-- No two events have the same content (decisions differ in version,
-- publishes in seq, erasures in number), hence not the same MAC: a copied
-- row is refused here, and found by verification if this index is dropped.
CREATE UNIQUE INDEX audit_events_mac ON audit_events (event_mac);

-- Events committed but not sealed into the chain yet: the sealer's queue.
CREATE TABLE audit_unsealed (
  event_id bigint PRIMARY KEY
);

-- No foreign key to audit_events: tampering with either table must be
-- possible to show, and is detected by verification.
CREATE TABLE audit_chain (
  sequence  bigint PRIMARY KEY CHECK (sequence > 0),
  event_id  bigint NOT NULL UNIQUE,
  key_id    text NOT NULL,
  chain_mac bytea NOT NULL,
  sealed_at timestamptz NOT NULL DEFAULT now()
);

-- Erasures replace the subject's id in decisions by
-- 'erased:<pseudonym>:<n>' (n counts the subject's erasures).
CREATE TABLE subject_erasures (
  subject_pseudonym text COLLATE "C" NOT NULL,
  erasure           integer NOT NULL,
  erased_at         timestamptz NOT NULL,
  actor             text NOT NULL,
  PRIMARY KEY (subject_pseudonym, erasure)
);
