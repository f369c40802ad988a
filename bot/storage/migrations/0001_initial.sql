-- Residents: one row per Telegram user who started the bot.
CREATE TABLE residents (
    user_id     INTEGER PRIMARY KEY,
    locale      TEXT,
    community   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    blocked_at  TEXT
);

-- Conversation state of aiogram's FSM, one row per storage key.
CREATE TABLE fsm_state (
    key         TEXT PRIMARY KEY,
    state       TEXT,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
);
