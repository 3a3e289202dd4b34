package confab

import "context"

// Store is the contract of confab's persistence: what store/sqlite (the
// embedded default), store/postgres (a cluster's database) and pocket.Store
// (several PostgreSQL databases, routed by pocket) implement, and what the
// use cases of package chat consume. store/storetest is its conformance
// suite; every implementation runs it.
//
// Every method returns an *Error for the conditions listed (check with
// ErrorCode / ErrorMessage); anything else is an internal error. Every write
// that changes a channel's content (CreateMessage, UpdateMessage,
// DeleteMessage, AddReaction, RemoveReaction) takes the channel's next seq
// (Channel.LastSeq+1) in the same transaction as the change, and returns
// only once that transaction is durably committed.
//
// Conventions every implementation follows (the suite checks them):
//   - Callers set the ids of what they create (NewID); a store may fill in
//     a missing one.
//   - A Limit (or limit) <= 0 means no limit.
//   - A call whose context is already canceled returns an error wrapping
//     context.Canceled and writes nothing.
//   - Reactions on a message are grouped by name, groups in the order of
//     their oldest current reaction, users in the order they reacted (a
//     user who removes and re-adds a reaction moves to the end).
//
// Mentions. A message's mentions (Mentions of its Text and Blocks) are
// recorded as one row per (channel, message seq, mentioned member), in the
// transaction that writes the message: CreateMessage records them,
// UpdateMessage rewrites them when it sets Text or Blocks (a member no
// longer mentioned loses the row, a new one gains it), DeleteMessage
// removes them. Only members of the channel at the time of the write are
// recorded, and never the poster. A row says whether the member is
// mentioned by name (<@U…>, a rich_text user element: direct) or only by
// a channel-wide mention. <!channel> and <!everyone> record every member,
// so they cost a row per member; <!here> records only the members in
// Message.Here (MessageUpdate.Here for an edit), those the caller found
// active, since presence is not the store's. An edit that keeps a
// channel-wide mention keeps the rows it made before besides (a member
// away at the edit who was reached by the post stays mentioned). A row
// keeps the message's seq, edits included, so that a member's mentions
// after their read marker are the rows with seq > Membership.LastReadSeq:
// the arithmetic of unreads (CountMentions). Replies' mentions count too.
//
// Workspace event log. Each workspace has an event log (WorkspaceEvent),
// appended in the transaction of the change it records, only when
// something changed, at the workspace's next seq (1, 2, 3… in commit
// order, no gaps: a seq never commits after a higher one, so a reader
// that follows "seq > after" skips nothing). Time is the store's clock at
// the write. The writes that append, one event each unless said:
//   - CreateUser: team_join (UserID the user; bot users too), and
//     nothing for the general channel a human user joins with it: every
//     member is in it, so team_join says it;
//   - CreateApp: team_join for its bot user, as Slack announces a bot
//     user joining;
//   - CreateChannel of a named channel (public or private):
//     channel_created (ChannelID, UserID c.CreatedBy); nothing for a DM
//     or group DM, and no member_joined_channel for the members it is
//     created with;
//   - AddMember when added: member_joined_channel (ChannelID, UserID the
//     member);
//   - RemoveMember when removed: member_left_channel (ChannelID, UserID
//     the member);
//   - UpdateChannel: channel_rename when Name is set and differs from the
//     channel's, then channel_archive or channel_unarchive when Archived
//     is set and differs (ChannelID; UserID "": the update does not say
//     who); a Topic or Purpose appends nothing;
//   - UpdateUser: user_change (UserID the user).
//
// CreateWorkspace appends nothing: its owner is the workspace's first
// user, whom nobody is there to hear of, and the log starts with the
// first change after (no channel_created for its general channel either).
//
// General channel. Each workspace has exactly one general channel
// (Channel.IsGeneral, Slack's is_general): the public #general that
// CreateWorkspace creates in its transaction, the owner its one member
// (GeneralChannel). CreateUser adds a human user (not IsBot) to it in the
// transaction that creates them, as AddMember would (nothing unread),
// but with no member_joined_channel (team_join says it). CreateChannel never makes another: it ignores
// IsGeneral. The store does not refuse to archive the general channel or
// remove its members; package chat does (cant_archive_general…). A write that fails (name_taken, a canceled context)
// appends nothing.
//
// A Store is safe for concurrent use. Implementations also have Close,
// which the process that opened them calls; consumers never do.
type Store interface {
	// CreateWorkspace creates ws, its first user, owner, and its general
	// channel atomically, and sets ws.OwnerID. ECONFLICT "name_taken" if
	// the domain is taken.
	CreateWorkspace(ctx context.Context, ws *Workspace, owner *User) error
	// FindWorkspaceByID / ByDomain: ENOTFOUND "team_not_found".
	FindWorkspaceByID(ctx context.Context, id string) (*Workspace, error)
	FindWorkspaceByDomain(ctx context.Context, domain string) (*Workspace, error)

	// CreateUser: ECONFLICT "name_taken" if the name is taken in the
	// workspace, else "email_taken" if u.Email is another user's of the
	// workspace. CreateWorkspace and CreateApp store their user's email
	// the same way. Emails are stored lowercased (PrepareUser) and
	// compared so: two spellings of an address are one; "" (no email) is
	// never taken.
	// A human user joins the general channel in the same transaction.
	CreateUser(ctx context.Context, u *User) error
	// FindUserByID / ByName: ENOTFOUND "user_not_found".
	FindUserByID(ctx context.Context, id string) (*User, error)
	FindUserByName(ctx context.Context, workspaceID, name string) (*User, error)
	// FindUserByEmail finds the workspace's user with that email, in any
	// case: ENOTFOUND "user_not_found", for "" too. It is an index seek.
	FindUserByEmail(ctx context.Context, workspaceID, email string) (*User, error)
	// UpdateUser changes the profile fields upd sets and returns the user.
	// ENOTFOUND "user_not_found".
	UpdateUser(ctx context.Context, id string, upd UserUpdate) (*User, error)
	// FindUsers lists a workspace's users by id after f.AfterID.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, error)
	// SearchUsers returns the workspace's users (bots too, never deleted
	// users) with a term (UserTerms) that starts with f.Query, ordered by
	// the first such term then id, at most f.Limit; none for an empty
	// Query. The terms are kept in the transaction of every write that
	// changes them (CreateWorkspace, CreateUser, CreateApp, UpdateUser of
	// a name, DeleteApp), and a database from before them is indexed at
	// Open. It is a range scan of the index (workspace_id, term, user_id)
	// that reads at most f.Limit*MaxUserTerms entries, then a primary-key
	// seek per user found: its cost follows f.Limit, not how many users
	// the workspace has or how many match.
	SearchUsers(ctx context.Context, f UserSearch) ([]*User, error)

	CreateToken(ctx context.Context, t *Token) error
	// FindToken: ENOTFOUND "invalid_auth".
	FindToken(ctx context.Context, hash []byte) (*Token, error)
	// DeleteToken deletes a token; deleting a missing one is not an error.
	DeleteToken(ctx context.Context, hash []byte) error
	// DeleteUserTokens deletes the sessions of a user (their tokens of
	// type TokenUser) but the one of hash keep, and returns the hashes it
	// deleted: a password reset signs the user out everywhere else.
	DeleteUserTokens(ctx context.Context, userID string, keep []byte) ([][]byte, error)

	// Claims (Claim): one-time links that set a user's password. They are
	// directory data, kept beside the users and tokens.
	//
	// CreateClaim stores c, replacing the claim c.UserID had: a user has
	// at most one, the latest. ENOTFOUND "user_not_found".
	CreateClaim(ctx context.Context, c *Claim) error
	// FindClaim finds the claim of hash: ENOTFOUND "invalid_claim"
	// (ErrInvalidClaim) when there is none or it expires by now.
	FindClaim(ctx context.Context, hash []byte, now int64) (*Claim, error)
	// ClaimUser sets c.UserID's password hash, deletes the user's claim
	// and creates c.Token, in one transaction, and returns the user. The
	// user's claim must be there, not expired at c.Now, and is used up:
	// with c.ClaimHash the claim of that hash; without, one that allows
	// sign-up (Claim.Signup), and the user must have no password hash
	// yet: ECONFLICT "already_claimed" (ErrAlreadyClaimed) if they have
	// one. ErrInvalidClaim when there is no such claim (used, expired,
	// replaced, another user's); of concurrent claims of one user, one
	// succeeds. ENOTFOUND "user_not_found" for a missing or deleted user.
	// Nothing is written when it fails; no workspace event is appended
	// (no profile field changes).
	ClaimUser(ctx context.Context, c UserClaim) (*User, error)

	// CreateApp installs an app in its workspace in one transaction: the
	// app, its bot user (user, IsBot), the bot (bot.UserID = user.ID) and
	// tokens (of the bot user, Type TokenBot or TokenApp). Missing ids are
	// generated. ECONFLICT "name_taken" if user's name is taken in the
	// workspace (nothing is written); ENOTFOUND "team_not_found".
	CreateApp(ctx context.Context, app *App, bot *Bot, user *User, tokens []*Token) error
	// FindApp: ENOTFOUND "app_not_found" (a deleted app too).
	FindApp(ctx context.Context, id string) (*App, error)
	// FindBots lists the bots f selects (ids, user ids, app ids), deleted ones
	// included, in no particular order; unknown ids are left out.
	FindBots(ctx context.Context, f BotFilter) ([]*Bot, error)
	// UpdateApp replaces an app's manifest and its bot's name, at
	// upd.Updated. ENOTFOUND "app_not_found".
	UpdateApp(ctx context.Context, id string, upd AppUpdate) (*App, error)
	// DeleteApp uninstalls an app in one transaction: the app is gone
	// (FindApp: app_not_found), its bot and bot user are marked Deleted
	// (the bot's Updated = now), every token of the bot user is deleted,
	// and so are its positions. ENOTFOUND "app_not_found".
	DeleteApp(ctx context.Context, id string, now int64) error
	// FindApps lists the installed apps of every workspace by id after
	// f.AfterID: what the event delivery of a process scans for.
	FindApps(ctx context.Context, f AppFilter) ([]*App, error)
	// FindAppPositions returns how far an app's events were delivered,
	// one AppPosition per channel that has one, in no particular order;
	// none for an unknown app.
	FindAppPositions(ctx context.Context, appID string) ([]AppPosition, error)
	// SaveAppPositions records positions of an app in one durable
	// transaction, each replacing its channel's previous one (Seq may go
	// back only with a new JoinedAt). Saving for an unknown or deleted
	// app is not an error and records nothing.
	SaveAppPositions(ctx context.Context, appID string, ps []AppPosition) error

	// CreateChannel creates c with the given members (joined at c.Created,
	// nothing unread) and sets c.NumMembers. ECONFLICT "name_taken" when a
	// named channel of the workspace has c.Name, or a DM/group DM has c.Key.
	CreateChannel(ctx context.Context, c *Channel, members []string) error
	// FindChannelByID: ENOTFOUND "channel_not_found".
	FindChannelByID(ctx context.Context, id string) (*Channel, error)
	// FindChannelByKey finds a DM or group DM by its members' key:
	// ENOTFOUND "channel_not_found".
	FindChannelByKey(ctx context.Context, workspaceID, key string) (*Channel, error)
	// FindChannels lists channels by id (see ChannelFilter).
	FindChannels(ctx context.Context, f ChannelFilter) ([]*Channel, error)
	// UpdateChannel: ENOTFOUND "channel_not_found"; ECONFLICT "name_taken"
	// when Name is another channel's of the workspace.
	UpdateChannel(ctx context.Context, id string, upd ChannelUpdate) (*Channel, error)

	// AddMember adds a member, joined at joinedAt, with its read marker at the
	// channel's latest message (nothing unread): LastReadSeq/TS of the newest
	// top-level message (tombstones included), LastReadCount the channel's
	// MessageCount. added is false if the user was a member already (nothing
	// changes). ENOTFOUND "channel_not_found".
	AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (added bool, err error)
	// RemoveMember: removed is false if the user was not a member.
	RemoveMember(ctx context.Context, channelID, userID string) (removed bool, err error)
	// FindMembership: ENOTFOUND "not_in_channel".
	FindMembership(ctx context.Context, channelID, userID string) (*Membership, error)
	// FindMemberships lists all of a user's memberships by channel id.
	FindMemberships(ctx context.Context, userID string) ([]*Membership, error)
	// FindMembers lists a channel's member ids in id order after
	// f.AfterUserID (only those among f.UserIDs when it is set).
	FindMembers(ctx context.Context, f MemberFilter) ([]string, error)
	// UpdateMembership: ENOTFOUND "not_in_channel".
	UpdateMembership(ctx context.Context, channelID, userID string, upd MembershipUpdate) (*Membership, error)

	// CreateMessage stores a new message in one durable transaction: m.Seq
	// is the channel's next seq, m.ChangeSeq = m.Seq, m.TS becomes
	// max(m.TS, the channel's previous message ts + 1), and for a top-level
	// message the channel's MessageCount grows by one and m.Num is the new
	// count (a reply gets the current count). A reply (m.ThreadTS != 0)
	// updates its parent's ReplyCount and LatestReply in the same
	// transaction, and a top-level message moves its poster's read marker
	// to itself (the poster has read it; a reply moves nothing). If
	// m.ClientMsgID is set and the channel already has a
	// message with it, m is filled with that message and created is false:
	// nothing is written. m's app fields (Blocks, Attachments, Metadata,
	// Username, IconEmoji, IconURL, Broadcast) are stored as given and read
	// back byte for byte by every read; the store does not validate them
	// (ValidateAppFields is the caller's); so is m.Subtype. A system
	// message (IsSystemSubtype(m.Subtype): a join, leave, topic or purpose
	// line) records no mentions and is not indexed for search, by this
	// write, an edit or the background indexing. ENOTFOUND
	// "channel_not_found".
	CreateMessage(ctx context.Context, m *Message) (created bool, err error)
	// ImportMessages stores messages of an import (admin.import.messages)
	// in one durable transaction (or, where live writes would wait behind
	// it, in several, each the next run of msgs: one interrupted between
	// them is completed by importing msgs again), each with its own TS, which the store
	// keeps: msgs come in strictly increasing ts order (EINVALID
	// "invalid_ts_order" otherwise, ErrImportOrder). A message whose ts
	// the channel has already is skipped, so that an import run again
	// writes each message once; created counts the others. Each message
	// stored takes the channel's next seq (so seqs follow ts), then each
	// of its Reactions' users one seq each, in the order given; its
	// EditedTS, Subtype and app fields are kept; Deleted, ReplyCount,
	// LatestReply, ClientMsgID and Here are ignored. A reply counts on its
	// parent (ReplyCount, LatestReply) as CreateMessage's does. A message
	// older than the channel's latest (its ts not above it, and not
	// already there) is refused: ECONFLICT "import_out_of_order"
	// (ErrImportTooOld), nothing written; history can only be imported
	// before anything newer is posted. Mentions are written as
	// CreateMessage writes them. The search index may take the messages
	// after the call, in the background (SQLite's does, so that an import
	// writes at the rate of its rows): a search finds them within seconds
	// of the import's end. At the end every member's read
	// marker moves to the channel's latest top-level message, as AddMember
	// sets it: nothing imported is unread. ENOTFOUND "channel_not_found".
	ImportMessages(ctx context.Context, channelID string, msgs []*Message) (created int, err error)
	// FindMessage finds a message by ts, tombstones included, with its
	// reactions. ENOTFOUND "message_not_found".
	FindMessage(ctx context.Context, channelID string, ts int64) (*Message, error)
	// FindMessages pages a channel's messages by seq with their reactions
	// (see MessageFilter). It is a range scan on (channel_id, seq): its
	// cost does not depend on how deep the page is. TopLevel pages list
	// the Broadcast replies among the top-level messages, at their seq.
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// FindLatestMessages returns, by channel id, the latest top-level
	// message of each of the given channels that is not a tombstone: what a
	// sidebar shows under a conversation (client.boot). It comes without
	// Reactions. A channel without one (no messages, only replies or
	// tombstones, or no such channel) is left out; a repeated id counts
	// once. One call reads every channel, each by a backward scan of
	// (channel_id, seq) from the channel's end that stops at its first such
	// message: its cost follows how many channels are asked, not how deep
	// they are or how many the store holds.
	FindLatestMessages(ctx context.Context, channelIDs []string) (map[string]*Message, error)
	// CountMentions returns, by channel id, the mention count userID's
	// client shows for each of the given channels (Slack's mention_count):
	// in a DM or group DM every unread top-level message (Channel.
	// MessageCount - Membership.LastReadCount, as it is addressed to the
	// reader); elsewhere the mentions of userID after their read marker
	// (see Mentions above), and in a channel they muted
	// (Membership.IsMuted) only those by name. A channel without any, or
	// that the user is not a member of, is left out; a repeated id counts
	// once. One call reads every channel: a seek of the membership's
	// primary key, of the channel's, and one of the index (user_id,
	// channel_id, seq) per channel, then the rows it counts; its cost
	// follows how many channels are asked and how many unread mentions
	// they hold, not how deep they are.
	CountMentions(ctx context.Context, userID string, channelIDs []string) (map[string]int, error)
	// SeqAtTS returns the seq of the channel's last message with ts <= the
	// given ts (0 if none), and whether its ts is exactly ts.
	SeqAtTS(ctx context.Context, channelID string, ts int64) (seq int64, exact bool, err error)
	// UpdateMessage edits a message: next seq as ChangeSeq, EditedTS =
	// editedTS, and each field upd sets replaced (Blocks, Attachments,
	// Metadata too: "" removes them); the others are kept. ENOTFOUND
	// "message_not_found" (tombstones too).
	UpdateMessage(ctx context.Context, channelID string, ts int64, upd MessageUpdate, editedTS int64) (*Message, error)
	// DeleteMessage turns a message into a tombstone (Deleted; Text,
	// Blocks, Attachments and Metadata ""), next seq as ChangeSeq. Deleting a reply takes one off its parent's
	// ReplyCount (the parent's ChangeSeq does not move). A pinned message
	// loses its pin in the same transaction (PinCount and PinVersion as
	// RemovePin). ENOTFOUND "message_not_found" (tombstones too).
	DeleteMessage(ctx context.Context, channelID string, ts int64) (*Message, error)
	// AddReaction: next seq. ENOTFOUND "message_not_found" (tombstones
	// too); then, in this order, ECONFLICT "already_reacted", ECONFLICT
	// "too_many_reactions" when the user has MaxUserReactions current
	// reactions on the message (ErrTooManyReactions), ECONFLICT
	// "too_many_emoji" when name is not on the message yet and it has
	// MaxReactionEmoji distinct names (ErrTooManyEmoji). The caps are
	// checked in the transaction that adds the reaction: concurrent adders
	// never pass them. Its cost does not depend on how many reactions the
	// message has: it reads the user's own current reactions and one
	// index entry per distinct name, never the message's other reactions.
	AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*ReactionChange, error)
	// RemoveReaction: next seq. ENOTFOUND "no_reaction", "message_not_found".
	RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*ReactionChange, error)
	// AddPin pins the live message p.MessageTS of p.ChannelID, by p.UserID
	// at p.Created: the channel's PinCount grows by one and its PinVersion
	// moves on, in the same transaction. A pin takes no seq and is not in
	// FindChanges. ENOTFOUND "message_not_found" (tombstones and missing
	// channels too); then ECONFLICT "already_pinned"; ECONFLICT
	// "too_many_pins" when the channel has MaxPins (ErrTooManyPins),
	// checked in the transaction that pins.
	AddPin(ctx context.Context, p *Pin) error
	// RemovePin unpins a message: PinCount down by one, PinVersion moves
	// on. ENOTFOUND "no_pin" when it is not pinned (or does not exist).
	RemovePin(ctx context.Context, channelID string, ts int64) error
	// FindPins lists a channel's pins, the latest pinned first; with
	// messages, each with its Message (and its reactions), read in the
	// same statement or transaction. A missing channel has none.
	FindPins(ctx context.Context, channelID string, messages bool) ([]*Pin, error)
	// FindChanges returns the channel's changes with seq > after, in seq
	// order, at most limit: each message whose ChangeSeq > after in its
	// current state (Seq of the Change = ChangeSeq), and each reaction change
	// with seq > after (a removed reaction is kept as a tombstone so that it
	// can be caught up; re-adding it takes a new seq). Like a message, each
	// (message, user, name) reaction appears once, in its latest state, at
	// the seq of its latest change. Messages come without Reactions: the
	// reaction changes carry them.
	FindChanges(ctx context.Context, channelID string, after int64, limit int) ([]Change, error)

	// Scheduled messages (chat.scheduleMessage). They are directory data:
	// pocket.Store keeps them in its main database, whatever the channel's
	// pocket, so the store does not check that the channel exists.
	//
	// CreateScheduledMessage stores m (ClaimedUntil 0; a missing id is
	// generated). ECONFLICT "restricted_too_many" (ErrRestrictedTooMany)
	// when m's channel already has MaxScheduledPerWindow pending messages
	// in m's window (PostAt / ScheduleWindow), or m's user has
	// MaxScheduledPerUser pending: checked in the transaction that writes
	// m, so concurrent callers never pass them. ENOTFOUND "user_not_found".
	CreateScheduledMessage(ctx context.Context, m *ScheduledMessage) error
	// FindScheduledMessages lists f.UserID's pending messages (claimed ones
	// too) by PostAt then ID.
	FindScheduledMessages(ctx context.Context, f ScheduledFilter) ([]*ScheduledMessage, error)
	// DeleteScheduledMessage deletes message id of userID in channelID if
	// no scheduler ever claimed it. ENOTFOUND
	// "invalid_scheduled_message_id" (ErrInvalidScheduledID) otherwise: no
	// such message, another user's or channel's, or claimed (posted or
	// being posted). The claim and the delete exclude each other: a
	// message is either deleted or posted, never both.
	DeleteScheduledMessage(ctx context.Context, id, userID, channelID string) error
	// ClaimScheduledMessages claims, atomically, at most limit messages
	// that are due (PostAt <= now) and not held (ClaimedUntil <= now),
	// oldest PostAt first: their ClaimedUntil becomes until, and they are
	// returned so. Concurrent claimers never get the same message until
	// its claim expires.
	ClaimScheduledMessages(ctx context.Context, now, until int64, limit int) ([]*ScheduledMessage, error)
	// FinishScheduledMessage removes a claimed message once it is posted
	// or dropped; removing a missing one is not an error.
	FinishScheduledMessage(ctx context.Context, id string) error
	// FindWorkspaceEvents returns the workspace's events (see Workspace
	// event log above) with Seq > after, in Seq order, at most limit; none
	// for an unknown workspace. It is a range scan on (workspace_id, seq):
	// its cost does not depend on the log's length.
	FindWorkspaceEvents(ctx context.Context, workspaceID string, after int64, limit int) ([]WorkspaceEvent, error)

	// SearchMessages returns the messages the filter selects, a page of
	// them and their total (see Search). The index is kept in the
	// transaction of every write: CreateMessage indexes the message's
	// SearchDoc, UpdateMessage reindexes it when it sets Text,
	// DeleteMessage removes it; a search after the write returns sees it.
	// A database from before the index is indexed in the background after
	// Open, in batches, while the store serves.
	SearchMessages(ctx context.Context, f SearchFilter) (*SearchResult, error)
}
