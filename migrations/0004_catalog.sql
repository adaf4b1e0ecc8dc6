-- 0004_catalog: the operator's model rows (they override and extend the
-- models.json file), a version counter every process compares per request to
-- know when to rebuild its read-only catalogue, and the BTC price cache with
-- its refresh lease (one refresh at a time across threads and processes).

-- One row per public model id. data is an OpenRouter-format model object
-- (name, created, description, context_length, architecture, pricing with USD
-- decimal strings, top_provider, per_request_limits, canonical_slug); its own
-- "id" is ignored: the columns say which id is public and which goes upstream.
CREATE TABLE models (
	id TEXT PRIMARY KEY COLLATE NOCASE,	-- public id: what clients send
	upstream_id TEXT,			-- sent upstream as "model"; NULL = id
	data TEXT NOT NULL DEFAULT '{}',	-- OpenRouter-format JSON object
	alias_ids TEXT,				-- JSON array of strings; NULL = data.alias_ids
	enabled INTEGER NOT NULL DEFAULT 1,	-- 0 hides the model, also one from the file
	updated_at INTEGER NOT NULL,
	CHECK (length(id) BETWEEN 1 AND 256),
	CHECK (upstream_id IS NULL OR length(upstream_id) BETWEEN 1 AND 256),
	CHECK (json_valid(data)),
	CHECK (alias_ids IS NULL OR json_valid(alias_ids)),
	CHECK (enabled IN (0, 1))
);

-- Bumped by every change to models, so a process compares one integer per
-- request instead of re-reading the table.
CREATE TABLE catalog_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);

CREATE TRIGGER models_ai AFTER INSERT ON models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER models_au AFTER UPDATE ON models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER models_ad AFTER DELETE ON models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

-- The last exchange price per pair ("BTC/USD"), in micro-USD (97123.45 USD
-- = 97123450000), with the exchange it came from and when (unix seconds).
CREATE TABLE prices (
	pair TEXT PRIMARY KEY,
	micro_usd INTEGER NOT NULL CHECK (micro_usd > 0),
	source TEXT NOT NULL,
	fetched_at INTEGER NOT NULL
);

-- At most one refresh per pair at a time: a refresher takes the lease with a
-- conditional upsert (only when until <= now) and gives it back when done.
-- A failed refresh keeps it until it expires, which spaces out retries.
CREATE TABLE price_leases (
	pair TEXT PRIMARY KEY,
	until INTEGER NOT NULL,		-- unix seconds; the lease is free when until <= now
	holder TEXT NOT NULL		-- "pid:<n>" for diagnostics
);
