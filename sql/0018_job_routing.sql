-- Why the job's latest lease went to its agent (README "Adaptive routing"): the routing policy, its reason, and the
-- candidates it compared with their scores and learned statistics, as JSON text. Written with the lease; null for
-- jobs never leased and for jobs leased before this column existed.

ALTER TABLE meshos_jobs ADD COLUMN routing text NULL;
