-- consentd schema, version 4: linked identities (ConsentService.LinkSubjects).
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

-- Recording decisions now writes a linked device's decision to its account:
-- as V003's function, with one more column, out_subject, the subject the
-- decision was recorded for.
DROP FUNCTION consentd_record_decisions(jsonb);
CREATE FUNCTION consentd_record_decisions(batch jsonb)
RETURNS TABLE (out_ord integer, out_outcome text, out_version bigint,
               out_decided_micros bigint, out_policy_seq bigint,
               out_category text, out_granted boolean,
               out_choice_policy_seq bigint, out_choice_micros bigint,
               out_subject text)
LANGUAGE plpgsql AS $$
DECLARE
  d record;
  subject text;
  current_version bigint;
  last_decided timestamptz;
  created boolean;
  decided timestamptz;
BEGIN
  FOR d IN
    SELECT * FROM jsonb_to_recordset(batch) AS x(
      ord integer, subject_id text, policy_version text, choices jsonb,
      source text, region text, gpc boolean, idempotency_key text,
      expected_version bigint, actor text, recorded_at timestamptz)
  LOOP
    out_ord := d.ord;
    out_version := NULL;
    out_decided_micros := NULL;
    out_policy_seq := NULL;
    out_category := NULL;
    out_granted := NULL;
    out_choice_policy_seq := NULL;
    out_choice_micros := NULL;

    -- A linked device's decision is its account's. The link row is locked
    -- (shared) so that it cannot end before this decision commits.
    SELECT l.account_subject_id INTO subject FROM subject_links l
      WHERE l.device_subject_id = d.subject_id FOR SHARE;
    subject := coalesce(subject, d.subject_id);
    out_subject := subject;

    -- The subject's row lock orders its decisions (see V003).
    created := false;
    LOOP
      SELECT s.consent_version, s.last_decided_at
        INTO current_version, last_decided
        FROM subjects s WHERE s.subject_id = subject FOR UPDATE;
      EXIT WHEN FOUND;
      current_version := 0;
      EXIT WHEN d.expected_version <> 0;
      INSERT INTO subjects (subject_id, consent_version, last_policy_version,
                            last_decided_at, created_at)
      VALUES (subject, 1, d.policy_version, d.recorded_at, d.recorded_at)
      ON CONFLICT (subject_id) DO NOTHING;
      IF FOUND THEN
        created := true;
        EXIT;
      END IF;
    END LOOP;

    IF d.expected_version <> 0 AND current_version <> d.expected_version THEN
      IF d.idempotency_key <> '' AND EXISTS (
           SELECT 1 FROM decisions
           WHERE subject_id = subject
             AND idempotency_key = d.idempotency_key) THEN
        out_outcome := 'replay';
      ELSE
        out_outcome := 'conflict';
        out_version := current_version;
      END IF;
      RETURN NEXT;
      CONTINUE;
    END IF;

    decided := CASE WHEN created THEN d.recorded_at
                    ELSE GREATEST(last_decided, d.recorded_at) END;
    INSERT INTO decisions (subject_id, consent_version, policy_version,
                           choices, source, region, gpc, idempotency_key,
                           expected_version, actor, recorded_at)
    VALUES (subject, current_version + 1, d.policy_version, d.choices,
            d.source, d.region, d.gpc, NULLIF(d.idempotency_key, ''),
            d.expected_version, d.actor, decided)
    ON CONFLICT (subject_id, idempotency_key)
      WHERE idempotency_key IS NOT NULL DO NOTHING;
    IF NOT FOUND THEN
      IF created THEN
        RAISE EXCEPTION 'idempotency key taken for a subject without decisions';
      END IF;
      out_outcome := 'replay';
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF NOT created THEN
      UPDATE subjects SET consent_version = current_version + 1,
                          last_policy_version = d.policy_version,
                          last_decided_at = decided
      WHERE subject_id = subject;
    END IF;
    INSERT INTO subject_choices AS c (subject_id, category, granted,
                                      policy_version, decided_at,
                                      consent_version)
    SELECT subject, e.key, e.value::boolean, d.policy_version, decided,
           current_version + 1
    FROM jsonb_each_text(d.choices) AS e
    ON CONFLICT (subject_id, category) DO UPDATE SET
      granted = EXCLUDED.granted, policy_version = EXCLUDED.policy_version,
      decided_at = EXCLUDED.decided_at,
      consent_version = EXCLUDED.consent_version;

    out_outcome := 'ok';
    out_version := current_version + 1;
    out_decided_micros := (extract(epoch FROM decided) * 1000000)::bigint;
    SELECT p.seq INTO out_policy_seq FROM policies p
      WHERE p.version = d.policy_version;
    FOR out_category, out_granted, out_choice_policy_seq, out_choice_micros IN
      SELECT c.category, c.granted, p.seq,
             (extract(epoch FROM c.decided_at) * 1000000)::bigint
      FROM subject_choices c JOIN policies p ON p.version = c.policy_version
      WHERE c.subject_id = subject
    LOOP
      RETURN NEXT;
    END LOOP;
    IF out_category IS NULL THEN
      RETURN NEXT;
    END IF;
  END LOOP;
END
$$;
