-- Only replies are in messages_thread: a thread's query names its parent
-- (thread_ts != 0), and a top-level post, most of the writes, then updates
-- four b-trees instead of five.
DROP INDEX messages_thread;
CREATE INDEX messages_thread ON messages (channel_id, thread_ts, seq) WHERE thread_ts != 0;
