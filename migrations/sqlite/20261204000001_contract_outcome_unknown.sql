-- A contract attempt can end with its outcome unknown: the call may have created the contract
-- but no answer says so (a timeout after sending, a 5xx). The triggers that keep the column to
-- the known outcomes are replaced by ones that also allow 'unknown'.
DROP TRIGGER contract_attempts_outcome_insert;
DROP TRIGGER contract_attempts_outcome_update;

CREATE TRIGGER contract_attempts_outcome_insert
BEFORE INSERT ON contract_attempts
WHEN NEW.outcome NOT IN ('running', 'created', 'refused', 'unexpected', 'unknown')
BEGIN
    SELECT RAISE(ABORT, 'contract_attempts.outcome must be running, created, refused, unexpected or unknown');
END;

CREATE TRIGGER contract_attempts_outcome_update
BEFORE UPDATE OF outcome ON contract_attempts
WHEN NEW.outcome NOT IN ('running', 'created', 'refused', 'unexpected', 'unknown')
BEGIN
    SELECT RAISE(ABORT, 'contract_attempts.outcome must be running, created, refused, unexpected or unknown');
END;
