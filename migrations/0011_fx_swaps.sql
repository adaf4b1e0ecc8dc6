-- 0011_fx_swaps: tokens of mints the node does not trust, swapped into the
-- primary mint over Lightning. The row is written before the token is
-- touched and names the key it credits; each step leaves its trace in the
-- wallet (a receive swap and a melt naming 'fx:<id>' as fund_ref, a mint of
-- mint_quote), so a process that dies between any two steps is finished by
-- the next runner: an inline retry of the same token, or routstrctl cron.
--   quoted    the mint quote exists; the token is still its holder's
--   received  the token's proofs are the wallet's, at the foreign mint
--   melted    the foreign mint paid the primary mint's invoice
--   minted    the primary mint's proofs are in the wallet
--   credited  the key got `net` (journal source 'fx-in:<id>'): done
--   returned  Lightning failed: the value went back as a token of the
--             foreign mint (cashu_transactions return_tx_id): done
--   abandoned the token was never taken (refused, spent elsewhere): done
CREATE TABLE fx_swaps (
	id INTEGER PRIMARY KEY,
	token_hash TEXT NOT NULL,		-- wallet_token_hash of the token
	api_key_hash TEXT NOT NULL,		-- the beneficiary
	source TEXT NOT NULL,			-- apikey, x-cashu, topup, ...
	balance_limit INTEGER,			-- for a key this swap creates
	balance_limit_reset TEXT,
	validity_date INTEGER,
	foreign_mint TEXT NOT NULL,
	foreign_unit TEXT NOT NULL CHECK (foreign_unit IN ('sat', 'msat')),
	amount INTEGER NOT NULL CHECK (amount > 0),	-- token face value, foreign unit
	mint_url TEXT NOT NULL,			-- the primary mint
	unit TEXT NOT NULL CHECK (unit IN ('sat', 'msat')),
	mint_quote TEXT NOT NULL,
	bolt11 TEXT NOT NULL,
	net INTEGER NOT NULL CHECK (net > 0),	-- credited, in unit
	fee_reserve INTEGER NOT NULL DEFAULT 0,	-- the foreign melt quote's, foreign unit
	state TEXT NOT NULL DEFAULT 'quoted' CHECK (state IN ('quoted', 'received', 'melted',
		'minted', 'credited', 'returned', 'abandoned')),
	return_tx_id INTEGER REFERENCES cashu_transactions(id),
	request_id TEXT,
	error TEXT,
	running_until INTEGER NOT NULL DEFAULT 0,	-- one runner at a time (a lease)
	runner TEXT,				-- its owner tag (lib/owner.c)
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
-- One live swap per token; an abandoned one may be tried again.
CREATE UNIQUE INDEX fx_swaps_token ON fx_swaps(token_hash) WHERE state <> 'abandoned';
CREATE UNIQUE INDEX fx_swaps_quote ON fx_swaps(mint_quote);
CREATE INDEX fx_swaps_open ON fx_swaps(state)
	WHERE state IN ('quoted', 'received', 'melted', 'minted');
