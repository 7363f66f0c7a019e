-- consentd schema, version 1: published policies, each subject's current
-- state, and the append-only decisions. Every subject-owned table is keyed by
-- subject_id first, so the data can shard by subject (DESIGN.md §6).
-- Identifiers are compared byte-wise (COLLATE "C"): they are opaque and
-- case-sensitive.

CREATE TABLE policies (
  -- Publish order: the row with the highest seq is the current policy.
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version      text COLLATE "C" NOT NULL UNIQUE,
  -- Deterministic protobuf encoding of consent.v1.Policy; publishing the
  -- same version again must carry exactly these bytes.
  body         bytea NOT NULL,
  -- The same policy as protobuf JSON, for people and for SQL.
  document     jsonb NOT NULL,
  published_at timestamptz NOT NULL,
  published_by text NOT NULL
);

-- One row per subject: its latest consent_version. Writers lock this row,
-- which orders the decisions of one subject.
CREATE TABLE subjects (
  subject_id          text COLLATE "C" PRIMARY KEY,
  consent_version     bigint NOT NULL CHECK (consent_version > 0),
  last_policy_version text COLLATE "C" NOT NULL REFERENCES policies (version),
  last_decided_at     timestamptz NOT NULL,
  created_at          timestamptz NOT NULL
);

-- Append-only: one row per decision, numbered 1, 2, 3... per subject.
CREATE TABLE decisions (
  subject_id      text COLLATE "C" NOT NULL,
  consent_version bigint NOT NULL CHECK (consent_version > 0),
  policy_version  text COLLATE "C" NOT NULL REFERENCES policies (version),
  -- The categories this decision named: {"statistics": true, ...}.
  choices         jsonb NOT NULL,
  source          text NOT NULL CHECK (source IN
                    ('banner', 'preferences_center', 'api', 'support', 'import')),
  region          text NOT NULL,
  gpc             boolean NOT NULL,
  idempotency_key text COLLATE "C",
  -- The precondition the caller sent (0: none); part of what a retry with
  -- the same idempotency key must repeat.
  expected_version bigint NOT NULL,
  actor           text NOT NULL,
  recorded_at     timestamptz NOT NULL,
  PRIMARY KEY (subject_id, consent_version)
);

-- The same idempotency key for the same subject records at most once.
CREATE UNIQUE INDEX decisions_idempotency_key
  ON decisions (subject_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- The standing choice per subject and category (a decision may name only
-- some categories; the others keep the value of an earlier decision).
CREATE TABLE subject_choices (
  subject_id      text COLLATE "C" NOT NULL,
  category        text COLLATE "C" NOT NULL,
  granted         boolean NOT NULL,
  policy_version  text COLLATE "C" NOT NULL REFERENCES policies (version),
  decided_at      timestamptz NOT NULL,
  consent_version bigint NOT NULL,
  PRIMARY KEY (subject_id, category),
  FOREIGN KEY (subject_id, consent_version)
    REFERENCES decisions (subject_id, consent_version)
);
