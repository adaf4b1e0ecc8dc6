-- 0001_init: the foundation. Settings the operator saves from the dashboard
-- (they win over the config file and the environment; see DESIGN.md 6).
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
