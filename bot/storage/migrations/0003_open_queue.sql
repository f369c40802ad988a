-- The open requests of an institution, urgent first, oldest first: the staff group's /open list
-- and reminders read only this small part of the table.
CREATE INDEX requests_open_queue ON requests (community, institution_id, urgent DESC, created_at)
    WHERE status IN ('new', 'in_progress');

-- «Мої звернення» pages by the last change, newest first, with the id as the tiebreaker.
DROP INDEX requests_resident;
CREATE INDEX requests_resident ON requests (resident_id, updated_at DESC, id DESC);
