-- 0015_expiry_attempts: refunds of expired keys to their Refund-LNURL that
-- failed, so cron backs off from an address that keeps failing (1 minute,
-- doubling, at most a day) and serves the keys tried least recently first:
-- a few bad addresses cannot starve every other expired key.
CREATE TABLE expiry_attempts (
	key_hash TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_at INTEGER NOT NULL,
	next_at INTEGER NOT NULL,
	last_error TEXT
);
