-- A user's time zone, an IANA name such as Europe/Paris ('' for none):
-- users.info gives it as Slack's tz, tz_label and tz_offset. A Slack
-- import keeps its users'; a sign-up may give the browser's.
ALTER TABLE users ADD COLUMN tz TEXT NOT NULL DEFAULT '';
