-- The web chat's e-mail notice (bot/webchat/notice.py, only when SMTP is configured): the address a web resident
-- left, since when a notice is due (something arrived while no page of theirs was open) and when the last went.
ALTER TABLE web_users ADD COLUMN email TEXT;
ALTER TABLE web_users ADD COLUMN notice_due_at TEXT;
ALTER TABLE web_users ADD COLUMN noticed_at TEXT;
