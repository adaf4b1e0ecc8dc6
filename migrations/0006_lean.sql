-- 0006_lean: no index on a random value in a hot table. Nothing looks a
-- reservation up by its request id (the requests table answers "what
-- happened to request X", and its ids are time-ordered UUIDv7 now, so its
-- index grows at the end), yet every reservation paid for a b-tree insert
-- at a random place.
DROP INDEX IF EXISTS ix_reservations_request_id;
