-- The web chat (bot/webchat/): residents who write from a community's website instead of Telegram. Their user ids
-- start at 2**53, above any Telegram user id, so every table keyed by a user id serves both channels unchanged.
ALTER TABLE residents ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';

-- One row per web resident: the community fixed by the embed (or NULL), their message counter and keyboard.
CREATE TABLE web_users (
    user_id       INTEGER PRIMARY KEY,
    community     TEXT,
    locale        TEXT,
    next_message  INTEGER NOT NULL DEFAULT 1,
    version       INTEGER NOT NULL DEFAULT 0,
    keyboard      TEXT,
    proven_at     TEXT,
    created_at    TEXT NOT NULL
);

-- A browser's session: only the SHA-256 of the cookie's token is kept, with the CSRF token the page echoes.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);

-- What the chat shows: the bot's messages (as the Bot API call left them) and the resident's own.
CREATE TABLE web_messages (
    user_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    from_bot    INTEGER NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    markup      TEXT,
    file_id     TEXT,
    file_kind   TEXT,
    file_name   TEXT,
    sent_at     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX web_messages_version ON web_messages(user_id, version);

-- Files a web resident uploaded (or the bot sent them as bytes: an export, a QR code).
CREATE TABLE web_files (
    file_id       TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content       BLOB NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX web_files_user ON web_files(user_id);

-- «Continue on another device»: a one-time code, kept as its SHA-256 until used or expired.
CREATE TABLE web_links (
    code_hash   TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    expires_at  TEXT NOT NULL
);

-- Update ids of the web chat's updates (from 2**53 up): AUTOINCREMENT never gives an id twice, even after the
-- rows are pruned.
CREATE TABLE web_updates (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER NOT NULL,
    at       TEXT NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('web_updates', 9007199254740992);
