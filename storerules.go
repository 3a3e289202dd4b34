package confab

import (
	"cmp"
	"slices"
	"time"
)

// The rules below are the ones every Store implementation applies the same
// way, whatever its database: the errors of the Store contract that only a
// store returns, what a store fills in on a record it creates, and the
// order of a message's reactions.

// Errors only a store returns.
var (
	ErrTeamNotFound = &Error{Code: ENOTFOUND, Message: "team_not_found"}
	ErrTokenTaken   = &Error{Code: ECONFLICT, Message: "token_taken"}
	// ErrNotMember is a missing membership (FindMembership,
	// UpdateMembership), unlike ErrNotInChannel (EFORBIDDEN), which is the
	// use cases' verdict on a request.
	ErrNotMember = &Error{Code: ENOTFOUND, Message: "not_in_channel"}
	// ErrTooManyEmoji: the message has MaxReactionEmoji distinct emoji
	// already, and the reaction would add another (AddReaction).
	ErrTooManyEmoji = &Error{Code: ECONFLICT, Message: "too_many_emoji"}
	// ErrTooManyReactions: the user has MaxUserReactions reactions on the
	// message already (AddReaction).
	ErrTooManyReactions = &Error{Code: ECONFLICT, Message: "too_many_reactions"}
)

// The caps on one message's reactions, Slack's: a store checks them in the
// transaction that adds a reaction, so that concurrent adders cannot pass
// them. Only current reactions count; removing one frees its place.
//
// With them a message has at most MaxReactionEmoji groups, and each user
// is in at most MaxUserReactions of them. How many users one group holds
// is bounded only by the channel's members: the Slack message object
// lists at most MaxWireReactionUsers of them (WireReaction).
const (
	MaxReactionEmoji = 50 // distinct emoji on one message: ErrTooManyEmoji
	MaxUserReactions = 23 // one user's reactions on one message: ErrTooManyReactions
	// MaxWireReactionUsers is how many users a reaction of the Slack
	// message object lists (its count is exact): with MaxReactionEmoji it
	// bounds what one message's reactions weigh on a page of history.
	MaxWireReactionUsers = 50
)

// A store creates a record from a copy readied by one of the Prepare
// functions, and hands the copy back to its caller only once it is
// written.

// PrepareWorkspace returns ws and its owner as a store creates them
// together: each with a new id if it had none, owner in ws, and ws owned
// by owner.
func PrepareWorkspace(ws Workspace, owner User) (Workspace, User) {
	if ws.ID == "" {
		ws.ID = NewID(PrefixWorkspace)
	}
	owner = PrepareUser(owner)
	owner.WorkspaceID = ws.ID
	ws.OwnerID = owner.ID
	return ws, owner
}

// PrepareUser returns u as a store creates it: with a new id if it had
// none, and its email lowercased (NormalizeEmail).
func PrepareUser(u User) User {
	if u.ID == "" {
		u.ID = NewID(PrefixUser)
	}
	u.Email = NormalizeEmail(u.Email)
	return u
}

// PrepareChannel returns c as a store creates it with members, and the
// members to add: each once, in first-seen order. c has a new id if it had
// none (D… for a DM, G… for a group DM, C… otherwise), NumMembers counts
// the members, and c has no messages yet.
func PrepareChannel(c Channel, members []string) (Channel, []string) {
	if c.ID == "" {
		switch c.Kind {
		case KindDM:
			c.ID = NewID(PrefixDM)
		case KindGroupDM:
			c.ID = NewID(PrefixGroupDM)
		default:
			c.ID = NewID(PrefixChannel)
		}
	}
	ms := UniqueIDs(members)
	c.NumMembers = len(ms)
	c.LastSeq, c.MessageCount = 0, 0
	c.IsGeneral = false // only CreateWorkspace makes one (GeneralChannel)
	return c, ms
}

// GeneralChannel returns the general channel CreateWorkspace creates with
// ws (as PrepareWorkspace returned it), its owner its one member: a public
// #general, IsGeneral.
func GeneralChannel(ws Workspace) Channel {
	c, _ := PrepareChannel(Channel{WorkspaceID: ws.ID, Kind: KindPublic, Name: "general",
		CreatedBy: ws.OwnerID, Created: ws.Created}, []string{ws.OwnerID})
	c.IsGeneral = true
	return c
}

// PrepareMessage returns m as a store posts it: a TS <= 0 becomes now,
// and m is neither edited, deleted nor replied to and has no reactions.
// Its Seq, ChangeSeq and Num are the store's to set.
func PrepareMessage(m Message, now time.Time) Message {
	if m.TS <= 0 {
		m.TS = now.UnixMicro()
	}
	m.EditedTS, m.Deleted, m.ReplyCount, m.LatestReply = 0, false, 0, 0
	m.Reactions = nil
	return m
}

// UniqueIDs returns ids without repeats, in first-seen order; never nil.
func UniqueIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// UserReaction is one user's current reaction to a message, with the seq
// of the change that made it.
type UserReaction struct {
	Name   string
	UserID string
	Seq    int64
}

// GroupReactions returns the reactions of one message in the order the
// Store contract gives them: grouped by name, groups in the order of their
// oldest reaction, users in the order they reacted. It sorts rs by Seq, and
// returns nil when rs is empty.
//
// It costs O(N log N) for the sort and O(N) for the grouping: each name
// finds its group through a map, never by scanning the groups so far.
func GroupReactions(rs []UserReaction) []Reaction {
	if len(rs) == 0 {
		return nil
	}
	slices.SortFunc(rs, func(a, b UserReaction) int { return cmp.Compare(a.Seq, b.Seq) })
	var out []Reaction
	group := make(map[string]int) // name → index in out
	for _, r := range rs {
		i, ok := group[r.Name]
		if !ok {
			i = len(out)
			group[r.Name] = i
			out = append(out, Reaction{Name: r.Name})
		}
		out[i].Users = append(out[i].Users, r.UserID)
	}
	return out
}

// PrepareImport copies an import's messages (Store.ImportMessages) with
// what the store ignores cleared, and checks their order: ErrImportOrder
// unless their ts strictly increase, ErrInvalidArgs for a ts <= 0 or a
// message of another channel.
func PrepareImport(channelID string, msgs []*Message) ([]Message, error) {
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		if m == nil || m.TS <= 0 || m.ChannelID != "" && m.ChannelID != channelID {
			return nil, ErrInvalidArgs
		}
		if i > 0 && m.TS <= msgs[i-1].TS {
			return nil, ErrImportOrder
		}
		c := *m
		c.ChannelID, c.Deleted, c.ReplyCount, c.LatestReply = channelID, false, 0, 0
		c.ClientMsgID, c.Here, c.Bot = "", nil, nil
		c.Reactions = slices.Clone(m.Reactions)
		out[i] = c
	}
	return out, nil
}

// ImportCounters are a channel's counters as an import reads and leaves
// them: its last seq and ts, and how many top-level messages it has.
type ImportCounters struct {
	LastSeq, LastTS, Count int64
}

// ThreadReplies are the replies an import brings one thread: how many,
// and the latest's ts.
type ThreadReplies struct{ N, Latest int64 }

// ImportNumbering is how an import's messages go in (NumberImport).
type ImportNumbering struct {
	Fresh   []int                    // the indexes of the messages to store, in order
	Replies map[int64]*ThreadReplies // by parent ts, what each thread gets
	Top     *Message                 // the latest top-level message stored, nil for none
}

// NumberImport numbers the messages of in (PrepareImport's) that the
// channel does not have yet (there: the ts it has among theirs) as
// Store.ImportMessages says: each takes the channel's next seq (Seq,
// ChangeSeq) and, top-level, the next Num, then each of its reactions'
// users one seq each, in order; c moves on past them. A message older
// than c.LastTS and not there is ErrImportTooOld.
func NumberImport(in []Message, there map[int64]bool, c *ImportCounters) (*ImportNumbering, error) {
	out := &ImportNumbering{Replies: map[int64]*ThreadReplies{}}
	for i := range in {
		m := &in[i]
		if there[m.TS] {
			continue // imported before
		}
		if m.TS <= c.LastTS {
			return nil, ErrImportTooOld
		}
		c.LastSeq++
		c.LastTS = m.TS
		if m.ThreadTS == 0 {
			c.Count++
			out.Top = m
		} else {
			t := out.Replies[m.ThreadTS]
			if t == nil {
				t = &ThreadReplies{}
				out.Replies[m.ThreadTS] = t
			}
			t.N++
			t.Latest = max(t.Latest, m.TS)
		}
		m.Seq, m.ChangeSeq, m.Num = c.LastSeq, c.LastSeq, c.Count
		for _, r := range m.Reactions {
			c.LastSeq += int64(len(r.Users))
		}
		out.Fresh = append(out.Fresh, i)
	}
	return out, nil
}

// ParentReplies takes from the numbering the replies of m's thread when m
// is a thread's parent in the same import, which then goes in with them
// (its replies come after it, by ts): zero otherwise, and for a parent
// taken already. What is left in Replies after every message is taken is
// for parents of earlier imports, to be updated.
func (n *ImportNumbering) ParentReplies(m *Message) ThreadReplies {
	c := n.Replies[m.TS]
	if c == nil || m.ThreadTS != 0 {
		return ThreadReplies{}
	}
	t := *c
	c.N = 0
	return t
}
