-- PingWrite writes 64 KiB into pad, more than most messages: a store
-- too full to take a message then refuses the check too, where a one-row
-- write of a few bytes still fitted in what a failed commit left free.
ALTER TABLE health ADD COLUMN pad BLOB;
