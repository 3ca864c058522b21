-- What citizens sent is append-only in the database itself: a response and its answers are
-- never updated, deleted or replaced. The one exception is the retention purge, which erases a
-- response's comment (sets it to NULL) and changes nothing else. (The server's connections also
-- set recursive_triggers, so that a REPLACE that would delete a row on a unique key fires the
-- delete guard.)
CREATE TRIGGER responses_no_delete BEFORE DELETE ON responses
BEGIN SELECT RAISE(ABORT, 'responses are append-only'); END;
CREATE TRIGGER responses_no_update BEFORE UPDATE ON responses
WHEN NEW.id IS NOT OLD.id OR NEW.idempotency_key IS NOT OLD.idempotency_key
  OR NEW.point_id IS NOT OLD.point_id OR NEW.unit_id IS NOT OLD.unit_id OR NEW.desk_id IS NOT OLD.desk_id
  OR NEW.officer_id IS NOT OLD.officer_id OR NEW.field_id IS NOT OLD.field_id
  OR NEW.questionnaire_id IS NOT OLD.questionnaire_id OR NEW.questionnaire_version IS NOT OLD.questionnaire_version
  OR NEW.channel IS NOT OLD.channel OR NEW.submitted_at IS NOT OLD.submitted_at OR NEW.local_day IS NOT OLD.local_day
  OR (NEW.comment IS NOT NULL AND NEW.comment IS NOT OLD.comment)
BEGIN SELECT RAISE(ABORT, 'responses are append-only (only the retention purge may erase a comment)'); END;
CREATE TRIGGER responses_no_replace BEFORE INSERT ON responses
WHEN EXISTS (SELECT 1 FROM responses WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'responses are append-only'); END;

CREATE TRIGGER answers_no_delete BEFORE DELETE ON answers
BEGIN SELECT RAISE(ABORT, 'answers are append-only'); END;
CREATE TRIGGER answers_no_update BEFORE UPDATE ON answers
BEGIN SELECT RAISE(ABORT, 'answers are append-only'); END;
CREATE TRIGGER answers_no_replace BEFORE INSERT ON answers
WHEN EXISTS (SELECT 1 FROM answers WHERE response_id = NEW.response_id AND question_id = NEW.question_id)
BEGIN SELECT RAISE(ABORT, 'answers are append-only'); END;
