-- The contract form's attempt outcome is one of four states (domain::states::ContractAttemptOutcome),
-- as deliveries.state already is. SQLite cannot add a CHECK to an existing table without
-- copying it, so two triggers refuse any other text on insert and on update.
CREATE TRIGGER contract_attempts_outcome_insert
BEFORE INSERT ON contract_attempts
WHEN NEW.outcome NOT IN ('running', 'created', 'refused', 'unexpected')
BEGIN
    SELECT RAISE(ABORT, 'contract_attempts.outcome must be running, created, refused or unexpected');
END;

CREATE TRIGGER contract_attempts_outcome_update
BEFORE UPDATE OF outcome ON contract_attempts
WHEN NEW.outcome NOT IN ('running', 'created', 'refused', 'unexpected')
BEGIN
    SELECT RAISE(ABORT, 'contract_attempts.outcome must be running, created, refused or unexpected');
END;
