-- 0013_admin: the operator's credentials (lib/admin_auth.c). Everything a
-- login needs lives here, so every process and thread of the node agrees.

-- The dashboard password: one row, a self-describing scrypt string. The
-- generation goes up at every change; a session is created only under the
-- generation its login checked, so a login racing a password change cannot
-- outlive it (the change deletes every session in the same transaction).
CREATE TABLE admin_password (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	hash TEXT NOT NULL,			-- $scrypt$ln=15,r=8,p=1$<salt>$<key>
	generation INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- Login sessions. The cookie value is never stored, only its SHA-256, so a
-- copy of the database opens no session. expires_at slides with use up to
-- created_at + the absolute lifetime.
CREATE TABLE admin_sessions (
	id_hash TEXT PRIMARY KEY,		-- hex SHA-256 of the session id
	csrf TEXT NOT NULL,			-- the session's CSRF token
	created_at INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);

-- Bearer tokens for scripts (routstrctl admin-token); only their SHA-256.
CREATE TABLE admin_tokens (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,	-- hex SHA-256 of the whole "rsa_..." token
	created_at INTEGER NOT NULL,
	last_used INTEGER
);

-- Login attempts inside the rate limit's window: a pending row is taken
-- before the password is checked (and counts as a failure until then), a
-- failure stays until the window has passed, a success is deleted.
CREATE TABLE login_attempts (
	id INTEGER PRIMARY KEY,
	client TEXT NOT NULL,			-- IPv4 address or IPv6 /64
	at INTEGER NOT NULL,
	pending INTEGER NOT NULL DEFAULT 1 CHECK (pending IN (0, 1))
);
CREATE INDEX login_attempts_client ON login_attempts(client, at);
CREATE INDEX login_attempts_at ON login_attempts(at);
