-- 0014_settings: the settings table of 0001 (what the operator saves in the
-- dashboard: the last layer over defaults, the file and the environment,
-- DESIGN.md 6) gets a version, bumped on every save, so every process
-- re-reads them (at most once a second) and an edit takes effect
-- everywhere without a restart. settings.key is the environment name.
CREATE TABLE settings_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO settings_version (id, version) VALUES (1, 0);
