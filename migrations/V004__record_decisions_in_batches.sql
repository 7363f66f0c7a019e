-- consentd schema, version 4: recording many decisions in one transaction
-- (group commit, storage/consent_store.cc). The function does for each
-- decision of a batch what one RecordConsent does: take the subject's row
-- lock, append the decision as the subject's next consent_version, update
-- the standing choices. A decision that is refused (its idempotency key was
-- used, its expected_version is not current) writes nothing and does not
-- affect the others. No subtransactions: a batch of hundreds stays one
-- transaction id, so other sessions' snapshots stay cheap. A linked
-- device's decision is recorded for its account (V003).
--
-- batch: a JSON array of objects {ord, subject_id, policy_version, choices,
-- source, region, gpc, idempotency_key ('' = none), expected_version, actor,
-- recorded_at, keep_time (absent = false)}, processed in array order. A
-- decision is recorded at the later of its recorded_at and the subject's
-- previous decision (times never go backwards within a subject); with
-- keep_time (an imported decision) exactly at its recorded_at, or, if that
-- is before the subject's latest decision, not at all. Rows per decision
-- come back:
--   outcome 'ok'        the decision is written as version out_version, at
--                       out_decided_micros (never before the subject's
--                       previous decision); one row per standing choice of
--                       the subject after it (out_category, out_granted,
--                       out_choice_policy_seq, out_choice_micros), all with
--                       out_policy_seq, the decision's policy seq: the
--                       subject's state, as the cache holds it (one row
--                       with NULL choice columns if it has none);
--   outcome 'replay'    the idempotency key was used before: nothing written;
--   outcome 'conflict'  expected_version was not current: nothing written;
--                       out_version is the current version;
--   outcome 'out_of_order'  keep_time, and older than the subject's latest
--                       decision: nothing written; out_version is the
--                       current version, out_decided_micros the latest
--                       decision's time.
-- Every row has out_subject: the subject the decision was (or would have
-- been) recorded for, the account of a linked device.
-- Any error (a database failure) fails the whole batch.
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
      expected_version bigint, actor text, recorded_at timestamptz,
      keep_time boolean)
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

    -- The subject's row lock orders its decisions. A subject's first
    -- decision creates the row (already at version 1); when two first
    -- decisions race, the loser waits for the winner and locks its row.
    created := false;
    LOOP
      SELECT s.consent_version, s.last_decided_at
        INTO current_version, last_decided
        FROM subjects s WHERE s.subject_id = subject FOR UPDATE;
      EXIT WHEN FOUND;
      current_version := 0;
      EXIT WHEN d.expected_version <> 0;  -- A conflict: write nothing.
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
      -- An exact retry is a replay, not a conflict.
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

    IF coalesce(d.keep_time, false) AND NOT created
       AND d.recorded_at < last_decided THEN
      -- An imported decision keeps its own time, so it cannot come after a
      -- later one. An exact retry is still a replay.
      IF d.idempotency_key <> '' AND EXISTS (
           SELECT 1 FROM decisions
           WHERE subject_id = subject
             AND idempotency_key = d.idempotency_key) THEN
        out_outcome := 'replay';
      ELSE
        out_outcome := 'out_of_order';
        out_version := current_version;
        out_decided_micros :=
          (extract(epoch FROM last_decided) * 1000000)::bigint;
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
    -- The unique index on (subject_id, idempotency_key) decides whether
    -- this is a retry. Nothing has been written for this decision yet (a
    -- subject created above has no decisions, so no key can be taken).
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
      RETURN NEXT;  -- No standing choice: still say what was written.
    END IF;
  END LOOP;
END
$$;
