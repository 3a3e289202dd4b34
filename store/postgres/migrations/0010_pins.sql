-- A channel's pinned messages (Store.AddPin): who pinned each and when.
-- version is the channel's pin_version the pin was made at: the order of
-- pins.list, latest first, with no ties. A pin takes no seq: pins are not
-- in the change feed. A deleted message loses its pin.
CREATE TABLE pins (
	channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
	message_ts BIGINT NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	created    BIGINT NOT NULL,
	version    BIGINT NOT NULL,
	PRIMARY KEY (channel_id, message_ts)
);
CREATE INDEX pins_version ON pins (channel_id, version);

-- pin_count counts the channel's pins; pin_version moves on with every
-- pin and unpin, so that a page read shared by its readers can name the
-- pins it shows (confab.Channel.PinVersion). Constant defaults: no table
-- rewrite.
ALTER TABLE channels ADD COLUMN pin_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN pin_version BIGINT NOT NULL DEFAULT 0;
