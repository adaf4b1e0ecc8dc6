-- 0012_lightning_out: value leaving over Lightning.
--
-- A key's refund to a Lightning address or LNURL-pay is a withdrawal like a
-- token refund (debited with its 'refund' journal row before any I/O,
-- recovered the same way), with method 'lightning': the invoice is fetched
-- from the recipient before the debit and stored with it; the melt that pays
-- it names 'wd:<id>' as fund_ref. Done: the melt took spent_msat (invoice,
-- Lightning fee and input fee) and the rest of the debit went back to the
-- key (journal source 'wd-back:<id>'); reverted: all of it went back.
-- SQLite cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE withdrawals_new (
	id INTEGER PRIMARY KEY,
	key_hash TEXT NOT NULL,
	amount_msat INTEGER NOT NULL CHECK (amount_msat > 0),
	mint_url TEXT NOT NULL,
	unit TEXT NOT NULL CHECK (unit IN ('sat', 'msat')),
	source TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'reverted')),
	tx_id INTEGER REFERENCES cashu_transactions(id),
	request_id TEXT,
	owner TEXT,
	collected INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	method TEXT NOT NULL DEFAULT 'token' CHECK (method IN ('token', 'lightning')),
	destination TEXT,			-- lightning: the address or LNURL as given
	bolt11 TEXT,				-- lightning: the invoice it pays
	spent_msat INTEGER,			-- lightning, done: what the melt took
	CHECK ((state = 'done' AND method = 'token') = (tx_id IS NOT NULL)),
	CHECK (method = 'token' OR (bolt11 IS NOT NULL AND destination IS NOT NULL)),
	CHECK ((state = 'done' AND method = 'lightning') = (spent_msat IS NOT NULL))
);
INSERT INTO withdrawals_new (id, key_hash, amount_msat, mint_url, unit, source, state, tx_id,
	request_id, owner, collected, created_at, updated_at)
	SELECT id, key_hash, amount_msat, mint_url, unit, source, state, tx_id, request_id, owner,
	collected, created_at, updated_at FROM withdrawals;
DROP TABLE withdrawals;
ALTER TABLE withdrawals_new RENAME TO withdrawals;
CREATE INDEX withdrawals_key ON withdrawals(key_hash, id);
CREATE INDEX withdrawals_open ON withdrawals(state) WHERE state = 'open';

-- The operator's earnings paid out over Lightning: automatically to
-- RECEIVE_LN_ADDRESS (routstrctl cron) or by hand (routstrctl withdraw).
-- The row is written before the melt (fund_ref 'po:<id>'), and says what
-- left the wallet; it never touches a key.
CREATE TABLE payouts (
	id INTEGER PRIMARY KEY,
	trigger TEXT NOT NULL CHECK (trigger IN ('auto', 'operator')),
	destination TEXT NOT NULL,		-- address, LNURL or the bolt11 itself
	bolt11 TEXT NOT NULL,
	mint_url TEXT NOT NULL,
	unit TEXT NOT NULL CHECK (unit IN ('sat', 'msat')),
	amount_msat INTEGER NOT NULL CHECK (amount_msat > 0),	-- the invoice
	spent_msat INTEGER,			-- paid: invoice + fees, what the wallet lost
	state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paid', 'failed')),
	error TEXT,
	owner TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX payouts_open ON payouts(state) WHERE state = 'open';
