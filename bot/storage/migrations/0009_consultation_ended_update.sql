-- The update that ended a consultation (NULL when the clock ended it, or it ended before this column). Telegram
-- numbers updates in the order they happen, but the bot handles them side by side (a whole batch at once after
-- a restart), so a message written before the end can be handled after it: a lower update id says it was
-- written while the consultation was open, and it is delivered rather than lost.
ALTER TABLE consultations ADD COLUMN ended_update INTEGER;
