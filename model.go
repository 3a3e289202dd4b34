package confab

// Workspace is a team: users and channels live in exactly one workspace.
type Workspace struct {
	ID      string // T…
	Name    string
	Domain  string // unique, validated by ValidName
	OwnerID string // the first user to sign up
	Created int64  // unix seconds
}

// User is a member of one workspace.
type User struct {
	ID           string // U…
	WorkspaceID  string
	Name         string // unique within the workspace, validated by ValidName
	RealName     string
	DisplayName  string
	PasswordHash string // never leaves the server
	IsBot        bool
	Deleted      bool
	Created      int64 // unix seconds
	// Email is unique within the workspace, compared case-insensitively:
	// stores keep it lowercased (PrepareUser). "" for none (bots, users
	// from before emails, users who gave none); "" is never taken.
	Email string
	// The custom status (users.profile.set): StatusExpiration is unix
	// seconds, 0 for never.
	StatusText       string
	StatusEmoji      string
	StatusExpiration int64
	// TZ is the user's time zone, an IANA name (ValidTZ), "" for none.
	TZ string
}

// UserUpdate is what users.profile.set changes of a user: each field that
// is set replaces the user's, the others are kept.
type UserUpdate struct {
	RealName         *string
	DisplayName      *string
	StatusText       *string
	StatusEmoji      *string
	StatusExpiration *int64
}

// Channel kinds. Every conversation is a channel; a DM is a channel of kind
// KindDM with exactly two members.
const (
	KindPublic  = "public"
	KindPrivate = "private"
	KindDM      = "dm"
	KindGroupDM = "group_dm"
)

// Channel is any conversation.
type Channel struct {
	ID          string // C…, D… or G…
	WorkspaceID string
	Kind        string // KindPublic, KindPrivate, KindDM, KindGroupDM
	Name        string // "" for DMs and group DMs
	// Key identifies a DM or group DM by its members: the sorted user ids
	// joined by ",". It is unique per workspace, so opening the same set of
	// users twice finds the same channel. "" for named channels.
	Key       string
	Topic     Text
	Purpose   Text
	CreatedBy string
	Created   int64 // unix seconds
	Archived  bool
	// IsGeneral marks the workspace's general channel (Slack's
	// is_general): exactly one public channel per workspace, created with
	// it (Store.CreateWorkspace), that every new human member joins
	// (Store.CreateUser) and nobody may leave, be kicked from or archive.
	IsGeneral    bool
	LastSeq      int64 // change counter: each post, edit, delete or reaction takes the next
	MessageCount int64 // new messages ever posted, for unread arithmetic
	NumMembers   int
	// PinCount is how many messages are pinned to the channel (Store.AddPin).
	PinCount int
	// PinVersion moves on with every pin and unpin: pins take no seq (they
	// are not in the change feed), so LastSeq alone does not name the
	// state of a page that shows them (pinned_to); LastSeq and PinVersion
	// together do.
	PinVersion int64
}

// Text is a topic or purpose with who set it and when.
type Text struct {
	Value   string
	Creator string
	LastSet int64 // unix seconds
}

// IsConversationKind reports whether k is one of the channel kinds.
func IsConversationKind(k string) bool {
	return k == KindPublic || k == KindPrivate || k == KindDM || k == KindGroupDM
}

// IsDirect reports whether the channel is a DM or a group DM: it has a fixed
// set of members and no name.
func (c *Channel) IsDirect() bool { return c.Kind == KindDM || c.Kind == KindGroupDM }

// Membership is one user's membership of one channel, with that user's
// private flags and read marker.
type Membership struct {
	ChannelID   string
	UserID      string
	JoinedAt    int64 // unix seconds
	IsMuted     bool
	IsStarred   bool
	LastReadSeq int64 // seq of the last message read (0: none)
	LastReadTS  int64 // its ts in microseconds
	// LastReadCount is the channel's MessageCount at the last read message:
	// unread = Channel.MessageCount - LastReadCount.
	LastReadCount int64
}

// Message is a message of a channel. (ChannelID, Seq) is its key; TS its
// Slack id. ChangeSeq is the seq of its latest change (edit or delete).
type Message struct {
	ChannelID   string
	Seq         int64
	TS          int64 // microseconds since the epoch, unique in the channel
	UserID      string
	Text        string
	ThreadTS    int64 // parent's ts for a thread reply, 0 otherwise
	ClientMsgID string
	EditedTS    int64 // microseconds; 0 if never edited
	Deleted     bool
	ChangeSeq   int64
	// Num is the channel's MessageCount right after this message was posted.
	Num int64
	// Subtype is the message's Slack subtype as stored: "" for a plain
	// message, SubtypeMeMessage for chat.meMessage's.
	Subtype string
	// Thread summary of a parent, kept by the store.
	ReplyCount  int
	LatestReply int64
	// Reactions, filled by the store on reads that ask for them.
	Reactions []Reaction
	// What apps send besides text (ValidateAppFields): Blocks and
	// Attachments are JSON arrays, Metadata a JSON object, each as sent
	// with insignificant whitespace dropped, "" when absent.
	Blocks      string
	Attachments string
	Metadata    string
	// Username, IconEmoji and IconURL override how the poster is shown.
	Username  string
	IconEmoji string
	IconURL   string
	// Broadcast marks a thread reply also shown in the channel (Slack's
	// reply_broadcast): history lists it among the top-level messages.
	Broadcast bool
	// Bot is the bot that posted the message when its poster is a bot
	// user: filled by package chat on the way out (bot_id, bot_profile),
	// never stored with the message.
	Bot *Bot
	// Here is who a <!here> of the message reaches: the members of the
	// channel who are active as it is written, found by package chat (the
	// store knows no presence). It is read by CreateMessage only, never
	// stored nor read back; a <!here> with Here empty mentions no one.
	Here []string
}

// Reaction is one emoji on a message with the users who added it, in the
// order they did.
type Reaction struct {
	Name  string
	Users []string
}

// ReactionChange is one user's reaction being added or removed: it takes the
// channel's next seq like any other change.
type ReactionChange struct {
	ChannelID string
	Seq       int64
	MessageTS int64
	UserID    string
	Name      string
	Removed   bool
}

// Change is one entry of a channel's change feed as catch-up rebuilds it:
// either a message's latest state (new, edited or deleted) or a reaction
// change. Seq orders the feed.
type Change struct {
	Seq      int64
	Message  *Message        // set for message changes
	Reaction *ReactionChange // set for reaction changes
}

// Pin is a message pinned to its channel (pins.add), with who pinned it
// and when. A channel holds at most MaxPins.
type Pin struct {
	ChannelID string
	MessageTS int64
	UserID    string // who pinned it
	Created   int64  // unix seconds
	// Message is the pinned message with its reactions, when FindPins was
	// asked for it.
	Message *Message
}

// MaxPins is how many messages a channel may have pinned at once, as
// Slack long allowed. It keeps a channel's pins one short read: a page of
// history reads them all to mark the pinned messages.
const MaxPins = 100

// Token is an API token, kept only as the SHA-256 of its value.
type Token struct {
	Hash     []byte
	UserID   string // a bot's and an app's tokens belong to the bot user
	Type     string // TokenUser ("" reads as it), TokenBot, TokenApp
	Created  int64
	LastUsed int64
}

// Claim is a one-time link to set a user's password: an imported user's
// way to claim their account, or a reset. Like a token it is kept only as
// the SHA-256 of its value. A user has at most one.
type Claim struct {
	Hash    []byte
	UserID  string
	Created int64 // unix seconds
	Expires int64 // unix seconds: the claim is void from then on
	// Signup lets the user claim the account by signing up with its name
	// and email too, until Expires, while it has no password (the
	// owner's choice, off by default: docs/import.md).
	Signup bool
}

// UserClaim is what Store.ClaimUser does: set UserID's password, with the
// claim of ClaimHash (a link) or, without one, by sign-up (a person who
// signs up with an imported user's name and email: only if the user has
// no password and a claim that allows it), and open Token, the user's new
// session.
type UserClaim struct {
	UserID       string
	ClaimHash    []byte // nil: by sign-up
	Now          int64  // unix seconds: a claim that expires by then is void
	PasswordHash string
	Token        *Token
}

// Fingerprint names a token — a session — without revealing it or its
// Hash: the first 8 bytes of the token's SHA-256. A connection knows the
// session it was opened under by it, a revocation names it on the bus, and
// rate limits count by it.
type Fingerprint uint64

// FingerprintOf returns the fingerprint of a token's SHA-256 (Token.Hash);
// 0 for a shorter hash.
func FingerprintOf(hash []byte) Fingerprint {
	if len(hash) < 8 {
		return 0
	}
	var f Fingerprint
	for _, b := range hash[:8] {
		f = f<<8 | Fingerprint(b)
	}
	return f
}
