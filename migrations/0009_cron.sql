-- 0009_cron: routstrctl cron's jobs run each under a lease, so several
-- crontabs or overlapping runs on the node's host run every job one at a
-- time. A job is due when next_due <= now; its lease is free when
-- lease_until <= now, so a runner that died holds it only until then.
CREATE TABLE cron_jobs (
	name TEXT PRIMARY KEY,
	lease_until INTEGER NOT NULL DEFAULT 0,	-- unix seconds
	holder TEXT,				-- owner tag of the runner (lib/owner.c)
	next_due INTEGER NOT NULL DEFAULT 0,
	last_started INTEGER,
	last_finished INTEGER,
	last_status TEXT,			-- what the run printed, one line
	runs INTEGER NOT NULL DEFAULT 0
);
