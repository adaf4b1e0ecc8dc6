-- 0005_funds: every money movement that touches a mint names its
-- beneficiary, and one redemption credits once (DESIGN.md 5).
--
-- journal.source is the credit's source: 'cashu-in:<cashu_transactions.id>'
-- for a redeemed token, 'wd-revert:<withdrawals.id>' for a withdrawal given
-- back. It is unique, whatever the kind (deposit, topup, refund_revert), so
-- the same receipt can never be credited by two routes. It replaces the
-- uniqueness on (kind, ref), which let a 'deposit' and a 'topup' both carry
-- one receipt.
ALTER TABLE journal ADD COLUMN source TEXT;
DROP TRIGGER journal_no_update;
UPDATE journal SET source = 'cashu-in:' || substr(ref, 10)
	WHERE kind IN ('deposit', 'topup') AND ref LIKE 'cashu-tx:%'
	AND id IN (SELECT min(id) FROM journal WHERE kind IN ('deposit', 'topup')
		AND ref LIKE 'cashu-tx:%' GROUP BY ref);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only');
END;
DROP INDEX ux_journal_credit_ref;
CREATE UNIQUE INDEX ux_journal_source ON journal(source) WHERE source IS NOT NULL;

-- Who a mint operation works for, written with the operation before it is
-- sent, so recovery credits (or pays back) the right key:
--   api_key_hash  the key to credit (receive) or the key debited (send)
--   source        apikey, x-cashu, x-cashu-change, ...
--   fund_ref      the withdrawal it makes a token for ('wd:<id>')
--   owner         the process that runs it (lib/owner.h tag); NULL once the
--                 runner gave it up to recovery
ALTER TABLE mint_operations ADD COLUMN api_key_hash TEXT;
ALTER TABLE mint_operations ADD COLUMN source TEXT;
ALTER TABLE mint_operations ADD COLUMN fund_ref TEXT;
ALTER TABLE mint_operations ADD COLUMN owner TEXT;
CREATE INDEX mint_operations_open_token ON mint_operations(token_hash)
	WHERE state IN ('prepared', 'sent');
CREATE INDEX mint_operations_fund_ref ON mint_operations(fund_ref)
	WHERE fund_ref IS NOT NULL;
ALTER TABLE cashu_transactions ADD COLUMN fund_ref TEXT;
CREATE INDEX cashu_transactions_fund_ref ON cashu_transactions(fund_ref)
	WHERE fund_ref IS NOT NULL;

-- A withdrawal (refund, X-Cashu change): the key is debited and this row
-- written in one transaction, before any mint I/O. It ends 'done' with the
-- token it made (tx_id), or 'reverted' with the amount credited back
-- (journal source 'wd-revert:<id>'). Recovery finishes rows whose owner is
-- gone. A done token is returned again until the mint says it was spent
-- (collected).
CREATE TABLE withdrawals (
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
	CHECK ((state = 'done') = (tx_id IS NOT NULL))
);
CREATE INDEX withdrawals_key ON withdrawals(key_hash, id);
CREATE INDEX withdrawals_open ON withdrawals(state) WHERE state = 'open';
