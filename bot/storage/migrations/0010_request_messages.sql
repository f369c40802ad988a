-- Which message of the bot is about which request: in the resident's chat (an answer, a status notice, a
-- confirmation), so that a quote-reply to it goes to that request; and in the staff group (a relayed message
-- of the resident), so that a message the resident takes back can be removed there. `event_id` is the history
-- entry the message carries, when it carries one. Telegram numbers messages per chat.
CREATE TABLE request_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    event_id   INTEGER REFERENCES request_events (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
CREATE INDEX request_messages_request ON request_messages (request_id);
CREATE INDEX request_messages_event ON request_messages (event_id) WHERE event_id IS NOT NULL;

-- A resident's message the bot added to a request on its own (`how`: 'quote', a quote-reply to a message about
-- the request; 'awaiting', a free text while the request waited for the resident's answer), which the resident
-- may take back once («Це був пошук?»): `token` is in the button, `undone_at` says it was taken back.
CREATE TABLE guessed_follow_ups (
    event_id    INTEGER PRIMARY KEY REFERENCES request_events (id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL,
    how         TEXT NOT NULL,
    token       TEXT NOT NULL,
    at          TEXT NOT NULL,
    undone_at   TEXT
);
