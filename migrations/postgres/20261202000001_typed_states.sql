-- The contract form's attempt outcome is one of four states (domain::states::ContractAttemptOutcome);
-- the database refuses any other text, as it already does for deliveries.state.
ALTER TABLE contract_attempts
    ADD CONSTRAINT contract_attempts_outcome
    CHECK (outcome IN ('running', 'created', 'refused', 'unexpected'));
