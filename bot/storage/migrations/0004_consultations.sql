-- The online consultation line: live chats between a resident and a specialist, and booked times.
CREATE TABLE consultations (
    id               INTEGER PRIMARY KEY,
    community        TEXT NOT NULL,
    resident_id      INTEGER,
    topic            TEXT NOT NULL,
    institution_id   TEXT NOT NULL,
    status           TEXT NOT NULL,            -- queued | active | ended | timed_out | converted
    specialist_id    INTEGER,
    specialist_label TEXT,
    group_chat_id    INTEGER,
    thread_id        INTEGER,
    card_message_id  INTEGER,
    asked_at         TEXT NOT NULL,
    taken_at         TEXT,
    ended_at         TEXT,
    ended_by         TEXT,
    rating           INTEGER,
    rating_comment   TEXT,
    request_id       INTEGER REFERENCES requests (id),
    booking_id       INTEGER,
    purged_at        TEXT
);
CREATE INDEX consultations_resident ON consultations (resident_id, asked_at DESC);
CREATE INDEX consultations_queue ON consultations (community, institution_id, asked_at)
    WHERE status IN ('queued', 'active');
CREATE INDEX consultations_thread ON consultations (group_chat_id, thread_id);

CREATE TABLE consultation_messages (
    id               INTEGER PRIMARY KEY,
    consultation_id  INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    at               TEXT NOT NULL,
    sender           TEXT NOT NULL,            -- resident | specialist | system
    sender_id        INTEGER,
    kind             TEXT NOT NULL,            -- text | photo | document | voice | note
    text             TEXT,
    file_id          TEXT,
    public           INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX consultation_messages_by ON consultation_messages (consultation_id, id);

CREATE TABLE bookings (
    id               INTEGER PRIMARY KEY,
    community        TEXT NOT NULL,
    resident_id      INTEGER,
    topic            TEXT NOT NULL,
    institution_id   TEXT NOT NULL,
    starts_at        TEXT NOT NULL,
    status           TEXT NOT NULL,            -- booked | cancelled | kept | missed
    created_at       TEXT NOT NULL,
    reminded_day_at  TEXT,
    reminded_hour_at TEXT
);
CREATE UNIQUE INDEX bookings_slot ON bookings (community, institution_id, topic, starts_at) WHERE status = 'booked';
CREATE INDEX bookings_resident ON bookings (resident_id, starts_at);
CREATE INDEX bookings_due ON bookings (status, starts_at);
