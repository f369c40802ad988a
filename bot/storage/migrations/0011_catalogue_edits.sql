-- The community's own corrections to the shipped catalogue (contacts, descriptions, statuses), kept by
-- bot/ops/catalogue_edits.py, which holds every query of these tables. data/ stays the baseline.
--
-- Every version keeps the whole overlay as it is after it (`overlay`: JSON of the fields that differ from data/),
-- what it changed (`changes`: JSON list of {kind, id, field, before, after}) and its counts (`summary`). The
-- catalogue served is data/ with the overlay of the community's latest version not undone; an undo marks that
-- version (`undone_at`, `undone_by`) and nothing is deleted. `author_id`: the administrator's Telegram id, NULL
-- for a change made on the server (`author` then names the system user).
CREATE TABLE catalogue_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    community  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    author_id  INTEGER,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    overlay    TEXT NOT NULL,
    changes    TEXT NOT NULL,
    summary    TEXT NOT NULL,
    undone_at  TEXT,
    undone_by  TEXT,
    UNIQUE (community, version)
);

-- An edited workbook an administrator sent, checked and shown as a diff, waiting for the confirmation button
-- (`token` is in the button; `message_id` is the message that carries it). It is applied only while `state` is
-- 'pending', by its author, and only if the community's latest version is still `base_id` (0: none).
CREATE TABLE catalogue_imports (
    token      TEXT PRIMARY KEY,
    community  TEXT NOT NULL,
    author_id  INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    message_id INTEGER,
    base_id    INTEGER NOT NULL,
    overlay    TEXT NOT NULL,
    changes    TEXT NOT NULL,
    summary    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending'
);
