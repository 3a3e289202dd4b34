package chat

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/slackexport"
)

// The import of a Slack export (admin.import.*, confab import slack): the
// importer reads the export and sends it here in batches, as any client
// would; each method is the workspace owner's only and idempotent, so that
// an import killed at any point and run again ends with everything once.
//
// Idempotence needs no table of its own: what an import creates gets an id
// derived from the workspace and the Slack id (importID), so that running
// it again finds it by id, and the id is written with the thing itself,
// in the store's transaction that creates it. Messages are found by their
// original ts (Store.ImportMessages).

// Bounds of one call.
const (
	MaxImportUsers         = 1000
	MaxImportConversations = 1000
	MaxImportMessages      = 1000
)

var errImportTooMany = &confab.Error{Code: confab.EINVALID, Message: "too_many_items"}

// importID is the confab id that an import of the Slack object sourceID
// into workspaceID gives it: 12 base32 characters of a hash, as NewID's
// are random, so that the same import finds the same id.
func importID(prefix byte, workspaceID, sourceID string) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	sum := sha256.Sum256([]byte("confab slack import\x00" + workspaceID + "\x00" + string(prefix) + sourceID))
	out := make([]byte, 1, 13)
	out[0] = prefix
	for _, v := range sum[:12] {
		out = append(out, alphabet[v&31])
	}
	return string(out)
}

// importer returns u's workspace if u is its owner: not_allowed_token_type
// for a bot, not_authorized for anyone else.
func (s *Service) importer(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	return s.owner(ctx, u, errNotAuthorized)
}

// ImportedUsers is admin.import.users's answer.
type ImportedUsers struct {
	IDs     map[string]string // Slack id → confab id
	Renamed map[string]string // Slack id → the name given, its own being another's
	// Matched are the Slack ids mapped to a user of the workspace that
	// has their email (the owner, who was in Slack too, say).
	Matched []string
	Created int
}

// ImportUsers creates the users of an export that the workspace does not
// have yet: without a password (nobody can sign in as them until the
// account is claimed), bots as bot users, deleted ones deleted. A user
// whose email is a user's of the workspace is that user.
func (s *Service) ImportUsers(ctx context.Context, u *confab.User, users []slackexport.User) (*ImportedUsers, error) {
	ws, err := s.importer(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(users) > MaxImportUsers {
		return nil, errImportTooMany
	}
	out := &ImportedUsers{IDs: map[string]string{}, Renamed: map[string]string{}}
	for _, x := range users {
		if x.ID == "" {
			return nil, confab.ErrInvalidArgs
		}
		id := importID(confab.PrefixUser, ws.ID, x.ID)
		switch got, err := s.store.FindUserByID(ctx, id); {
		case err == nil && got.WorkspaceID == ws.ID:
			out.IDs[x.ID] = id
			continue
		case err != nil && confab.ErrorCode(err) != confab.ENOTFOUND:
			return nil, err
		}
		email := strings.ToLower(x.Profile.Email)
		if email != "" && !confab.ValidEmail(email) {
			email = ""
		}
		if email != "" {
			switch got, err := s.store.FindUserByEmail(ctx, ws.ID, email); {
			case err == nil:
				out.IDs[x.ID] = got.ID
				out.Matched = append(out.Matched, x.ID)
				continue
			case confab.ErrorCode(err) != confab.ENOTFOUND:
				return nil, err
			}
		}
		real := cutText(firstOf(x.Profile.RealName, x.RealName))
		nu := &confab.User{ID: id, WorkspaceID: ws.ID, RealName: real,
			DisplayName: cutText(x.Profile.DisplayName), IsBot: x.IsBot, Deleted: x.Deleted,
			Created: s.now().Unix(), Email: email}
		if confab.ValidTZ(x.TZ) {
			nu.TZ = x.TZ
		}
		base := importName(x.Name, x.ID, ".")
		for n := 1; ; n++ {
			nu.Name = suffixed(base, n)
			err = s.store.CreateUser(ctx, nu)
			if confab.ErrorMessage(err) != "name_taken" || n == 100 {
				break
			}
		}
		if confab.ErrorMessage(err) == "email_taken" {
			nu.Email = "" // taken since we looked: keep the user, not the email
			err = s.store.CreateUser(ctx, nu)
		}
		if err != nil {
			return nil, fmt.Errorf("import user %s: %w", x.ID, err)
		}
		if nu.Name != x.Name {
			out.Renamed[x.ID] = nu.Name
		}
		out.IDs[x.ID] = id
		out.Created++
	}
	return out, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cutText keeps a name within what a profile field takes.
func cutText(s string) string {
	if confab.ValidateTopic(s) == nil {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && confab.ValidateTopic(string(r)) != nil {
		r = r[:len(r)*3/4]
	}
	return string(r)
}

// importName makes a Slack name a valid confab name: lowercased, any
// character but letters, digits, '-', '_' and those of extra ('.' for a
// user's) as '_', and the Slack id when nothing is left.
func importName(name, id, extra string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || strings.IndexByte(extra, c) >= 0) {
			b[i] = '_'
		}
	}
	s := strings.Trim(string(b), "_")
	if s == "" {
		s = strings.ToLower(id)
	}
	if len(s) > confab.MaxNameLen-4 {
		s = s[:confab.MaxNameLen-4]
	}
	return s
}

// suffixed is name for n 1, else name-n.
func suffixed(name string, n int) string {
	if n == 1 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, n)
}

// ImportConversation is a conversation of an export as admin.import.
// conversations takes it: slackexport's Conversation with its kind, its
// users (creator, members, who set the topic and purpose) already confab
// ids.
type ImportConversation struct {
	slackexport.Conversation
	Type string `json:"type"` // a confab kind: public, private, dm, group_dm
}

// ImportedConversations is admin.import.conversations's answer.
type ImportedConversations struct {
	IDs     map[string]string // Slack id → confab id
	Renamed map[string]string // Slack id → the name given, its own being another channel's
	Created int
}

// ImportConversations creates an export's conversations the workspace does
// not have yet, with their members (joined at the conversation's
// creation, no join line, no event but the store's log), topic, purpose
// and archived state; the export's general channel is the workspace's.
// Running it again adds missing members and sets the archived state, so
// that an interrupted run ends the same.
func (s *Service) ImportConversations(ctx context.Context, u *confab.User, convs []ImportConversation) (*ImportedConversations, error) {
	ws, err := s.importer(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(convs) > MaxImportConversations {
		return nil, errImportTooMany
	}
	known, err := s.workspaceUserIDs(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	out := &ImportedConversations{IDs: map[string]string{}, Renamed: map[string]string{}}
	for _, x := range convs {
		if x.ID == "" || !confab.IsConversationKind(x.Type) {
			return nil, confab.ErrInvalidArgs
		}
		var members []string
		for _, m := range x.Members {
			if known[m] && !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		creator := x.Creator
		if !known[creator] {
			creator = u.ID
		}
		text := func(t *slackexport.Topic) confab.Text {
			if t == nil {
				return confab.Text{}
			}
			c := t.Creator
			if !known[c] {
				c = ""
			}
			return confab.Text{Value: cutText(t.Value), Creator: c, LastSet: t.LastSet}
		}
		c := &confab.Channel{WorkspaceID: ws.ID, Kind: x.Type, CreatedBy: creator, Created: x.Created,
			Topic: text(x.Topic), Purpose: text(x.Purpose), Archived: x.IsArchived}
		if c.Created <= 0 {
			c.Created = s.now().Unix()
		}
		created := false // by this call, with its members
		switch {
		case x.IsGeneral && x.Type == confab.KindPublic:
			g, err := s.generalChannel(ctx, ws.ID)
			if err != nil {
				return nil, err
			}
			c.ID = g.ID
			upd := confab.ChannelUpdate{}
			if g.Topic.Value == "" && c.Topic.Value != "" {
				upd.Topic = &c.Topic
			}
			if g.Purpose.Value == "" && c.Purpose.Value != "" {
				upd.Purpose = &c.Purpose
			}
			if upd.Topic != nil || upd.Purpose != nil {
				if _, err := s.store.UpdateChannel(ctx, g.ID, upd); err != nil {
					return nil, err
				}
			}
			c.Archived = false // nobody archives the general channel
		case c.IsDirect():
			if x.Type == confab.KindDM && len(members) != 2 || x.Type == confab.KindGroupDM && len(members) < 2 {
				return nil, &confab.Error{Code: confab.EINVALID, Message: "invalid_members"}
			}
			prefix := byte(confab.PrefixDM)
			if x.Type == confab.KindGroupDM {
				prefix = confab.PrefixGroupDM
			}
			c.ID = importID(prefix, ws.ID, x.ID)
			c.Key = strings.Join(slices.Sorted(slices.Values(members)), ",")
			c.Archived = false
			if _, err := s.store.FindChannelByID(ctx, c.ID); err == nil {
				break
			}
			switch err := s.store.CreateChannel(ctx, c, members); {
			case err == nil:
				out.Created++
				created = true
			case confab.ErrorMessage(err) == "name_taken":
				// The workspace has that DM already: its history joins it.
				got, err := s.store.FindChannelByKey(ctx, ws.ID, c.Key)
				if err != nil {
					return nil, err
				}
				c.ID = got.ID
			default:
				return nil, err
			}
		default:
			c.ID = importID(confab.PrefixChannel, ws.ID, x.ID)
			got, err := s.store.FindChannelByID(ctx, c.ID)
			if err == nil {
				c.Name = got.Name
				break
			} else if confab.ErrorCode(err) != confab.ENOTFOUND {
				return nil, err
			}
			base := importName(x.Name, x.ID, "")
			for n := 1; ; n++ {
				c.Name = suffixed(base, n)
				err = s.store.CreateChannel(ctx, c, members)
				if confab.ErrorMessage(err) != "name_taken" || n == 100 {
					break
				}
			}
			if err != nil {
				return nil, fmt.Errorf("import conversation %s: %w", x.ID, err)
			}
			out.Created++
			created = true
		}
		if c.Name != "" && c.Name != x.Name {
			out.Renamed[x.ID] = c.Name
		}
		// A run interrupted after the create (or the general channel):
		// the members and the archived state it has not set yet. A
		// conversation created just now has its members.
		if err := s.addImportMembers(ctx, c, members, created); err != nil {
			return nil, err
		}
		if c.Archived {
			got, err := s.store.FindChannelByID(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			if !got.Archived {
				if _, err := s.store.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Archived: &c.Archived}); err != nil {
					return nil, err
				}
			}
		}
		out.IDs[x.ID] = c.ID
	}
	return out, nil
}

// addImportMembers adds those of members c lacks, unless it was created
// with them: one look for those it has, then a write per member missing
// (on PostgreSQL a write is a commit, and the general channel of a large
// export has thousands).
func (s *Service) addImportMembers(ctx context.Context, c *confab.Channel, members []string, created bool) error {
	if created || len(members) == 0 {
		return nil
	}
	ids, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID, UserIDs: members, Limit: len(members)})
	if err != nil {
		return err
	}
	has := make(map[string]bool, len(ids))
	for _, id := range ids {
		has[id] = true
	}
	for _, m := range members {
		if has[m] {
			continue
		}
		if _, err := s.store.AddMember(ctx, c.ID, m, c.Created); err != nil {
			return err
		}
	}
	return nil
}

// generalChannel finds a workspace's general channel.
func (s *Service) generalChannel(ctx context.Context, workspaceID string) (*confab.Channel, error) {
	after := ""
	for {
		cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: workspaceID,
			Kinds: []string{confab.KindPublic}, AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.IsGeneral {
				return c, nil
			}
		}
		if len(cs) < 1000 {
			return nil, confab.ErrChannelNotFound
		}
		after = cs[len(cs)-1].ID
	}
}

// workspaceUserIDs returns the ids of a workspace's users.
func (s *Service) workspaceUserIDs(ctx context.Context, workspaceID string) (map[string]bool, error) {
	out := map[string]bool{}
	after := ""
	for {
		us, err := s.store.FindUsers(ctx, confab.UserFilter{WorkspaceID: workspaceID, AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out[u.ID] = true
		}
		if len(us) < 1000 {
			return out, nil
		}
		after = us[len(us)-1].ID
	}
}

// ImportedMessages is admin.import.messages's answer.
type ImportedMessages struct {
	Created int // stored by this call
	Skipped int // there already: imported before
}

// ImportMessages stores a batch of an export's messages, in ts order, into
// a conversation of the caller's workspace (Store.ImportMessages), their
// users, reactions' users and mentions already confab ids. Each keeps its
// ts; a system subtype (joins, leaves, topic, purpose) becomes confab's;
// a bot's message keeps the bot's name as its username; each file is a
// line of the text, "(file: NAME)". Nothing is published: FinishImport
// tells the clients to refresh at the end.
func (s *Service) ImportMessages(ctx context.Context, u *confab.User, channel string, msgs []slackexport.Message) (*ImportedMessages, error) {
	ws, err := s.importer(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(msgs) > MaxImportMessages {
		return nil, errImportTooMany
	}
	if !confab.IsConversationID(channel) {
		return nil, confab.ErrChannelNotFound
	}
	c, err := s.store.FindChannelByID(ctx, channel)
	if err != nil {
		return nil, err
	}
	if c.WorkspaceID != ws.ID {
		return nil, confab.ErrChannelNotFound
	}
	users := map[string]bool{}
	isUser := func(id string) (bool, error) {
		if ok, seen := users[id]; seen {
			return ok, nil
		}
		ok := false
		if confab.ValidID(id, confab.PrefixUser) {
			got, err := s.store.FindUserByID(ctx, id)
			switch {
			case err == nil:
				ok = got.WorkspaceID == ws.ID
			case confab.ErrorCode(err) != confab.ENOTFOUND:
				return false, err
			}
		}
		users[id] = ok
		return ok, nil
	}
	out := make([]*confab.Message, 0, len(msgs))
	for i := range msgs {
		m, err := importMessage(&msgs[i], isUser)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	n, err := s.store.ImportMessages(ctx, c.ID, out)
	if err != nil {
		return nil, err
	}
	return &ImportedMessages{Created: n, Skipped: len(out) - n}, nil
}

var (
	errImportUser = &confab.Error{Code: confab.EINVALID, Message: "user_not_found"}
	errImportTS   = &confab.Error{Code: confab.EINVALID, Message: "invalid_ts"}
)

// importMessage makes an export's message a confab message.
func importMessage(x *slackexport.Message, isUser func(string) (bool, error)) (*confab.Message, error) {
	ts, err := slackexport.ParseTS(x.TS)
	if err != nil {
		return nil, errImportTS
	}
	m := &confab.Message{TS: ts, UserID: x.User, Text: x.Text}
	if ok, err := isUser(x.User); err != nil {
		return nil, err
	} else if !ok {
		return nil, errImportUser
	}
	if x.IsReply() {
		if m.ThreadTS, err = slackexport.ParseTS(x.ThreadTS); err != nil || m.ThreadTS >= ts {
			return nil, errImportTS
		}
	}
	if x.Edited != nil {
		if e, err := slackexport.ParseTS(x.Edited.TS); err == nil {
			m.EditedTS = e
		}
	}
	switch x.Subtype {
	case "channel_join", "group_join":
		m.Subtype = confab.SubtypeChannelJoin
	case "channel_leave", "group_leave":
		m.Subtype = confab.SubtypeChannelLeave
	case "channel_topic", "group_topic":
		m.Subtype = confab.SubtypeChannelTopic
	case "channel_purpose", "group_purpose":
		m.Subtype = confab.SubtypeChannelPurpose
	case confab.SubtypeMeMessage:
		m.Subtype = confab.SubtypeMeMessage
	case "thread_broadcast":
		m.Broadcast = m.ThreadTS != 0
	}
	if x.IsBot() {
		m.Username = x.Username
		if m.Username == "" && x.BotProfile != nil {
			m.Username = x.BotProfile.Name
		}
		m.Username = cutText(m.Username)
	}
	// Blocks and attachments are kept as apps' are; what confab would
	// refuse from an app is left out (blocks before attachments), the
	// text, their fallback, kept.
	for _, f := range []confab.AppFields{
		{Blocks: string(x.Blocks), Attachments: string(x.Attachments)},
		{Blocks: string(x.Blocks)},
		{Attachments: string(x.Attachments)},
	} {
		if f, err := confab.ValidateAppFields(f); err == nil {
			m.Blocks, m.Attachments = f.Blocks, f.Attachments
			break
		}
	}
	for _, f := range x.Files {
		name := firstOf(f.Name, f.Title)
		switch {
		case f.Mode == "tombstone":
			name = "a file since deleted"
		case name == "":
			name = f.ID
		}
		if m.Text != "" {
			m.Text += "\n"
		}
		m.Text += "(file: " + name + ")"
	}
	for _, r := range x.Reactions {
		if !confab.ValidReactionName(r.Name) {
			continue
		}
		var who []string
		for _, id := range r.Users {
			if ok, err := isUser(id); err != nil {
				return nil, err
			} else if ok && !slices.Contains(who, id) {
				who = append(who, id)
			}
		}
		if len(who) > 0 {
			m.Reactions = append(m.Reactions, confab.Reaction{Name: r.Name, Users: who})
		}
	}
	return m, nil
}

// FinishImport tells every client of the workspace that history was
// imported: one import_finished event on each user's topic, after which a
// client reloads what it shows (client.boot and the open conversation's
// history). The messages were not published one by one.
func (s *Service) FinishImport(ctx context.Context, u *confab.User) error {
	ws, err := s.importer(ctx, u)
	if err != nil {
		return err
	}
	ids, err := s.workspaceUserIDs(ctx, ws.ID)
	if err != nil {
		return err
	}
	frame := confab.ImportFinishedEvent()
	for id := range ids {
		s.deliver(confab.UserTopic(ws.ID, id), frame)
	}
	return nil
}
