-- A channel's pinned messages (Store.AddPin): who pinned each and when.
-- version is the channel's pin_version the pin was made at: the order of
-- pins.list, latest first, with no ties. A pin takes no seq: pins are not
-- in the change feed. A deleted message loses its pin.
CREATE TABLE pins (
	channel_id TEXT NOT NULL REFERENCES channels (id),
	message_ts INTEGER NOT NULL,
	user_id    TEXT NOT NULL,
	created    INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	PRIMARY KEY (channel_id, message_ts)
) WITHOUT ROWID;
CREATE INDEX pins_version ON pins (channel_id, version);

-- pin_count counts the channel's pins; pin_version moves on with every
-- pin and unpin, so that a page read shared by its readers can name the
-- pins it shows (confab.Channel.PinVersion).
ALTER TABLE channels ADD COLUMN pin_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN pin_version INTEGER NOT NULL DEFAULT 0;
