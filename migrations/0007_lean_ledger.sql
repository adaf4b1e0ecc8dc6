-- 0007_lean_ledger: what a paid request writes, and nothing more.
--
-- A paid request used to write about 17 pages and 800 bytes: a reservation
-- row with three indexes, rewritten at settlement and kept for ever; journal
-- and request rows naming keys by their 64-character hash, each with two
-- indexes; and a sqlite_sequence row per AUTOINCREMENT table. Now:
--
--   api_keys      gets an integer id (the hash stays unique); the hot tables
--                 refer to keys by it.
--   reservations  holds only active reservations, with no index: the table
--                 is as small as the number of requests in flight. Settling
--                 or releasing deletes the row.
--   requests      is the history, written once when the reservation ends
--                 (settled or released), under the reservation's id, with
--                 no index but its rowid: ids grow with time, so "the last
--                 N requests" is a backwards rowid walk, and finding one
--                 request id is a scan an operator can wait for. Ids
--                 are never reused: a reservation takes
--                 max(id over reservations and requests) + 1 under the write
--                 lock, and every reservation that ends leaves its row here.
--   journal       refers to the key by id; no index on ref (the audit joins
--                 charges by scanning), no AUTOINCREMENT (rows are never
--                 deleted, so max(rowid) + 1 never goes back).
--
-- Existing data is carried over: keys keep their rowid as id, history rows
-- come from the old reservations joined to their request rows, journal rows
-- find their key by hash (a journal row whose key no longer exists gets a
-- zero-balance key row, so the audit still names it).
CREATE TABLE api_keys_new (
	id INTEGER PRIMARY KEY AUTOINCREMENT,	-- referenced by the hot tables; never reused
	hashed_key TEXT NOT NULL UNIQUE,	-- the part after "sk-"
	balance INTEGER NOT NULL DEFAULT 0,
	reserved INTEGER NOT NULL DEFAULT 0,	-- billing key: sum of active reservations it pays;
						-- child key: sum of its own active reservations
	total_spent INTEGER NOT NULL DEFAULT 0,
	total_requests INTEGER NOT NULL DEFAULT 0,
	parent_key_hash TEXT REFERENCES api_keys_new(hashed_key),
	balance_limit INTEGER,
	balance_limit_reset TEXT,
	balance_limit_reset_at INTEGER,
	validity_date INTEGER,
	refund_address TEXT,
	refund_mint_url TEXT,
	refund_currency TEXT,
	key_expiry_time INTEGER,
	created_at INTEGER NOT NULL,
	CHECK (balance >= 0),
	CHECK (reserved >= 0),
	CHECK (total_spent >= 0),
	CHECK (total_requests >= 0),
	CHECK (parent_key_hash IS NOT NULL OR reserved <= balance),
	CHECK (parent_key_hash IS NULL OR balance = 0),
	CHECK (parent_key_hash IS NULL OR parent_key_hash <> hashed_key),
	CHECK (balance_limit IS NULL OR balance_limit >= 0),
	CHECK (balance_limit_reset IS NULL OR balance_limit_reset IN ('daily', 'weekly', 'monthly')),
	CHECK (length(hashed_key) BETWEEN 1 AND 128)
);
-- parents first, so the self-reference holds row by row
INSERT INTO api_keys_new (id, hashed_key, balance, reserved, total_spent, total_requests,
	parent_key_hash, balance_limit, balance_limit_reset, balance_limit_reset_at,
	validity_date, refund_address, refund_mint_url, refund_currency, key_expiry_time,
	created_at)
SELECT rowid, hashed_key, balance, reserved, total_spent, total_requests, parent_key_hash,
	balance_limit, balance_limit_reset, balance_limit_reset_at, validity_date,
	refund_address, refund_mint_url, refund_currency, key_expiry_time, created_at
FROM api_keys ORDER BY parent_key_hash IS NOT NULL, rowid;
INSERT INTO api_keys_new (hashed_key, created_at)
SELECT DISTINCT key_hash, 0 FROM journal
WHERE key_hash NOT IN (SELECT hashed_key FROM api_keys);

CREATE TABLE reservations_new (
	id INTEGER PRIMARY KEY,		-- max(id over reservations, requests) + 1
	key_id INTEGER NOT NULL,	-- presented key (api_keys.id)
	billing_id INTEGER NOT NULL,	-- key that pays
	amount INTEGER NOT NULL CHECK (amount > 0),
	owner_pid INTEGER NOT NULL,
	owner_start_time INTEGER NOT NULL,	-- /proc/<pid>/stat field 22
	owner_boot_id TEXT NOT NULL,		-- /proc/sys/kernel/random/boot_id
	owner_pidns TEXT NOT NULL,		-- /proc/self/ns/pid target
	progress INTEGER NOT NULL DEFAULT 0 CHECK (progress >= 0),	-- estimated cost relayed so far
	request_id TEXT,
	model TEXT,
	created_at INTEGER NOT NULL
);
INSERT INTO reservations_new (id, key_id, billing_id, amount, owner_pid, owner_start_time,
	owner_boot_id, owner_pidns, progress, request_id, model, created_at)
SELECT r.id, k.id, b.id, r.amount, r.owner_pid, r.owner_start_time, r.owner_boot_id,
	r.owner_pidns, r.progress, r.request_id, r.model, r.created_at
FROM reservations r
JOIN api_keys_new k ON k.hashed_key = r.key_hash
JOIN api_keys_new b ON b.hashed_key = r.billing_key_hash
WHERE r.state = 'active';

CREATE TABLE requests_new (
	id INTEGER PRIMARY KEY,		-- the reservation's id
	request_id TEXT,		-- UUIDv7 (time-ordered); not indexed
	key_id INTEGER NOT NULL,	-- presented key
	billing_id INTEGER NOT NULL,	-- key that paid
	reserved INTEGER NOT NULL,	-- what the reservation held
	charged INTEGER,		-- NULL: released, nothing charged
	settled_by TEXT CHECK (settled_by IS NULL OR settled_by IN ('owner', 'sweeper')),
	model TEXT,
	provider TEXT,
	status INTEGER,			-- HTTP status, NULL when the owner left none
	tokens_in INTEGER NOT NULL DEFAULT 0,
	tokens_out INTEGER NOT NULL DEFAULT 0,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	upstream_ms INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,	-- reserved at
	settled_at INTEGER NOT NULL,
	CHECK ((charged IS NULL) = (settled_by IS NULL)),
	CHECK (charged IS NULL OR charged >= 0)
);
INSERT INTO requests_new (id, request_id, key_id, billing_id, reserved, charged, settled_by,
	model, provider, status, tokens_in, tokens_out, duration_ms, upstream_ms, created_at,
	settled_at)
SELECT r.id, coalesce(q.request_id, r.request_id), k.id, b.id, r.amount,
	CASE r.state WHEN 'settled' THEN r.charged END,
	CASE r.state WHEN 'settled' THEN coalesce(r.settled_by, 'owner') END,
	coalesce(q.model, r.model), q.provider, q.status, coalesce(q.tokens_in, 0),
	coalesce(q.tokens_out, 0), coalesce(q.duration_ms, 0), coalesce(q.upstream_ms, 0),
	r.created_at, coalesce(r.settled_at, r.created_at)
FROM reservations r
JOIN api_keys_new k ON k.hashed_key = r.key_hash
JOIN api_keys_new b ON b.hashed_key = r.billing_key_hash
LEFT JOIN requests q ON q.id = (SELECT max(id) FROM requests WHERE reservation_id = r.id)
WHERE r.state <> 'active';

CREATE TABLE journal_new (
	id INTEGER PRIMARY KEY,		-- append-only: max(rowid) + 1 never goes back
	key_id INTEGER NOT NULL,	-- api_keys.id; no FK: the journal outlives anything
	delta INTEGER NOT NULL CHECK (delta <> 0),
	kind TEXT NOT NULL CHECK (kind IN ('deposit', 'topup', 'charge', 'refund',
		'refund_revert', 'child_key_fee', 'adjust')),
	ref TEXT,			-- reservation id (charge), request id, withdrawal
	balance_after INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	source TEXT			-- a credit's source ('cashu-in:<tx>'): unique
);
INSERT INTO journal_new (id, key_id, delta, kind, ref, balance_after, created_at, source)
SELECT j.id, k.id, j.delta, j.kind, j.ref, j.balance_after, j.created_at, j.source
FROM journal j JOIN api_keys_new k ON k.hashed_key = j.key_hash ORDER BY j.id;

DROP TABLE requests;
DROP TABLE reservations;
DROP TABLE journal;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
ALTER TABLE reservations_new RENAME TO reservations;
ALTER TABLE requests_new RENAME TO requests;
ALTER TABLE journal_new RENAME TO journal;

CREATE INDEX ix_api_keys_parent_key_hash ON api_keys(parent_key_hash)
	WHERE parent_key_hash IS NOT NULL;
CREATE INDEX ix_journal_key ON journal(key_id);
CREATE UNIQUE INDEX ux_journal_source ON journal(source) WHERE source IS NOT NULL;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only');
END;
