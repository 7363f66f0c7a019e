-- consentd schema, version 3: linked identities (ConsentService.LinkSubjects).
--
-- A device id linked to an account id answers from the account: checks and
-- decisions for the device are the account's until it is unlinked. A device
-- has at most one account; an account is never itself a linked device.
CREATE TABLE subject_links (
  device_subject_id  text COLLATE "C" PRIMARY KEY,
  account_subject_id text COLLATE "C" NOT NULL,
  merge_rule         text NOT NULL
                       CHECK (merge_rule IN ('most_recent', 'most_restrictive')),
  linked_at          timestamptz NOT NULL,
  actor              text NOT NULL,
  CHECK (device_subject_id <> account_subject_id)
);
CREATE INDEX subject_links_account ON subject_links (account_subject_id);

-- A merge decision (source 'link') carries choices made earlier, on the
-- device: for each, when and under which policy it was made, so that it
-- expires and needs re-consent as the original choice would:
-- {"statistics": {"policy_version": "2026-01-12", "decided_at": "..."}}.
-- NULL for every other decision.
ALTER TABLE decisions ADD COLUMN choice_origins jsonb;

ALTER TABLE decisions DROP CONSTRAINT decisions_source_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_source_check CHECK (source IN
  ('banner', 'preferences_center', 'api', 'support', 'import', 'link'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN
  ('decision', 'policy_publish', 'erasure', 'link', 'unlink'));
