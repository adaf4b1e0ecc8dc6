-- 0008_providers: the upstreams a node relays to, and which models each
-- serves. UPSTREAM_BASE_URL and UPSTREAM_API_KEY stay the simple case: they
-- seed one row (from_env = 1) at every start. A provider with no
-- provider_models rows serves every catalogued model; one with rows serves
-- only those, under the upstream id each row names.
CREATE TABLE providers (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	slug TEXT NOT NULL UNIQUE,		-- the name answers carry as "provider"
	type TEXT NOT NULL CHECK (type IN ('openai', 'openrouter', 'anthropic', 'generic')),
	base_url TEXT NOT NULL,			-- ".../v1"
	api_key TEXT,
	fee_ppm INTEGER CHECK (fee_ppm IS NULL OR fee_ppm >= 0),	-- NULL: UPSTREAM_PROVIDER_FEE
	priority INTEGER NOT NULL DEFAULT 0,	-- lower first
	enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	from_env INTEGER NOT NULL DEFAULT 0 CHECK (from_env IN (0, 1)),
	created_at INTEGER NOT NULL,
	CHECK (length(slug) BETWEEN 1 AND 64),
	CHECK (length(base_url) BETWEEN 1 AND 1024)
);

CREATE TABLE provider_models (
	provider_id INTEGER NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
	model_id TEXT NOT NULL COLLATE NOCASE,	-- public id (or an alias) clients send
	upstream_id TEXT,			-- the provider's id; NULL = the catalogue's
	priority INTEGER NOT NULL DEFAULT 0,	-- lower first, before the provider's own
	PRIMARY KEY (provider_id, model_id)
);

-- Providers change what a model resolves to: they bump the catalogue's
-- version, so every process rebuilds both on its next request.
CREATE TRIGGER providers_ai AFTER INSERT ON providers
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER providers_au AFTER UPDATE ON providers
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER providers_ad AFTER DELETE ON providers
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER provider_models_ai AFTER INSERT ON provider_models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER provider_models_au AFTER UPDATE ON provider_models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER provider_models_ad AFTER DELETE ON provider_models
BEGIN
	UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
