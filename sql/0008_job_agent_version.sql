-- The software version of the agent holding (or, once finished, last holding) a job's lease, as the agent registered
-- it: the attempt's JobAttemptEnded event carries it, for the learning loop and for releases (what each version did).
-- Null for jobs never leased, and for jobs leased before this column existed.

ALTER TABLE meshos_jobs ADD COLUMN agent_version text NULL;
