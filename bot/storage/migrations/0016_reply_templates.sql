-- Answers an institution's staff write often («/templates» in its group; «💬 Відповісти» offers them). Each
-- institution starts from the neutral ones of data/shared/reply_templates.yaml, copied on first use; a removed
-- template keeps its row (removed_at), so the shipped ones never come back by themselves.
CREATE TABLE reply_templates (
    id              INTEGER PRIMARY KEY,
    community       TEXT NOT NULL,
    institution_id  TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_by      INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    removed_at      TEXT
);

CREATE INDEX reply_templates_institution ON reply_templates (community, institution_id, removed_at);
