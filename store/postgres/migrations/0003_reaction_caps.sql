-- AddReaction checks its caps (confab.MaxUserReactions, MaxReactionEmoji)
-- in its transaction through these two partial indexes of the current
-- reactions, so that a check reads what the cap counts and never the
-- message's other reactions: a user's own reactions on the message
-- (reactions_user_live), and one entry per distinct name
-- (reactions_name_live, walked name to name).
CREATE INDEX reactions_user_live ON reactions (channel_id, message_seq, user_id) WHERE NOT removed;
CREATE INDEX reactions_name_live ON reactions (channel_id, message_seq, name) WHERE NOT removed;
