package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// method is one Web API method.
type method struct {
	auth bool // needs a token; c.user is set
	// appToken: takes an app-level token (xapp-), and no other unless auth
	// is set too (then either); with an app token c.user is the app's bot
	// user.
	appToken bool
	ipLimit  bool // rate-limited per client IP (the password methods)
	fn       func(s *Server, c *call) (any, error)
}

// methods are the Web API methods by name (docs/api.md#methods).
var methods = map[string]method{
	"auth.signup": {ipLimit: true, fn: (*Server).authSignup},
	"auth.login":  {ipLimit: true, fn: (*Server).authLogin},
	"auth.claim":  {ipLimit: true, fn: (*Server).authClaim},
	"auth.test":   {auth: true, fn: (*Server).authTest},
	"auth.revoke": {auth: true, appToken: true, fn: (*Server).authRevoke},
	"api.test":    {fn: (*Server).apiTest},
	"team.info":   {auth: true, fn: (*Server).teamInfo},

	"conversations.create":     {auth: true, fn: (*Server).conversationsCreate},
	"conversations.join":       {auth: true, fn: (*Server).conversationsJoin},
	"conversations.leave":      {auth: true, fn: (*Server).conversationsLeave},
	"conversations.invite":     {auth: true, fn: (*Server).conversationsInvite},
	"conversations.open":       {auth: true, fn: (*Server).conversationsOpen},
	"conversations.list":       {auth: true, fn: (*Server).conversationsList},
	"conversations.info":       {auth: true, fn: (*Server).conversationsInfo},
	"conversations.members":    {auth: true, fn: (*Server).conversationsMembers},
	"conversations.history":    {auth: true, fn: (*Server).conversationsHistory},
	"conversations.typing":     {auth: true, fn: (*Server).conversationsTyping},
	"conversations.replies":    {auth: true, fn: (*Server).conversationsReplies},
	"conversations.mark":       {auth: true, fn: (*Server).conversationsMark},
	"conversations.setTopic":   {auth: true, fn: (*Server).conversationsSetTopic},
	"conversations.setPurpose": {auth: true, fn: (*Server).conversationsSetPurpose},
	"conversations.archive":    {auth: true, fn: (*Server).conversationsArchive},
	"conversations.setPrefs":   {auth: true, fn: (*Server).conversationsSetPrefs},
	"conversations.rename":     {auth: true, fn: (*Server).conversationsRename},
	"conversations.unarchive":  {auth: true, fn: (*Server).conversationsUnarchive},
	"conversations.kick":       {auth: true, fn: (*Server).conversationsKick},
	"conversations.close":      {auth: true, fn: (*Server).conversationsClose},

	"chat.postMessage": {auth: true, fn: (*Server).chatPostMessage},
	"chat.update":      {auth: true, fn: (*Server).chatUpdate},
	"chat.delete":      {auth: true, fn: (*Server).chatDelete},
	"reactions.add":    {auth: true, fn: (*Server).reactionsAdd},
	"reactions.remove": {auth: true, fn: (*Server).reactionsRemove},
	"reactions.get":    {auth: true, fn: (*Server).reactionsGet},

	"chat.getPermalink":  {auth: true, fn: (*Server).chatGetPermalink},
	"chat.meMessage":     {auth: true, fn: (*Server).chatMeMessage},
	"chat.postEphemeral": {auth: true, fn: (*Server).chatPostEphemeral},

	"pins.add":    {auth: true, fn: (*Server).pinsAdd},
	"pins.remove": {auth: true, fn: (*Server).pinsRemove},
	"pins.list":   {auth: true, fn: (*Server).pinsList},

	"chat.scheduleMessage":        {auth: true, fn: (*Server).chatScheduleMessage},
	"chat.scheduledMessages.list": {auth: true, fn: (*Server).chatScheduledMessagesList},
	"chat.deleteScheduledMessage": {auth: true, fn: (*Server).chatDeleteScheduledMessage},

	"search.messages": {auth: true, fn: (*Server).searchMessages},

	"users.list":        {auth: true, fn: (*Server).usersList},
	"users.search":      {auth: true, fn: (*Server).usersSearch},
	"users.info":        {auth: true, fn: (*Server).usersInfo},
	"users.getPresence": {auth: true, fn: (*Server).usersGetPresence},
	"users.setPresence": {auth: true, fn: (*Server).usersSetPresence},

	"users.lookupByEmail": {auth: true, fn: (*Server).usersLookupByEmail},
	"users.profile.get":   {auth: true, fn: (*Server).usersProfileGet},
	"users.profile.set":   {auth: true, fn: (*Server).usersProfileSet},

	"users.conversations": {auth: true, fn: (*Server).usersConversations},

	"client.boot":     {auth: true, fn: (*Server).clientBoot},
	"client.catchup":  {auth: true, fn: (*Server).clientCatchup},
	"client.counts":   {auth: true, fn: (*Server).clientCounts},
	"rtm.connect":     {auth: true, fn: (*Server).rtmConnect},
	"rtm.presenceSub": {auth: true, fn: (*Server).rtmPresenceSub},

	"apps.manifest.create":  {auth: true, fn: (*Server).appsManifestCreate},
	"apps.manifest.update":  {auth: true, fn: (*Server).appsManifestUpdate},
	"apps.manifest.delete":  {auth: true, fn: (*Server).appsManifestDelete},
	"apps.manifest.export":  {auth: true, fn: (*Server).appsManifestExport},
	"bots.info":             {auth: true, fn: (*Server).botsInfo},
	"apps.connections.open": {appToken: true, fn: (*Server).appsConnectionsOpen},

	// confab's own: the import of a Slack export (import.go).
	"admin.import.users":         {auth: true, fn: (*Server).adminImportUsers},
	"admin.import.conversations": {auth: true, fn: (*Server).adminImportConversations},
	"admin.import.messages":      {auth: true, fn: (*Server).adminImportMessages},
	"admin.import.finish":        {auth: true, fn: (*Server).adminImportFinish},
	"admin.import.claims":        {auth: true, fn: (*Server).adminImportClaims},

	// confab's own: the export in Slack's format (export.go).
	"admin.export.users":         {auth: true, fn: (*Server).adminExportUsers},
	"admin.export.conversations": {auth: true, fn: (*Server).adminExportConversations},
	"admin.export.messages":      {auth: true, fn: (*Server).adminExportMessages},
}

// Page sizes: default and maximum of each list.
const (
	defaultPage  = 100
	maxPage      = 1000
	defaultUsers = 200
)

// Answer shapes. OK is always true: errors are written by Server.write.

type okAnswer struct {
	OK bool `json:"ok"`
}

var okOnly = okAnswer{OK: true}

type responseMetadata struct {
	NextCursor string `json:"next_cursor"`
}

type sessionAnswer struct {
	OK     bool   `json:"ok"`
	Token  string `json:"token"`
	UserID string `json:"user_id"`
	TeamID string `json:"team_id"`
	User   string `json:"user"`
	Team   string `json:"team"`
}

type channelAnswer struct {
	OK               bool               `json:"ok"`
	Channel          confab.WireChannel `json:"channel"`
	AlreadyInChannel bool               `json:"already_in_channel,omitempty"`
	// Warning and ResponseMetadata are Slack's warnings ("already_in_channel").
	Warning          string            `json:"warning,omitempty"`
	ResponseMetadata *warningsMetadata `json:"response_metadata,omitempty"`
}

type warningsMetadata struct {
	Warnings []string `json:"warnings"`
}

type messageAnswer struct {
	OK      bool               `json:"ok"`
	Channel string             `json:"channel"`
	TS      string             `json:"ts"`
	Text    *string            `json:"text,omitempty"`
	Message confab.WireMessage `json:"message"`
}

type pageAnswer struct {
	OK               bool                 `json:"ok"`
	Messages         []confab.WireMessage `json:"messages"`
	HasMore          bool                 `json:"has_more"`
	PinCount         int                  `json:"pin_count"`
	ResponseMetadata responseMetadata     `json:"response_metadata"`
}

// errMissing is the internal error of a service that answered neither a
// result nor an error: a bug, answered 500 rather than a nil dereference.
var errMissing = errors.New("api: chat service returned no result and no error")

// Accounts.

func sessionOf(ss *chat.Session, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if ss == nil {
		return nil, errMissing
	}
	a := sessionAnswer{OK: true, Token: ss.Token}
	if ss.User != nil {
		a.UserID, a.User = ss.User.ID, ss.User.Name
	}
	if ss.Workspace != nil {
		a.TeamID, a.Team = ss.Workspace.ID, ss.Workspace.Name
	}
	return a, nil
}

func (s *Server) authSignup(c *call) (any, error) {
	a := c.args
	p := chat.SignupParams{Team: a.need("team"), Name: a.need("name"), Password: a.need("password"), RealName: a.str("real_name"),
		Email: a.str("email"), TZ: a.str("tz")}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return sessionOf(s.chat.Signup(c.r.Context(), p))
}

func (s *Server) authLogin(c *call) (any, error) {
	a := c.args
	team, name, password := a.need("team"), a.need("name"), a.need("password")
	if err := a.Err(); err != nil {
		return nil, err
	}
	return sessionOf(s.chat.Login(c.r.Context(), team, name, password))
}

func (s *Server) authTest(c *call) (any, error) {
	ws, err := s.chat.Workspace(c.r.Context(), c.user)
	if err == nil && ws == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	botID, err := s.botID(c)
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	if s.secure(c.r) {
		scheme = "https://"
	}
	a := struct {
		OK     bool   `json:"ok"`
		URL    string `json:"url"`
		Team   string `json:"team"`
		User   string `json:"user"`
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
		// A bot token's: its bot, and Slack's install flag.
		BotID               string `json:"bot_id,omitempty"`
		IsEnterpriseInstall *bool  `json:"is_enterprise_install,omitempty"`
	}{OK: true, URL: scheme + c.r.Host + "/", Team: ws.Name, User: c.user.Name, TeamID: ws.ID, UserID: c.user.ID, BotID: botID}
	if botID != "" {
		a.IsEnterpriseInstall = new(bool)
	}
	return a, nil
}

func (s *Server) authRevoke(c *call) (any, error) {
	test := c.args.bool("test") // Slack: test mode does not revoke
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if !test {
		if err := s.chat.Revoke(c.r.Context(), c.user, c.token); err != nil {
			return nil, err
		}
	}
	return struct {
		OK      bool `json:"ok"`
		Revoked bool `json:"revoked"`
	}{true, !test}, nil
}

// Conversations.

func channelOf(v *confab.ChannelView, err error) (any, error) {
	if err == nil && (v == nil || v.Channel == nil) {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return channelAnswer{OK: true, Channel: v.Wire()}, nil
}

func (s *Server) conversationsCreate(c *call) (any, error) {
	a := c.args
	name, private := a.need("name"), a.bool("is_private")
	if err := a.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.CreateChannel(c.r.Context(), c.user, name, private))
}

func (s *Server) conversationsJoin(c *call) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	v, already, err := s.chat.JoinChannel(c.r.Context(), c.user, ch)
	if err == nil && (v == nil || v.Channel == nil) {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	a := channelAnswer{OK: true, Channel: v.Wire(), AlreadyInChannel: already}
	if already {
		a.Warning, a.ResponseMetadata = "already_in_channel", &warningsMetadata{[]string{"already_in_channel"}}
	}
	return a, nil
}

func (s *Server) conversationsLeave(c *call) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	notIn, err := s.chat.LeaveChannel(c.r.Context(), c.user, ch)
	if err != nil {
		return nil, err
	}
	return struct {
		OK           bool `json:"ok"`
		NotInChannel bool `json:"not_in_channel,omitempty"`
	}{true, notIn}, nil
}

func (s *Server) conversationsInvite(c *call) (any, error) {
	a := c.args
	ch, users := a.need("channel"), a.ids("users")
	if len(users) == 0 {
		a.fail()
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.InviteToChannel(c.r.Context(), c.user, ch, users))
}

// conversationsOpen opens the DM or group DM of users; like Slack, it also
// takes the id of a conversation already open (channel) instead.
func (s *Server) conversationsOpen(c *call) (any, error) {
	users, ch := c.args.ids("users"), c.args.str("channel")
	if len(users) == 0 && ch == "" {
		c.args.fail()
	}
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	var (
		v       *confab.ChannelView
		already bool
		err     error
	)
	if len(users) > 0 {
		v, already, err = s.chat.OpenConversation(c.r.Context(), c.user, users)
	} else {
		v, err = s.chat.ChannelInfo(c.r.Context(), c.user, ch)
		already = true
	}
	if err == nil && (v == nil || v.Channel == nil) {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return struct {
		OK          bool               `json:"ok"`
		NoOp        bool               `json:"no_op"`
		AlreadyOpen bool               `json:"already_open"`
		Channel     confab.WireChannel `json:"channel"`
	}{true, already, already, v.Wire()}, nil
}

// kindOfType maps conversations.list's types to channel kinds.
var kindOfType = map[string]string{
	"public_channel":  confab.KindPublic,
	"private_channel": confab.KindPrivate,
	"im":              confab.KindDM,
	"mpim":            confab.KindGroupDM,
}

func (s *Server) conversationsList(c *call) (any, error) {
	a := c.args
	p := chat.ListChannelsParams{
		ExcludeArchived: a.bool("exclude_archived"),
		Cursor:          a.str("cursor"),
		Limit:           a.limit("limit", defaultPage, maxPage),
	}
	types := a.str("types")
	if types == "" {
		types = "public_channel"
	}
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		k, found := kindOfType[t]
		if !found {
			a.fail()
			break
		}
		p.Types = append(p.Types, k)
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	views, next, err := s.chat.ListChannels(c.r.Context(), c.user, p)
	if err != nil {
		return nil, err
	}
	return struct {
		OK               bool                 `json:"ok"`
		Channels         []confab.WireChannel `json:"channels"`
		ResponseMetadata responseMetadata     `json:"response_metadata"`
	}{true, wireChannels(views), responseMetadata{next}}, nil
}

func wireChannels(views []*confab.ChannelView) []confab.WireChannel {
	out := make([]confab.WireChannel, 0, len(views))
	for _, v := range views {
		if v == nil || v.Channel == nil {
			continue
		}
		out = append(out, v.Wire())
	}
	return out
}

func (s *Server) conversationsInfo(c *call) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.ChannelInfo(c.r.Context(), c.user, ch))
}

func (s *Server) conversationsMembers(c *call) (any, error) {
	a := c.args
	ch, cursor, limit := a.need("channel"), a.str("cursor"), a.limit("limit", defaultPage, maxPage)
	if err := a.Err(); err != nil {
		return nil, err
	}
	ids, next, err := s.chat.ChannelMembers(c.r.Context(), c.user, ch, cursor, limit)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	return struct {
		OK               bool             `json:"ok"`
		Members          []string         `json:"members"`
		ResponseMetadata responseMetadata `json:"response_metadata"`
	}{true, ids, responseMetadata{next}}, nil
}

func pageOf(p *chat.Page, err error) (any, error) {
	if err == nil && p == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	msgs := make([]confab.WireMessage, 0, len(p.Messages))
	for _, m := range p.Messages {
		if m != nil {
			w := m.Wire()
			if p.Pinned[m.TS] {
				w.PinnedTo = []string{m.ChannelID}
			}
			msgs = append(msgs, w)
		}
	}
	return pageAnswer{OK: true, Messages: msgs, HasMore: p.HasMore, PinCount: p.PinCount, ResponseMetadata: responseMetadata{p.NextCursor}}, nil
}

func (s *Server) conversationsHistory(c *call) (any, error) {
	a := c.args
	p := chat.HistoryParams{
		Channel:   a.need("channel"),
		Cursor:    a.str("cursor"),
		Limit:     a.limit("limit", defaultPage, maxPage),
		Latest:    a.str("latest"),
		Oldest:    a.str("oldest"),
		Inclusive: a.bool("inclusive"),
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	page, err := s.chat.History(c.r.Context(), c.user, p)
	if err != nil || page == nil || page.Memo == nil {
		return pageOf(page, err)
	}
	// A page shared with other readers (a hot channel) is encoded once for
	// all of them.
	v := page.Memo.Do(func() any {
		res, err := pageOf(page, nil)
		if err != nil {
			return err
		}
		b, err := marshal(res)
		if err != nil {
			return err
		}
		return encoded(b)
	})
	if err, ok := v.(error); ok {
		return nil, err
	}
	return v, nil
}

func (s *Server) conversationsReplies(c *call) (any, error) {
	a := c.args
	p := chat.RepliesParams{
		Channel: a.need("channel"),
		TS:      a.need("ts"),
		Cursor:  a.str("cursor"),
		Limit:   a.limit("limit", defaultPage, maxPage),
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return pageOf(s.chat.Replies(c.r.Context(), c.user, p))
}

func (s *Server) conversationsMark(c *call) (any, error) {
	ch, ts := c.args.need("channel"), c.args.need("ts")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.MarkRead(c.r.Context(), c.user, ch, ts); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) conversationsSetTopic(c *call) (any, error) {
	ch, topic := c.args.need("channel"), c.args.str("topic")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.SetTopic(c.r.Context(), c.user, ch, topic))
}

func (s *Server) conversationsSetPurpose(c *call) (any, error) {
	ch, purpose := c.args.need("channel"), c.args.str("purpose")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.SetPurpose(c.r.Context(), c.user, ch, purpose))
}

func (s *Server) conversationsArchive(c *call) (any, error) {
	return onChannel(c, s.chat.ArchiveChannel)
}

// onChannel answers a method whose one argument is channel and whose
// answer is ok alone: do acts as the caller on it.
func onChannel(c *call, do func(ctx context.Context, u *confab.User, channel string) error) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := do(c.r.Context(), c.user, ch); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) conversationsSetPrefs(c *call) (any, error) {
	a := c.args
	ch := a.need("channel")
	p := chat.PrefsUpdate{IsMuted: a.optBool("is_muted"), IsStarred: a.optBool("is_starred")}
	if err := a.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.SetPrefs(c.r.Context(), c.user, ch, p); err != nil {
		return nil, err
	}
	return okOnly, nil
}

// Messages.

// chatPostMessage posts a message. Besides text it takes what apps send
// (blocks, attachments, metadata, username, icon_emoji, icon_url,
// reply_broadcast: docs/api.md#chatpostmessage); unfurl_links,
// unfurl_media, mrkdwn, parse, link_names and as_user are accepted and
// have no effect (a boolean among them must still parse).
func (s *Server) chatPostMessage(c *call) (any, error) {
	a := c.args
	p := postParams(a)
	if err := a.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.PostMessage(c.r.Context(), c.user, p)
	if err == nil && m == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return messageAnswer{OK: true, Channel: m.ChannelID, TS: confab.FormatTS(m.TS), Message: m.Wire()}, nil
}

// postParams reads chat.postMessage's arguments (chat.scheduleMessage's
// too), the ignored ones included.
func postParams(a *args) chat.PostParams {
	p := chat.PostParams{Channel: a.need("channel"), Text: a.str("text"), ThreadTS: a.str("thread_ts"), ClientMsgID: a.str("client_msg_id"),
		App: confab.AppFields{
			Blocks: a.str("blocks"), Attachments: a.str("attachments"), Metadata: a.str("metadata"),
			Username: a.str("username"), IconEmoji: a.str("icon_emoji"), IconURL: a.str("icon_url"),
		},
		ReplyBroadcast: a.bool("reply_broadcast"),
	}
	ignoredMessageArgs(a)
	return p
}

// chatUpdate edits a message: text, blocks, attachments and metadata each
// replace the message's when present and are kept when absent.
func (s *Server) chatUpdate(c *call) (any, error) {
	a := c.args
	p := chat.UpdateParams{Channel: a.need("channel"), TS: a.need("ts"),
		Text: a.opt("text"), Blocks: a.opt("blocks"), Attachments: a.opt("attachments"), Metadata: a.opt("metadata")}
	ignoredMessageArgs(a)
	if err := a.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.UpdateMessage(c.r.Context(), c.user, p)
	if err == nil && m == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return messageAnswer{OK: true, Channel: m.ChannelID, TS: confab.FormatTS(m.TS), Text: &m.Text, Message: m.Wire()}, nil
}

func (s *Server) chatDelete(c *call) (any, error) {
	ch, ts := c.args.need("channel"), c.args.need("ts")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.DeleteMessage(c.r.Context(), c.user, ch, ts)
	if err == nil && m == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return struct {
		OK      bool   `json:"ok"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}{true, m.ChannelID, confab.FormatTS(m.TS)}, nil
}

// ignoredMessageArgs reads the arguments of chat.postMessage and
// chat.update that confab accepts and ignores (it neither unfurls, parses
// nor links names, and a token always posts as its user), so that a
// boolean among them that does not parse is still invalid_arguments.
func ignoredMessageArgs(a *args) {
	for _, k := range []string{"unfurl_links", "unfurl_media", "mrkdwn", "link_names", "as_user"} {
		a.optBool(k)
	}
	_ = a.str("parse")
}

// reaction reads reactions.add/remove's arguments: channel, timestamp (or
// ts) and name (surrounding colons dropped, as in ":thumbsup:").
func reaction(a *args) (ch, ts, name string) {
	ch = a.need("channel")
	ts = a.str("timestamp")
	if ts == "" {
		ts = a.need("ts")
	}
	name = strings.Trim(a.need("name"), ":")
	return ch, ts, name
}

func (s *Server) reactionsAdd(c *call) (any, error) {
	ch, ts, name := reaction(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.AddReaction(c.r.Context(), c.user, ch, ts, name); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) reactionsRemove(c *call) (any, error) {
	ch, ts, name := reaction(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.RemoveReaction(c.r.Context(), c.user, ch, ts, name); err != nil {
		return nil, err
	}
	return okOnly, nil
}

// Users and presence.

func (s *Server) usersList(c *call) (any, error) {
	cursor, limit := c.args.str("cursor"), c.args.limit("limit", defaultUsers, maxPage)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	users, next, err := s.chat.ListUsers(c.r.Context(), c.user, cursor, limit)
	if err != nil {
		return nil, err
	}
	members := wireUsers(users)
	return struct {
		OK               bool              `json:"ok"`
		Members          []confab.WireUser `json:"members"`
		ResponseMetadata responseMetadata  `json:"response_metadata"`
	}{true, members, responseMetadata{next}}, nil
}

// usersSearch answers users.search (confab's: Slack's Web API has no user
// search): the users a query finds, in users.list's shape, so that a
// client completes a name without the whole list.
func (s *Server) usersSearch(c *call) (any, error) {
	a := c.args
	query, channel, count := a.str("query"), a.str("channel"), a.limit("count", 20, 100)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(query) == "" {
		return nil, errInvalidArgs
	}
	users, err := s.chat.SearchUsers(c.r.Context(), c.user, query, channel, count)
	if err != nil {
		return nil, err
	}
	members := wireUsers(users)
	return struct {
		OK      bool              `json:"ok"`
		Members []confab.WireUser `json:"members"`
	}{true, members}, nil
}

// wireUsers is users in their wire shape, a nil entry left out.
func wireUsers(users []*confab.User) []confab.WireUser {
	out := make([]confab.WireUser, 0, len(users))
	for _, u := range users {
		if u != nil {
			out = append(out, u.Wire())
		}
	}
	return out
}

type userAnswer struct {
	OK   bool            `json:"ok"`
	User confab.WireUser `json:"user"`
}

func (s *Server) usersInfo(c *call) (any, error) {
	id := c.args.need("user")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	u, err := s.chat.UserInfo(c.r.Context(), c.user, id)
	if err == nil && u == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	w := u.Wire()
	// An owner's tools (confab import slack) ask users.info whether a
	// token is an owner's or an admin's, as they would Slack.
	ws, err := s.chat.Workspace(c.r.Context(), c.user)
	if err != nil {
		return nil, err
	}
	if ws != nil && ws.OwnerID == u.ID {
		w.IsAdmin, w.IsOwner, w.IsPrimaryOwner = true, true, true
	}
	return userAnswer{OK: true, User: w}, nil
}

func (s *Server) usersLookupByEmail(c *call) (any, error) {
	email := c.args.need("email")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	u, err := s.chat.LookupUserByEmail(c.r.Context(), c.user, email)
	if err == nil && u == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return userAnswer{OK: true, User: u.Wire()}, nil
}

type profileAnswer struct {
	OK      bool               `json:"ok"`
	Profile confab.WireProfile `json:"profile"`
}

// usersProfileGet answers a user's profile, the caller's by default.
// include_labels is accepted and ignored: confab has no custom fields.
func (s *Server) usersProfileGet(c *call) (any, error) {
	id := c.args.str("user")
	c.args.optBool("include_labels")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if id == "" {
		id = c.user.ID
	}
	u, err := s.chat.UserInfo(c.r.Context(), c.user, id)
	if err == nil && u == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return profileAnswer{OK: true, Profile: u.Profile()}, nil
}

func (s *Server) usersProfileSet(c *call) (any, error) {
	a := c.args
	p := chat.ProfileParams{User: a.str("user"), Profile: a.str("profile"), Name: a.str("name"), Value: a.str("value")}
	u, err := s.chat.SetProfile(c.r.Context(), c.user, p)
	if err == nil && u == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return profileAnswer{OK: true, Profile: u.Profile()}, nil
}

func (s *Server) usersGetPresence(c *call) (any, error) {
	id := c.args.str("user")
	if id == "" {
		id = c.user.ID // Slack: the caller's own presence
	}
	p, err := s.chat.GetPresence(c.r.Context(), c.user, id)
	if err != nil {
		return nil, err
	}
	return struct {
		OK       bool   `json:"ok"`
		Presence string `json:"presence"`
	}{true, p}, nil
}

// conversationsTyping (confab) is the RTM typing frame over HTTP, for a
// client whose stream cannot carry what it sends (Server-Sent Events): the
// members of the conversation get user_typing.
func (s *Server) conversationsTyping(c *call) (any, error) {
	return onChannel(c, s.chat.Typing)
}

func (s *Server) usersSetPresence(c *call) (any, error) {
	p := c.args.need("presence")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.SetPresence(c.r.Context(), c.user, p); err != nil {
		return nil, err
	}
	return okOnly, nil
}

// Boot, catch-up and RTM.

// clientBoot answers client.boot. With history_channel it also carries
// that conversation's newest page (history_limit messages), as
// conversations.history would answer it, read after the conversations: a
// client opening it saves a round trip before its first screen. An error
// of that page (a conversation not found, not the caller's) is the page's
// answer, not the boot's.
func (s *Server) clientBoot(c *call) (any, error) {
	hc := c.args.str("history_channel")
	hl := c.args.limit("history_limit", defaultPage, maxPage)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	b, err := s.chat.Boot(c.r.Context(), c.user)
	if err == nil && b == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	var history any
	if hc != "" {
		page, err := pageOf(s.chat.History(c.r.Context(), c.user, chat.HistoryParams{Channel: hc, Limit: hl}))
		status, code := statusOf(err)
		switch {
		case status != http.StatusOK:
			return nil, err // the boot's failure too: asked again
		case err != nil:
			page = errorAnswer{Error: code}
		}
		history = page
	}
	self := c.user
	if b.Self != nil {
		self = b.Self
	}
	var team confab.WireTeam
	if b.Workspace != nil {
		team = b.Workspace.Wire()
	}
	return struct {
		OK       bool                 `json:"ok"`
		Self     confab.WireUser      `json:"self"`
		Team     confab.WireTeam      `json:"team"`
		Channels []confab.WireChannel `json:"channels"`
		History  any                  `json:"history,omitempty"`
	}{true, self.Wire(), team, wireChannels(b.Channels), history}, nil
}

// countsEntry is one conversation of client.counts.
type countsEntry struct {
	ID           string `json:"id"`
	LastRead     string `json:"last_read"`
	Latest       string `json:"latest"`
	Updated      string `json:"updated"`
	MentionCount int64  `json:"mention_count"`
	HasUnreads   bool   `json:"has_unreads"`
}

// clientCounts answers Slack's client.counts: the caller's conversations
// by kind, each with whether it has unread messages and how many of them
// are for the caller (mentions; every unread message of a DM or group
// DM). confab has no thread subscriptions: threads is always empty. It
// costs what client.boot costs, whose reads it shares.
func (s *Server) clientCounts(c *call) (any, error) {
	b, err := s.chat.Boot(c.r.Context(), c.user)
	if err == nil && b == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	type threads struct {
		HasUnreads   bool  `json:"has_unreads"`
		MentionCount int64 `json:"mention_count"`
	}
	out := struct {
		OK       bool          `json:"ok"`
		Threads  threads       `json:"threads"`
		Channels []countsEntry `json:"channels"`
		MPIMs    []countsEntry `json:"mpims"`
		IMs      []countsEntry `json:"ims"`
	}{OK: true, Channels: []countsEntry{}, MPIMs: []countsEntry{}, IMs: []countsEntry{}}
	for _, v := range b.Channels {
		w := v.Wire()
		e := countsEntry{ID: w.ID, LastRead: w.LastRead}
		if v.Latest != nil {
			e.Latest = confab.FormatTS(v.Latest.TS)
			e.Updated = e.Latest
		}
		if w.Mentions != nil {
			e.MentionCount = *w.Mentions
		}
		e.HasUnreads = w.UnreadCount != nil && *w.UnreadCount > 0
		switch v.Channel.Kind {
		case confab.KindDM:
			out.IMs = append(out.IMs, e)
		case confab.KindGroupDM:
			out.MPIMs = append(out.MPIMs, e)
		default:
			out.Channels = append(out.Channels, e)
		}
	}
	return out, nil
}

func (s *Server) clientCatchup(c *call) (any, error) {
	a := c.args
	cps, limit := a.checkpoints("checkpoints"), a.limit("limit", defaultPage, maxPage)
	if err := a.Err(); err != nil {
		return nil, err
	}
	chs, err := s.chat.CatchUp(c.r.Context(), c.user, cps, limit)
	if err != nil {
		return nil, err
	}
	// {"ok":true,"channels":[…]}, each channel encoded once for all the
	// callers that share its catch-up (a storm of reconnecting clients),
	// then the caller's own mention_count spliced before its closing brace.
	b := []byte(`{"ok":true,"channels":[`)
	for i, cc := range chs {
		if cc.Events == nil {
			cc.Events = []json.RawMessage{}
		}
		enc := func() any {
			b, err := marshal(cc)
			if err != nil {
				return err
			}
			return bytes.TrimSuffix(b, []byte("\n"))
		}
		var v any
		if cc.Memo != nil {
			v = cc.Memo.Do(enc)
		} else {
			v = enc()
		}
		if err, ok := v.(error); ok {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		shared := v.([]byte)
		b = append(b, shared[:len(shared)-1]...)
		b = append(b, `,"mention_count":`...)
		b = strconv.AppendInt(b, cc.MentionCount, 10)
		b = append(b, '}')
	}
	return encoded(append(b, "]}\n"...)), nil
}

func (s *Server) rtmConnect(c *call) (any, error) {
	ws, err := s.chat.Workspace(c.r.Context(), c.user)
	if err == nil && ws == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	t, err := s.chat.IssueTicket(c.r.Context(), c.user, c.token)
	if err == nil && t == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	u := s.rtmURL(c.r, t.Value)
	if t.GatewayURL != "" {
		u = strings.TrimSuffix(t.GatewayURL, "/") + "/rtm/" + t.Value
	}
	type self struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	// dial_after_ms is the ticket's slot when many clients connect at
	// once (a gateway went): a client dials url only after that long.
	return struct {
		OK          bool            `json:"ok"`
		URL         string          `json:"url"`
		SSEURL      string          `json:"sse_url,omitempty"`
		PollURL     string          `json:"poll_url,omitempty"`
		Self        self            `json:"self"`
		Team        confab.WireTeam `json:"team"`
		DialAfterMS int64           `json:"dial_after_ms,omitempty"`
	}{true, u, sseURL(u), pollURL(u), self{c.user.ID, c.user.Name}, ws.Wire(), t.Wait.Milliseconds()}, nil
}

// rtmPresenceSub (confab) is the RTM presence_sub frame over HTTP, for a
// stream that carries nothing from its client (Server-Sent Events): the
// caller's stream, named by the id its hello gave, watches the presence
// of ids (all it watched before is replaced; none: nobody's).
func (s *Server) rtmPresenceSub(c *call) (any, error) {
	stream, ids := c.args.need("stream"), c.args.ids("ids")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	if err := s.chat.SubscribePresence(c.r.Context(), c.user, stream, ids); err != nil {
		return nil, err
	}
	return okOnly, nil
}

// sseURL is the Server-Sent Events stream of the same gateway and ticket
// as the WebSocket URL u (ws://host/…/rtm/T → http://host/…/rtm/sse/T): the
// ticket opens whichever is dialled first. "" when u is not such a URL.
func sseURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch p.Scheme {
	case "ws":
		p.Scheme = "http"
	case "wss":
		p.Scheme = "https"
	default:
		return ""
	}
	dir, ticket := path.Split(p.Path)
	if !strings.HasSuffix(dir, "/rtm/") || ticket == "" {
		return ""
	}
	p.Path, p.RawPath = dir+"sse/"+ticket, ""
	return p.String()
}

var _ http.Handler = (*Server)(nil)
