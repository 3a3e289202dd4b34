-- PingWrite writes 64 KiB into pad, more than most messages: a store
-- too full to take a message then refuses the check too.
ALTER TABLE health ADD COLUMN pad bytea;
