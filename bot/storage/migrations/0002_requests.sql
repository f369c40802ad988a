-- Requests for help and reports about people in need, with their full history.
CREATE TABLE requests (
    id                 INTEGER PRIMARY KEY,
    public_id          TEXT NOT NULL UNIQUE,
    community          TEXT NOT NULL,
    resident_id        INTEGER,
    kind               TEXT NOT NULL,            -- help | report
    anonymous          INTEGER NOT NULL DEFAULT 0,
    service_id         TEXT,
    situation_id       TEXT,
    for_whom           TEXT,                     -- self | child | other
    institution_id     TEXT NOT NULL,
    description        TEXT,
    contact_method     TEXT,                     -- telegram | phone | chat
    contact_phone      TEXT,
    contact_name       TEXT,
    urgent             INTEGER NOT NULL DEFAULT 0,
    danger             TEXT,
    status             TEXT NOT NULL,
    assignee_id        INTEGER,
    assignee_label     TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    due_at             TEXT NOT NULL,
    first_response_at  TEXT,
    closed_at          TEXT,
    rating             INTEGER,
    rating_comment     TEXT,
    group_chat_id      INTEGER,
    thread_id          INTEGER,
    card_message_id    INTEGER,
    reminded_at        TEXT,
    purged_at          TEXT
);
CREATE INDEX requests_resident ON requests (resident_id, updated_at DESC);
CREATE INDEX requests_institution_open ON requests (community, institution_id, status, urgent DESC, created_at);
CREATE INDEX requests_thread ON requests (group_chat_id, thread_id);
CREATE INDEX requests_card ON requests (group_chat_id, card_message_id);

CREATE TABLE request_events (
    id             INTEGER PRIMARY KEY,
    request_id     INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,               -- resident | staff | system
    actor_id       INTEGER,
    actor_label    TEXT,
    kind           TEXT NOT NULL,
    text           TEXT,
    public         INTEGER NOT NULL DEFAULT 1,  -- 0: internal note, never shown to the resident
    institution_id TEXT
);
CREATE INDEX request_events_request ON request_events (request_id, id);

CREATE TABLE request_files (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    event_id    INTEGER REFERENCES request_events (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                  -- photo | document | voice
    file_id     TEXT NOT NULL,
    file_name   TEXT,
    size        INTEGER
);
CREATE INDEX request_files_request ON request_files (request_id);

CREATE TABLE request_counters (
    year   INTEGER PRIMARY KEY,
    last   INTEGER NOT NULL
);

-- Staff groups bound to institutions, one-time binding codes, people who acted as staff.
CREATE TABLE groups (
    chat_id        INTEGER PRIMARY KEY,
    community      TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    title          TEXT,
    is_forum       INTEGER NOT NULL DEFAULT 0,
    bound_at       TEXT NOT NULL,
    bound_by       INTEGER,
    active         INTEGER NOT NULL DEFAULT 1,
    unreachable_at TEXT
);
CREATE INDEX groups_institution ON groups (community, institution_id, active);

CREATE TABLE bind_codes (
    code           TEXT PRIMARY KEY,
    community      TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    created_by     INTEGER,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    used_in        INTEGER
);

CREATE TABLE staff (
    chat_id   INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    role      TEXT,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

-- Everything sent to someone other than the user who just wrote.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,              -- resident:<id> | institution:<community>/<id> | admins
    request_id      INTEGER REFERENCES requests (id) ON DELETE CASCADE,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | held | failed | dropped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    dedupe_key      TEXT UNIQUE
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Updates that changed data, so that the same update handed twice changes nothing twice.
CREATE TABLE processed_updates (
    update_id  INTEGER PRIMARY KEY,
    at         TEXT NOT NULL
);

CREATE TABLE consents (
    user_id   INTEGER PRIMARY KEY,
    version   INTEGER NOT NULL,
    given_at  TEXT NOT NULL
);
