-- The attributes the data-residency and data-classification policies compare (issue 13).
-- (0009 is taken by the partitioned event log, on its own branch.)
--
-- meshos_jobs.data_classes: what a job's payload holds (e.g. {pii}), distinct and in byte order, set at submit and
-- never changed; the dispatcher gives the job only to an agent certified for each. Empty for jobs without any, and for
-- jobs written before this column existed.
-- meshos_agents.certifications: the data classes an agent is certified for, as it registered them (e.g. {pii,phi}).
-- A tenant's allowed regions and data classes are in its grain state (meshos_storage), not here.

ALTER TABLE meshos_jobs ADD COLUMN data_classes text[] NOT NULL DEFAULT '{}';

ALTER TABLE meshos_agents ADD COLUMN certifications text[] NOT NULL DEFAULT '{}';
