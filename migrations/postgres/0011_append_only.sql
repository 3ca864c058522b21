-- What citizens sent is append-only in the database itself: a response and its answers are
-- never updated, deleted or truncated (`INSERT ... ON CONFLICT DO UPDATE` fires the update
-- guard). The one exception is the retention purge, which erases a response's comment (sets it
-- to NULL) and changes nothing else.
CREATE FUNCTION responses_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.comment IS NULL
       AND (NEW.id, NEW.idempotency_key, NEW.point_id, NEW.unit_id, NEW.desk_id, NEW.officer_id, NEW.field_id,
            NEW.questionnaire_id, NEW.questionnaire_version, NEW.channel, NEW.submitted_at, NEW.local_day)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.idempotency_key, OLD.point_id, OLD.unit_id, OLD.desk_id, OLD.officer_id, OLD.field_id,
            OLD.questionnaire_id, OLD.questionnaire_version, OLD.channel, OLD.submitted_at, OLD.local_day) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'responses are append-only (only the retention purge may erase a comment)';
END;
$$;
CREATE TRIGGER responses_no_change BEFORE UPDATE OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_append_only();
CREATE TRIGGER responses_no_truncate BEFORE TRUNCATE ON responses
    FOR EACH STATEMENT EXECUTE FUNCTION responses_append_only();

CREATE FUNCTION answers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'answers are append-only';
END;
$$;
CREATE TRIGGER answers_no_change BEFORE UPDATE OR DELETE ON answers
    FOR EACH ROW EXECUTE FUNCTION answers_append_only();
CREATE TRIGGER answers_no_truncate BEFORE TRUNCATE ON answers
    FOR EACH STATEMENT EXECUTE FUNCTION answers_append_only();
