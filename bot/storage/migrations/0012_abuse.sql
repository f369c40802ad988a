-- Failed /bind attempts: a few per chat and per user, then a lockout (RequestService.bind).
CREATE TABLE bind_attempts (
    id      INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    user_id INTEGER,
    at      TEXT NOT NULL
);
CREATE INDEX bind_attempts_chat ON bind_attempts (chat_id, at);
CREATE INDEX bind_attempts_user ON bind_attempts (user_id, at);

-- Bind codes are kept as their SHA-256 from now on (the code is shown once, to the administrator who made it):
-- codes made before are retired; an administrator makes a new one with /bind_code.
UPDATE bind_codes SET expires_at = '1970-01-01T00:00:00+00:00' WHERE used_at IS NULL;

-- Daily caps per resident count the resident's own messages to their requests.
CREATE INDEX request_events_actor ON request_events (actor_id, at) WHERE actor = 'resident';
