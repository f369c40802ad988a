-- The staff desk: who took a request (the staff member's first name from Telegram, kept with the role set by
-- /role), why a request was finished (a reason chosen from a short list; the words of «Інше» are the text of
-- the history entry), and the due clock's warning the day before the answer date.
ALTER TABLE staff ADD COLUMN first_name TEXT;
ALTER TABLE requests ADD COLUMN finish_reason TEXT;
ALTER TABLE requests ADD COLUMN due_warned_at TEXT;
