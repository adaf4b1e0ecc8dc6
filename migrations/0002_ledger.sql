-- 0002_ledger: API keys, reservations, the append-only journal and the
-- per-request log. Only lib/ledger.c writes the money columns. All amounts are
-- integer millisatoshi. Policy (docs/money.md): balances never go negative and
-- a billing key never reserves more than it holds.
CREATE TABLE api_keys (
	hashed_key TEXT PRIMARY KEY,		-- the part after "sk-"
	balance INTEGER NOT NULL DEFAULT 0,
	reserved INTEGER NOT NULL DEFAULT 0,	-- billing key: sum of active reservations it pays;
						-- child key: sum of its own active reservations
	total_spent INTEGER NOT NULL DEFAULT 0,
	total_requests INTEGER NOT NULL DEFAULT 0,
	parent_key_hash TEXT REFERENCES api_keys(hashed_key),
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
	-- a billing key cannot reserve what it does not hold; a child key holds
	-- nothing (its parent pays) and its reserved only feeds its limit
	CHECK (parent_key_hash IS NOT NULL OR reserved <= balance),
	CHECK (parent_key_hash IS NULL OR balance = 0),
	CHECK (parent_key_hash IS NULL OR parent_key_hash <> hashed_key),
	CHECK (balance_limit IS NULL OR balance_limit >= 0),
	CHECK (balance_limit_reset IS NULL OR balance_limit_reset IN ('daily', 'weekly', 'monthly')),
	CHECK (length(hashed_key) BETWEEN 1 AND 128)
);
CREATE INDEX ix_api_keys_parent_key_hash ON api_keys(parent_key_hash)
	WHERE parent_key_hash IS NOT NULL;

CREATE TABLE reservations (
	id INTEGER PRIMARY KEY AUTOINCREMENT,	-- never reused: settle/release are exactly once
	key_hash TEXT NOT NULL REFERENCES api_keys(hashed_key),		-- presented key
	billing_key_hash TEXT NOT NULL REFERENCES api_keys(hashed_key),	-- key that pays
	amount INTEGER NOT NULL CHECK (amount > 0),
	state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'settled', 'released')),
	owner_pid INTEGER NOT NULL,
	owner_start_time INTEGER NOT NULL,	-- /proc/<pid>/stat field 22 (clock ticks since boot)
	owner_boot_id TEXT NOT NULL,		-- /proc/sys/kernel/random/boot_id
	owner_pidns TEXT NOT NULL,		-- /proc/self/ns/pid target ("pid:[4026531836]")
	progress INTEGER NOT NULL DEFAULT 0 CHECK (progress >= 0),	-- estimated cost relayed so far
	request_id TEXT,
	model TEXT,
	charged INTEGER CHECK (charged IS NULL OR charged >= 0),
	settled_by TEXT CHECK (settled_by IS NULL OR settled_by IN ('owner', 'sweeper')),
	created_at INTEGER NOT NULL,
	settled_at INTEGER,
	CHECK ((state = 'settled') = (charged IS NOT NULL))
);
CREATE INDEX ix_reservations_active_billing ON reservations(billing_key_hash)
	WHERE state = 'active';
CREATE INDEX ix_reservations_active_key ON reservations(key_hash)
	WHERE state = 'active';
CREATE INDEX ix_reservations_request_id ON reservations(request_id);

CREATE TABLE journal (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	key_hash TEXT NOT NULL,			-- no FK: the journal outlives anything
	delta INTEGER NOT NULL CHECK (delta <> 0),
	kind TEXT NOT NULL CHECK (kind IN ('deposit', 'topup', 'charge', 'refund',
		'refund_revert', 'child_key_fee', 'adjust')),
	ref TEXT,				-- request id, reservation id, token hash, invoice
	balance_after INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX ix_journal_key ON journal(key_hash);
CREATE INDEX ix_journal_ref ON journal(ref);
-- a deposit or top-up reference (token hash, invoice id) credits at most once
CREATE UNIQUE INDEX ux_journal_credit_ref ON journal(kind, ref)
	WHERE kind IN ('deposit', 'topup') AND ref IS NOT NULL;

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only');
END;

CREATE TABLE requests (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	request_id TEXT NOT NULL,
	key_hash TEXT,
	reservation_id INTEGER REFERENCES reservations(id),
	model TEXT,
	provider TEXT,
	status INTEGER NOT NULL,
	tokens_in INTEGER NOT NULL DEFAULT 0,
	tokens_out INTEGER NOT NULL DEFAULT 0,
	cost_msat INTEGER NOT NULL DEFAULT 0,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	upstream_ms INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX ix_requests_request_id ON requests(request_id);
CREATE INDEX ix_requests_key_created ON requests(key_hash, created_at);
