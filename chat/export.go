package chat

import (
	"context"
	"slices"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/slackexport"
)

// The export of a workspace in Slack's export format (admin.export.*,
// confab export slack): the exporter pages users, conversations, then each
// conversation's messages, as any client would, and writes the zip itself.
// Each method is the workspace owner's only and answers in the shapes of
// Slack's export (package slackexport), so that the exporter writes what
// it gets. Ids are confab's, which are Slack-shaped (U…, C…, D…, G…).

// Bounds of one page.
const (
	DefaultExportPage = 200
	MaxExportPage     = 1000
)

// exporter returns u's workspace if u is its owner: not_allowed_token_type
// for a bot, not_authorized for anyone else.
func (s *Service) exporter(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	return s.owner(ctx, u, errNotAuthorized)
}

// ExportUsers pages the caller's workspace's users by id, every one of
// them (deleted users and bots too) with their email, as users.json lists
// them. A bot user's profile has a bot_id: its app's bot's, or one made of
// its user id for a bot user of no app (an imported one), which its
// messages' bot_id repeats.
func (s *Service) ExportUsers(ctx context.Context, u *confab.User, cursor string, limit int) ([]slackexport.User, string, error) {
	ws, err := s.exporter(ctx, u)
	if err != nil {
		return nil, "", err
	}
	after, err := confab.DecodeCursor("xu", cursor)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, DefaultExportPage, MaxExportPage)
	users, err := s.store.FindUsers(ctx, confab.UserFilter{WorkspaceID: ws.ID, AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	users, next := cut(users, limit, func(u *confab.User) string { return confab.EncodeCursor("xu", u.ID) })
	var botUsers []string
	for _, x := range users {
		if x.IsBot {
			botUsers = append(botUsers, x.ID)
		}
	}
	bots, err := s.withBotsOf(ctx, botUsers)
	if err != nil {
		return nil, "", err
	}
	out := make([]slackexport.User, 0, len(users))
	for _, x := range users {
		e := slackexport.User{ID: x.ID, TeamID: ws.ID, Name: x.Name, Deleted: x.Deleted,
			RealName: x.RealName, IsBot: x.IsBot,
			Profile: slackexport.Profile{RealName: x.RealName, DisplayName: x.DisplayName, Email: x.Email,
				StatusText: x.StatusText, StatusEmoji: x.StatusEmoji}}
		if w := x.Wire(); w.TZOffset != nil {
			e.TZ, e.TZLabel, e.TZOffset = w.TZ, w.TZLabel, *w.TZOffset
		}
		if x.ID == ws.OwnerID {
			e.IsOwner, e.IsPrimaryOwner, e.IsAdmin = true, true, true
		}
		if x.IsBot {
			e.Profile.BotID = exportBotID(x.ID, bots)
		}
		out = append(out, e)
	}
	return out, next, nil
}

// exportBotID is the bot_id of bot user userID: its bot's, or B and the
// rest of its user id when it has none.
func exportBotID(userID string, bots map[string]*confab.Bot) string {
	if b := bots[userID]; b != nil {
		return b.ID
	}
	return "B" + userID[1:]
}

// ExportConversations pages the caller's workspace's conversations by id,
// those of the given kinds (all when none): public and private channels,
// DMs and group DMs, archived ones too, whether the caller is a member or
// not, each with its members, in the shape admin.import.conversations
// takes.
func (s *Service) ExportConversations(ctx context.Context, u *confab.User, kinds []string, cursor string, limit int) ([]ImportConversation, string, error) {
	ws, err := s.exporter(ctx, u)
	if err != nil {
		return nil, "", err
	}
	for _, k := range kinds {
		if !confab.IsConversationKind(k) {
			return nil, "", confab.ErrInvalidArgs
		}
	}
	after, err := confab.DecodeCursor("xc", cursor)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, DefaultExportPage, MaxExportPage)
	chans, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: ws.ID, Kinds: kinds, AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	chans, next := cut(chans, limit, func(c *confab.Channel) string { return confab.EncodeCursor("xc", c.ID) })
	out := make([]ImportConversation, 0, len(chans))
	for _, c := range chans {
		members, err := s.allMembers(ctx, c.ID)
		if err != nil {
			return nil, "", err
		}
		x := ImportConversation{Type: c.Kind, Conversation: slackexport.Conversation{
			Kind: exportKind(c.Kind), ID: c.ID, Name: c.Name, Created: c.Created, Creator: c.CreatedBy,
			IsArchived: c.Archived, IsGeneral: c.IsGeneral, Members: members,
		}}
		if c.Kind != confab.KindDM {
			x.Topic = &slackexport.Topic{Value: c.Topic.Value, Creator: c.Topic.Creator, LastSet: c.Topic.LastSet}
			x.Purpose = &slackexport.Topic{Value: c.Purpose.Value, Creator: c.Purpose.Creator, LastSet: c.Purpose.LastSet}
		}
		if c.Kind == confab.KindGroupDM {
			// Slack names a group DM after its members, and its folder so.
			if x.Name, err = s.mpimName(ctx, members); err != nil {
				return nil, "", err
			}
		}
		out = append(out, x)
	}
	return out, next, nil
}

// mpimName is the name Slack gives a group DM of these members:
// mpdm-alice--bob--carol-1.
func (s *Service) mpimName(ctx context.Context, members []string) (string, error) {
	names := make([]string, 0, len(members))
	for _, id := range members {
		u, err := s.store.FindUserByID(ctx, id)
		if err != nil {
			return "", err
		}
		names = append(names, u.Name)
	}
	slices.Sort(names)
	return "mpdm-" + strings.Join(names, "--") + "-1", nil
}

// exportKind is the manifest of a conversation of confab kind k.
func exportKind(k string) slackexport.Kind {
	switch k {
	case confab.KindPrivate:
		return slackexport.Private
	case confab.KindDM:
		return slackexport.DM
	case confab.KindGroupDM:
		return slackexport.MPIM
	}
	return slackexport.Public
}

// allMembers lists a channel's members by id.
func (s *Service) allMembers(ctx context.Context, channelID string) ([]string, error) {
	out := []string{}
	after := ""
	for {
		ms, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: channelID, AfterUserID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
		if len(ms) < 1000 {
			return out, nil
		}
		after = ms[len(ms)-1]
	}
}

// ExportMessages pages a conversation of the caller's workspace by seq,
// oldest first: every message, thread replies among them, as a day file
// holds it (see exportMessage). Deleted messages are left out, but for a
// deleted thread parent whose replies are not: it comes as Slack's
// tombstone, so that its replies keep their thread.
func (s *Service) ExportMessages(ctx context.Context, u *confab.User, channel, cursor string, limit int) ([]slackexport.Message, string, error) {
	ws, err := s.exporter(ctx, u)
	if err != nil {
		return nil, "", err
	}
	if !confab.IsConversationID(channel) {
		return nil, "", confab.ErrChannelNotFound
	}
	c, err := s.store.FindChannelByID(ctx, channel)
	if err != nil {
		return nil, "", err
	}
	if c.WorkspaceID != ws.ID {
		return nil, "", confab.ErrChannelNotFound
	}
	after, err := confab.DecodeSeqCursor("xm", cursor)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, DefaultExportPage, MaxExportPage)
	msgs, err := s.store.FindMessages(ctx, confab.MessageFilter{ChannelID: c.ID, After: after, IncludeDeleted: true, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	msgs, next := cut(msgs, limit, func(m *confab.Message) string { return confab.EncodeSeqCursor("xm", m.Seq) })
	posters := make([]string, 0, len(msgs))
	for _, m := range msgs {
		posters = append(posters, m.UserID)
	}
	bots, err := s.exportBots(ctx, posters)
	if err != nil {
		return nil, "", err
	}
	out := make([]slackexport.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.Deleted && m.ReplyCount == 0 {
			continue
		}
		x := exportMessage(c, m, bots)
		if m.ReplyCount > 0 {
			if err := s.exportThread(ctx, c.ID, m, &x); err != nil {
				return nil, "", err
			}
		}
		out = append(out, x)
	}
	return out, next, nil
}

// exportBots returns the bots of those of users that are bot users, by
// user id: an app's bot, or for a bot user of no app (an imported one) a
// bot of its own id (exportBotID), so that its messages carry the bot_id
// its entry of users.json has.
func (s *Service) exportBots(ctx context.Context, users []string) (map[string]*confab.Bot, error) {
	bots, err := s.withBotsOf(ctx, users)
	if err != nil {
		return nil, err
	}
	if bots == nil {
		bots = map[string]*confab.Bot{}
	}
	seen := map[string]bool{}
	for _, id := range users {
		if bots[id] != nil || seen[id] || id == "" {
			continue
		}
		seen[id] = true
		u, err := s.store.FindUserByID(ctx, id)
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if u.IsBot {
			bots[id] = &confab.Bot{ID: exportBotID(id, nil), UserID: id, Name: u.Name, Deleted: u.Deleted}
		}
	}
	return bots, nil
}

// exportMessage is m as a day file of Slack's export holds it: its ts,
// user and text; a system subtype as Slack's (group_join and the like in a
// private channel); a reply's thread_ts; reactions with every user;
// edited; a bot's message as bot_message with its username and bot_id;
// blocks and attachments as stored.
func exportMessage(c *confab.Channel, m *confab.Message, bots map[string]*confab.Bot) slackexport.Message {
	w := m.Wire()
	x := slackexport.Message{Type: "message", Subtype: w.Subtype, User: m.UserID, Text: m.Text,
		TS: w.TS, ThreadTS: w.ThreadTS, Blocks: w.Blocks, Attachments: w.Attachments,
		Username: m.Username, Inviter: w.Inviter}
	if w.Topic != nil {
		x.Topic = *w.Topic
	}
	if w.Purpose != nil {
		x.Purpose = *w.Purpose
	}
	if c.Kind == confab.KindPrivate && confab.IsSystemSubtype(m.Subtype) {
		x.Subtype = "group_" + m.Subtype[len("channel_"):]
	}
	if w.Edited != nil {
		x.Edited = &slackexport.Edited{User: w.Edited.User, TS: w.Edited.TS}
	}
	for _, r := range m.Reactions {
		x.Reactions = append(x.Reactions, slackexport.Reaction{Name: r.Name, Users: r.Users, Count: len(r.Users)})
	}
	if b := bots[m.UserID]; b != nil {
		x.BotID = b.ID
		if b.AppID != "" { // an app's bot, which Slack's exports describe
			x.BotProfile = &slackexport.BotProfile{ID: b.ID, AppID: b.AppID, Name: b.Name, Deleted: b.Deleted, TeamID: c.WorkspaceID}
		}
	}
	if m.Username != "" && x.Subtype == "" {
		x.Subtype = "bot_message"
	}
	if m.Deleted {
		// Slack's tombstone, by the poster, whom users.json has (Slack's
		// own say USLACKBOT).
		x = slackexport.Message{Type: "message", Subtype: "tombstone", User: m.UserID, Text: "This message was deleted.", TS: w.TS}
	}
	return x
}

// exportThread fills a thread parent's summary: reply_count, the replies
// (who, when), reply_users and latest_reply. It reads the thread's live
// replies in pages.
func (s *Service) exportThread(ctx context.Context, channelID string, m *confab.Message, x *slackexport.Message) error {
	x.ThreadTS = x.TS
	after := int64(0)
	for {
		rs, err := s.store.FindMessages(ctx, confab.MessageFilter{ChannelID: channelID, ThreadTS: m.TS, After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, r := range rs {
			after = r.Seq
			if r.TS == m.TS {
				continue
			}
			x.Replies = append(x.Replies, slackexport.Reply{User: r.UserID, TS: confab.FormatTS(r.TS)})
			if !slices.Contains(x.ReplyUsers, r.UserID) {
				x.ReplyUsers = append(x.ReplyUsers, r.UserID)
			}
			x.LatestReply = confab.FormatTS(r.TS)
		}
		if len(rs) < 1000 {
			break
		}
	}
	x.ReplyCount, x.ReplyUsersCount = len(x.Replies), len(x.ReplyUsers)
	return nil
}
