package api

import (
	"net/http"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// The methods bots call most besides posting and reading: api.test,
// team.info, users.conversations, conversations.rename, .unarchive, .kick,
// .close, reactions.get and chat.getPermalink (docs/api.md#methods).

// apiTest is Slack's api.test: it echoes its arguments (the token left
// out) in args, and with an error argument fails with that error.
func (s *Server) apiTest(c *call) (any, error) {
	echo := make(map[string]string, len(c.args.v))
	for k, v := range c.args.v {
		if k != "token" {
			echo[k] = v
		}
	}
	type answer struct {
		OK    bool              `json:"ok"`
		Error string            `json:"error,omitempty"`
		Args  map[string]string `json:"args,omitempty"`
	}
	if e := echo["error"]; e != "" {
		return answer{Error: e, Args: echo}, nil
	}
	return answer{OK: true, Args: echo}, nil
}

// wireTeam is Slack's team object as team.info shows it. confab has no
// e-mail domain nor team icons: email_domain is "" and the icon is the
// default one.
type wireTeam struct {
	confab.WireTeam
	EmailDomain string   `json:"email_domain"`
	Icon        teamIcon `json:"icon"`
}

type teamIcon struct {
	ImageDefault bool `json:"image_default"`
}

func (s *Server) teamInfo(c *call) (any, error) {
	team := c.args.str("team")
	ws, err := s.chat.TeamInfo(c.r.Context(), c.user, team)
	if err == nil && ws == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return struct {
		OK   bool     `json:"ok"`
		Team wireTeam `json:"team"`
	}{true, wireTeam{WireTeam: ws.Wire(), Icon: teamIcon{ImageDefault: true}}}, nil
}

// conversationTypes reads a types argument of conversations.list or
// users.conversations into channel kinds: comma-separated Slack types,
// public_channel when absent.
func conversationTypes(a *args) []string {
	types := a.str("types")
	if types == "" {
		types = "public_channel"
	}
	var kinds []string
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		k, found := kindOfType[t]
		if !found {
			a.fail()
			return nil
		}
		kinds = append(kinds, k)
	}
	return kinds
}

func (s *Server) usersConversations(c *call) (any, error) {
	a := c.args
	p := chat.UserChannelsParams{
		User:            a.str("user"),
		Types:           conversationTypes(a),
		ExcludeArchived: a.bool("exclude_archived"),
		Cursor:          a.str("cursor"),
		Limit:           a.limit("limit", defaultPage, maxPage),
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	views, next, err := s.chat.ListUserChannels(c.r.Context(), c.user, p)
	if err != nil {
		return nil, err
	}
	return struct {
		OK               bool                 `json:"ok"`
		Channels         []confab.WireChannel `json:"channels"`
		ResponseMetadata responseMetadata     `json:"response_metadata"`
	}{true, wireChannels(views), responseMetadata{next}}, nil
}

func (s *Server) conversationsRename(c *call) (any, error) {
	ch, name := c.args.need("channel"), c.args.need("name")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	return channelOf(s.chat.RenameChannel(c.r.Context(), c.user, ch, name))
}

func (s *Server) conversationsUnarchive(c *call) (any, error) {
	return onChannel(c, s.chat.UnarchiveChannel)
}

func (s *Server) conversationsKick(c *call) (any, error) {
	ch, user := c.args.need("channel"), c.args.need("user")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.KickFromChannel(c.r.Context(), c.user, ch, user); err != nil {
		return nil, err
	}
	return okOnly, nil
}

// conversationsClose answers as Slack does for a conversation that is
// closed already: confab keeps no open or closed state, so closing does
// nothing, and says so.
func (s *Server) conversationsClose(c *call) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.CloseConversation(c.r.Context(), c.user, ch); err != nil {
		return nil, err
	}
	return struct {
		OK            bool `json:"ok"`
		NoOp          bool `json:"no_op"`
		AlreadyClosed bool `json:"already_closed"`
	}{true, true, true}, nil
}

// messageAt reads the channel and the message's ts (timestamp, or ts;
// chat.getPermalink's message_ts) and finds the message.
func (s *Server) messageAt(c *call, tsArgs ...string) (*confab.Message, error) {
	a := c.args
	ch := a.need("channel")
	var ts string
	for _, k := range tsArgs {
		if ts = a.str(k); ts != "" {
			break
		}
	}
	if ts == "" {
		a.fail()
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.Message(c.r.Context(), c.user, ch, ts)
	if err == nil && m == nil {
		err = errMissing
	}
	return m, err
}

// reactionsGet answers the message with its reactions; with full, each
// reaction lists every user who added it, not only the first
// MaxWireReactionUsers.
func (s *Server) reactionsGet(c *call) (any, error) {
	full := c.args.bool("full")
	m, err := s.messageAt(c, "timestamp", "ts")
	if err != nil {
		return nil, err
	}
	w := m.Wire()
	if full {
		for i, r := range m.Reactions {
			w.Reactions[i].Users = r.Users
		}
	}
	return struct {
		OK      bool               `json:"ok"`
		Type    string             `json:"type"`
		Channel string             `json:"channel"`
		Message confab.WireMessage `json:"message"`
	}{true, "message", m.ChannelID, w}, nil
}

// chatGetPermalink answers the URL at which the web client opens the
// message's channel (permalink), its last part as in Slack's permalinks.
func (s *Server) chatGetPermalink(c *call) (any, error) {
	m, err := s.messageAt(c, "message_ts")
	if err != nil {
		return nil, err
	}
	return struct {
		OK        bool   `json:"ok"`
		Channel   string `json:"channel"`
		Permalink string `json:"permalink"`
	}{true, m.ChannelID, s.permalink(c.r, m.ChannelID, m.TS)}, nil
}

// permalink is the URL at which the web client opens a message:
// <scheme>://<Host>/#<channel>/p<ts without its dot>.
func (s *Server) permalink(r *http.Request, channel string, ts int64) string {
	scheme := "http://"
	if s.secure(r) {
		scheme = "https://"
	}
	return scheme + r.Host + "/#" + channel + "/p" + strings.Replace(confab.FormatTS(ts), ".", "", 1)
}
