-- Why a request's or a consultation's personal data was removed: 'resident' (🗑 «Видалити мої дані») or
-- 'retention' (RETENTION_DAYS after it was finished). The staff card, edited or posted later, says which.
ALTER TABLE requests ADD COLUMN purged_why TEXT;
ALTER TABLE consultations ADD COLUMN purged_why TEXT;
