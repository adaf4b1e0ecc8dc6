-- 0010_lightning: Lightning deposits. An invoice is a NUT-04 mint quote at
-- the primary mint, written before it is shown, with the key it creates or
-- tops up. Once paid, its proofs are minted (a 'mint' operation naming the
-- quote, write-ahead in the wallet) and the key is credited once: the
-- journal source 'ln-in:<id>' is unique, whoever settles it (a status poll,
-- several at once, or the watcher in routstrctl cron).
CREATE TABLE lightning_invoices (
	id TEXT PRIMARY KEY,			-- 22 url-safe characters, random
	quote_id TEXT NOT NULL UNIQUE,		-- the mint's quote (Routstr's "payment_hash")
	mint_url TEXT NOT NULL,
	unit TEXT NOT NULL DEFAULT 'sat',
	bolt11 TEXT NOT NULL UNIQUE,
	amount_sats INTEGER NOT NULL CHECK (amount_sats BETWEEN 1 AND 1000000),
	purpose TEXT NOT NULL CHECK (purpose IN ('create', 'topup')),
	api_key_hash TEXT NOT NULL,		-- topup: the key; create: the key it makes
	balance_limit INTEGER,
	balance_limit_reset TEXT,
	validity_date INTEGER,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'settlement_pending',
		'paid', 'expired', 'reconciliation_required')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	paid_at INTEGER,
	settling_until INTEGER NOT NULL DEFAULT 0,	-- one settle at a time (a lease)
	settler TEXT				-- its owner tag (lib/owner.c)
);
CREATE INDEX lightning_invoices_open ON lightning_invoices(status)
	WHERE status IN ('pending', 'settlement_pending');
CREATE INDEX mint_operations_quote ON mint_operations(quote) WHERE quote IS NOT NULL;
