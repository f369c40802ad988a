-- A row whose Bot API call is under way: set just before the call, cleared when its outcome is recorded.
-- Found set at start, the process died during the call; the row is sent again (Telegram may or may not
-- have carried the call out) and `interrupted` counts how often that happened.
ALTER TABLE outbox ADD COLUMN in_flight_since TEXT;
ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
