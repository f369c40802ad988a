-- Updates taken from Telegram but not yet fully handled. Telegram forgets an update once the next
-- getUpdates confirms it, which happens while the update is still being handled; a row here lets a
-- bot killed in between handle it after the restart. A row lives for the handling of one update.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);
