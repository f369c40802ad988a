-- When the bot learned that a staff member left their group or was removed from it (a `chat_member` update, or
-- Telegram's answer when a colleague was chosen): «👥 Передати колезі» no longer offers them. Cleared when they
-- come back to the group or act in it again (/role, taking a request).
ALTER TABLE staff ADD COLUMN gone_at TEXT;
