-- A contract attempt can end with its outcome unknown: the call may have created the contract
-- but no answer says so (a timeout after sending, a 5xx).
ALTER TABLE contract_attempts DROP CONSTRAINT contract_attempts_outcome;
ALTER TABLE contract_attempts
    ADD CONSTRAINT contract_attempts_outcome
    CHECK (outcome IN ('running', 'created', 'refused', 'unexpected', 'unknown'));
