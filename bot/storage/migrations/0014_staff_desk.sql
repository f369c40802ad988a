-- The staff desk: who took a request (the staff member's first name from Telegram, kept with the role set by
-- /role), why a request was finished (a reason chosen from a short list; the words of «Інше» are the text of
-- the history entry), and the due clock's warning the day before the answer date.
ALTER TABLE staff ADD COLUMN first_name TEXT;
ALTER TABLE requests ADD COLUMN finish_reason TEXT;
ALTER TABLE requests ADD COLUMN due_warned_at TEXT;
-- Each finishing entry of the history keeps its own reason (a request reopened and closed again has two), and the
-- title the request's forum topic was last given, so that it is edited only when the status changes it.
ALTER TABLE request_events ADD COLUMN reason TEXT;
ALTER TABLE requests ADD COLUMN topic_title TEXT;
