-- What retention leaves of a finished campaign's recipient rows (who got it) once RETENTION_DAYS have
-- passed: how many of each status, per community of the residents at that time ('' when not known).
CREATE TABLE campaign_tallies (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    community   TEXT NOT NULL,
    status      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, community, status)
) WITHOUT ROWID;
ALTER TABLE campaigns ADD COLUMN purged_at TEXT;

-- The opener's community, kept when retention replaces the opener's id with a stand-in number.
ALTER TABLE link_opens ADD COLUMN resident_community TEXT;
CREATE INDEX link_opens_user ON link_opens (user_id, opened_at);
