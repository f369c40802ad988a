-- Administrators added in the bot (/admin_add) besides those named in ADMIN_IDS.
CREATE TABLE admins (
    user_id     INTEGER PRIMARY KEY,
    added_by    INTEGER NOT NULL,
    added_at    TEXT NOT NULL
);

-- What a resident chose to receive: 1 = subscribed, 0 = unsubscribed (opted out even of campaigns to all).
CREATE TABLE subscriptions (
    user_id     INTEGER NOT NULL,
    topic       TEXT NOT NULL,
    subscribed  INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, topic)
) WITHOUT ROWID;
CREATE INDEX subscriptions_topic ON subscriptions (topic, subscribed);

-- Information campaigns composed by administrators.
CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    created_by      INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL,          -- scheduled | running | paused | cancelled | done
    topic           TEXT NOT NULL,          -- subscription topic the message belongs to
    text            TEXT NOT NULL,          -- Telegram HTML, validated when composed
    media_kind      TEXT,                   -- photo | document
    media_file_id   TEXT,
    button_kind     TEXT,                   -- service | consultation | url
    button_value    TEXT,
    button_label    TEXT,
    audience        TEXT NOT NULL,          -- JSON: {"community": slug|null, "topics": [..], "locale": code|null}
    paid            INTEGER NOT NULL DEFAULT 0,
    scheduled_at    TEXT,                   -- UTC: when to start
    started_at      TEXT,
    finished_at     TEXT,
    total           INTEGER NOT NULL DEFAULT 0,
    progress_chat_id    INTEGER,
    progress_message_id INTEGER
);
CREATE INDEX campaigns_status ON campaigns (status, scheduled_at);

-- One row per recipient, written when the campaign starts; marked as it is sent.
CREATE TABLE campaign_recipients (
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    user_id         INTEGER NOT NULL,
    locale          TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | sending | delivered | blocked | failed | uncertain
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,         -- unix seconds
    error           TEXT,
    sent_at         TEXT,
    PRIMARY KEY (campaign_id, user_id)
) WITHOUT ROWID;
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, next_attempt_at)
    WHERE status = 'pending';

-- Opens of deep links (t.me/<bot>?start=CODE): from printed QR codes and from campaign buttons.
CREATE TABLE link_opens (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,              -- the start payload as opened
    kind        TEXT NOT NULL,              -- service | consultation | community
    community   TEXT,
    target      TEXT,
    campaign_id INTEGER,
    user_id     INTEGER,
    new_resident INTEGER NOT NULL DEFAULT 0,
    opened_at   TEXT NOT NULL
);
CREATE INDEX link_opens_code ON link_opens (code, opened_at);
CREATE INDEX link_opens_campaign ON link_opens (campaign_id) WHERE campaign_id IS NOT NULL;
