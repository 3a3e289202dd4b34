-- How far each app's events were delivered, per channel (confab.AppPosition):
-- the durable checkpoint of an app as an event reader of the change log.
CREATE TABLE app_positions (
	app_id     TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	seq        BIGINT NOT NULL,
	joined_at  BIGINT NOT NULL,
	PRIMARY KEY (app_id, channel_id)
);
