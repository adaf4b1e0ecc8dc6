-- 0003_cashu: the Cashu wallet store (lib/cashu/wallet.c owns every statement
-- on these tables). Amounts are integers in the unit of their keyset (sat or
-- msat); they are converted to msat by the money code, never here.

-- Mints we have talked to. trusted/is_primary mirror the settings at the last
-- contact (CASHU_MINTS, PRIMARY_MINT_URL); the settings stay the authority.
CREATE TABLE mints (
	url TEXT PRIMARY KEY,			-- normalised: no trailing '/'
	trusted INTEGER NOT NULL DEFAULT 0,
	is_primary INTEGER NOT NULL DEFAULT 0,
	unit TEXT NOT NULL DEFAULT 'sat',
	info_json TEXT,				-- last GET /v1/info
	keysets_fetched_at INTEGER,		-- last GET /v1/keysets
	last_contact_at INTEGER,
	created_at INTEGER NOT NULL
);

-- NUT-01/02 keysets, active and inactive. keys_json holds the keys exactly as
-- verified against the id ({"1":"02..",...}); NULL until fetched. short_id is
-- the first 8 bytes (16 hex digits) that V4 tokens may carry instead of a v2 id.
CREATE TABLE keysets (
	mint_url TEXT NOT NULL REFERENCES mints(url),
	id TEXT NOT NULL,			-- full id, lower-case hex
	short_id TEXT NOT NULL,
	unit TEXT NOT NULL,
	active INTEGER NOT NULL,
	input_fee_ppk INTEGER NOT NULL DEFAULT 0 CHECK (input_fee_ppk >= 0),
	final_expiry INTEGER,
	keys_json TEXT,
	fetched_at INTEGER NOT NULL,
	PRIMARY KEY (mint_url, id)
);
CREATE INDEX keysets_short ON keysets(mint_url, short_id);

-- The write-ahead log of mint operations. A row is written 'prepared' with
-- its outputs (secrets and blinding factors) and its inputs reserved, reaches
-- 'sent' in a committed transaction before the request leaves, and ends
-- 'done' or 'failed'. wallet_recover() resolves every other row with NUT-07
-- checkstate and NUT-09 restore.
CREATE TABLE mint_operations (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('swap', 'mint', 'melt')),
	purpose TEXT NOT NULL,			-- receive, send, mint, melt
	mint_url TEXT NOT NULL,
	unit TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('prepared', 'sent', 'done', 'failed')),
	inputs_json TEXT NOT NULL DEFAULT '[]',	-- proofs spent: [{amount,id,secret,C,witness?}]
	outputs_json TEXT NOT NULL DEFAULT '[]',-- [{amount,id,B_,secret,r,role}] role: keep|send|blank
	nut13_counter INTEGER,			-- reserved for deterministic secrets (unused: random secrets)
	quote TEXT,				-- mint/melt quote id
	amount INTEGER NOT NULL DEFAULT 0,	-- receive: token value; send: amount sent; mint: minted; melt: quote amount
	fee INTEGER NOT NULL DEFAULT 0,		-- input fee paid to the mint
	token_hash TEXT,			-- receive: hash of the token's proofs
	request_id TEXT,
	error TEXT,				-- why it failed, for the operator
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX mint_operations_open ON mint_operations(state) WHERE state IN ('prepared', 'sent');

-- The wallet's own proofs. A proof is 'pending' while an operation holds it
-- (operation_id), 'spent' once the mint consumed it or it left in a token.
CREATE TABLE wallet_proofs (
	id INTEGER PRIMARY KEY,
	mint_url TEXT NOT NULL,
	keyset_id TEXT NOT NULL,
	amount INTEGER NOT NULL CHECK (amount > 0),
	secret TEXT NOT NULL UNIQUE,
	C TEXT NOT NULL,
	Y TEXT NOT NULL,			-- hash_to_curve(secret), for NUT-07
	unit TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('unspent', 'pending', 'spent')),
	operation_id INTEGER REFERENCES mint_operations(id),	-- holder (pending) or spender
	origin_operation_id INTEGER REFERENCES mint_operations(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX wallet_proofs_select ON wallet_proofs(mint_url, unit, state, amount);
CREATE INDEX wallet_proofs_op ON wallet_proofs(operation_id);

-- Every token in or out. An outgoing token is written here in the same
-- transaction that marks its proofs spent, before it is returned.
-- token_hash (SHA-256 over the sorted proof secrets) recognises a token we
-- already redeemed whatever its encoding.
CREATE TABLE cashu_transactions (
	id INTEGER PRIMARY KEY,
	direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	token TEXT NOT NULL,
	token_hash TEXT NOT NULL,
	amount INTEGER NOT NULL,		-- token face value
	fee INTEGER NOT NULL DEFAULT 0,		-- in: input fee the swap paid
	unit TEXT NOT NULL,
	mint_url TEXT NOT NULL,
	request_id TEXT,
	api_key_hash TEXT,
	source TEXT,				-- apikey, x-cashu, refund, withdrawal, donation, recovery, ...
	operation_id INTEGER REFERENCES mint_operations(id),
	collected INTEGER NOT NULL DEFAULT 0,
	swept INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX cashu_transactions_in_hash ON cashu_transactions(token_hash)
	WHERE direction = 'in';
CREATE INDEX cashu_transactions_key ON cashu_transactions(api_key_hash, created_at);
CREATE INDEX cashu_transactions_request ON cashu_transactions(request_id);
