-- Whether the help came: CONFIRM_AFTER_DAYS after a request is resolved its resident is asked once per resolution
-- (bot/requests/confirmation.py owns this table). The resident's words are a history entry of the request, so they
-- are erased with its history; this table names nobody.
CREATE TABLE request_confirmations (
    id                INTEGER PRIMARY KEY,
    request_id        INTEGER NOT NULL REFERENCES requests (id),
    resolved_event_id INTEGER NOT NULL UNIQUE,  -- the resolution asked about: one question each
    resolved_at       TEXT NOT NULL,
    asked_at          TEXT NOT NULL,
    answer            TEXT,  -- yes | partly | no | none (no answer in time) | void (staff reopened it first)
    answered_at       TEXT,
    words_event_id    INTEGER  -- the resident's few words after «Частково» or «Ні» (request_events)
);
CREATE INDEX request_confirmations_waiting ON request_confirmations (asked_at) WHERE answer IS NULL;
CREATE INDEX request_confirmations_request ON request_confirmations (request_id);
CREATE INDEX request_events_resolved ON request_events (at) WHERE kind = 'resolved';
