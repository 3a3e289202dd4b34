package chat

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab"
)

// maxClientMsgID bounds client_msg_id (Slack clients send a UUID).
const maxClientMsgID = 64

// PostMessage stores a message and only then publishes it. The answer
// means the message is durably saved; if the store fails nothing is
// published. A repeat with the same client_msg_id in the same channel
// returns the original message and publishes nothing.
//
// A message needs text, blocks or attachments ("no_text"); the app fields
// are checked by confab.ValidateAppFields and stored as it returns them.
func (s *Service) PostMessage(ctx context.Context, u *confab.User, p PostParams) (*confab.Message, error) {
	c, m, err := s.preparePost(ctx, u, p)
	if err != nil {
		return nil, err
	}
	bot := m.Bot
	if m.Here, err = s.reachHere(ctx, c, m.Text, m.Blocks); err != nil {
		return nil, err
	}
	var created bool
	err = s.writeContent(c, func() (int64, []byte, error) {
		var err error
		if created, err = s.store.CreateMessage(ctx, m); err != nil || !created {
			return m.Seq, nil, err // a repeat: the original, published before
		}
		return m.Seq, confab.MessageEvent(m), nil
	})
	m.Bot = bot // a repeat's original, too
	if err != nil {
		return nil, err
	}
	if created {
		s.metrics.posted.Inc()
	}
	return m, nil
}

// preparePost is chat.postMessage's validation, shared by every way of
// posting one (chat.scheduleMessage too): it checks p, resolves its
// channel and thread, authorizes u to post there, and returns the message
// as it would be stored now (with its Bot when u is a bot user).
func (s *Service) preparePost(ctx context.Context, u *confab.User, p PostParams) (*grant, *confab.Message, error) {
	app, err := confab.ValidateAppFields(p.App)
	if err != nil {
		return nil, nil, err
	}
	if err := validateContent(p.Text, app); err != nil {
		return nil, nil, err
	}
	if len(p.ClientMsgID) > maxClientMsgID || !utf8.ValidString(p.ClientMsgID) || strings.ContainsAny(p.ClientMsgID, "\x00\n") {
		return nil, nil, errInvalidClientID
	}
	channel, err := s.postTarget(ctx, u, p.Channel)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.authorize(ctx, u, channel, actionPost)
	if err != nil {
		return nil, nil, err
	}
	m := &confab.Message{
		ChannelID: c.ID, UserID: u.ID, Text: p.Text, ClientMsgID: p.ClientMsgID,
		TS:     s.now().UnixMicro(),
		Blocks: app.Blocks, Attachments: app.Attachments, Metadata: app.Metadata,
		Username: app.Username, IconEmoji: app.IconEmoji, IconURL: app.IconURL,
	}
	if p.ThreadTS != "" {
		if m.ThreadTS, err = s.threadParent(ctx, c.ID, p.ThreadTS); err != nil {
			return nil, nil, err
		}
		m.Broadcast = p.ReplyBroadcast
	}
	if u.IsBot {
		if m.Bot, err = s.botOfUser(ctx, u.ID); err != nil {
			return nil, nil, err
		}
	}
	return c, m, nil
}

// validateContent checks a message's text with its app fields (as
// stored): text, blocks or attachments must show something ("no_text"),
// and text that is there is checked as any text.
func validateContent(text string, app confab.AppFields) error {
	if !confab.HasContent(text, app) {
		return confab.ErrNoText
	}
	if strings.TrimSpace(text) == "" {
		if !utf8.ValidString(text) {
			return confab.ErrInvalidArgs
		}
		return nil
	}
	return confab.ValidateText(text)
}

// postTarget resolves chat.postMessage's channel to a conversation id: a
// user's id is the caller's DM with them, opened if need be (as
// conversations.open does); "#name" or a plain channel name is that
// channel of the caller's workspace. Anything else is taken as an id.
// What the caller may not see is "channel_not_found", as for an id.
func (s *Service) postTarget(ctx context.Context, u *confab.User, channel string) (string, error) {
	name, named := strings.CutPrefix(channel, "#")
	switch {
	case !named && channel != "" && channel[0] == confab.PrefixUser:
		v, _, err := s.OpenConversation(ctx, u, []string{channel})
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			return "", confab.ErrChannelNotFound // no such user, in Slack's words
		} else if err != nil {
			return "", err
		}
		return v.Channel.ID, nil
	case named || confab.ValidChannelName(channel):
		if !confab.ValidChannelName(name) {
			return "", confab.ErrChannelNotFound
		}
		cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: u.WorkspaceID, Name: name, Limit: 1})
		if err != nil {
			return "", err
		}
		if len(cs) == 0 {
			return "", confab.ErrChannelNotFound
		}
		return cs[0].ID, nil
	}
	return channel, nil
}

// threadParent resolves thread_ts to the ts of the thread's parent: a reply
// to a reply joins the parent's thread, as in Slack.
func (s *Service) threadParent(ctx context.Context, channelID, threadTS string) (int64, error) {
	ts, err := confab.ParseTS(threadTS)
	if err != nil {
		return 0, errInvalidTS
	}
	parent, err := s.store.FindMessage(ctx, channelID, ts)
	if confab.ErrorCode(err) == confab.ENOTFOUND || (err == nil && parent.Deleted) {
		return 0, errThreadNotFound
	} else if err != nil {
		return 0, err
	}
	if parent.ThreadTS != 0 {
		return parent.ThreadTS, nil
	}
	return parent.TS, nil
}

// message authorizes act on a message and loads it: a live (not deleted)
// message of the channel.
func (s *Service) message(ctx context.Context, u *confab.User, channel, ts string, act action) (*grant, *confab.Message, error) {
	tsv, err := confab.ParseTS(ts)
	if err != nil {
		return nil, nil, confab.ErrMessageNotFound
	}
	c, err := s.authorize(ctx, u, channel, act)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.FindMessage(ctx, c.ID, tsv)
	if err != nil {
		return nil, nil, err
	}
	if m.Deleted {
		return nil, nil, confab.ErrMessageNotFound
	}
	return c, m, nil
}

// UpdateMessage edits the caller's own message: what p sets is replaced,
// the rest kept. An update that sets none of text, blocks and
// attachments, or that leaves the message with none of them, is
// "no_text".
func (s *Service) UpdateMessage(ctx context.Context, u *confab.User, p UpdateParams) (*confab.Message, error) {
	if p.Text == nil && p.Blocks == nil && p.Attachments == nil {
		return nil, confab.ErrNoText
	}
	var upd confab.MessageUpdate
	upd.Text = p.Text
	norm := func(v *string, f func(string) (string, error)) (*string, error) {
		if v == nil {
			return nil, nil
		}
		n, err := f(*v)
		return &n, err
	}
	var err error
	if upd.Blocks, err = norm(p.Blocks, confab.NormalizeBlocks); err != nil {
		return nil, err
	}
	if upd.Attachments, err = norm(p.Attachments, confab.NormalizeAttachments); err != nil {
		return nil, err
	}
	if upd.Metadata, err = norm(p.Metadata, confab.NormalizeMetadata); err != nil {
		return nil, err
	}
	c, m, err := s.message(ctx, u, p.Channel, p.TS, actionEdit)
	if err != nil {
		return nil, err
	}
	if m.UserID != u.ID || confab.IsSystemSubtype(m.Subtype) {
		return nil, errCantUpdate // a join or topic line is the server's
	}
	// The message as the update leaves it must be one that could be posted.
	text := m.Text
	after := confab.AppFields{Blocks: m.Blocks, Attachments: m.Attachments, Metadata: m.Metadata}
	for dst, src := range map[*string]*string{&text: upd.Text, &after.Blocks: upd.Blocks, &after.Attachments: upd.Attachments, &after.Metadata: upd.Metadata} {
		if src != nil {
			*dst = *src
		}
	}
	if len(after.Blocks)+len(after.Attachments)+len(after.Metadata) > confab.MaxAppJSONBytes {
		return nil, confab.ErrMsgTooLong
	}
	if err := validateContent(text, after); err != nil {
		return nil, err
	}
	bot, err := s.botOfUser(ctx, m.UserID) // the edit shows its poster's bot
	if err != nil {
		return nil, err
	}
	if upd.Text != nil || upd.Blocks != nil {
		if upd.Here, err = s.reachHere(ctx, c, text, after.Blocks); err != nil {
			return nil, err
		}
	}
	err = s.writeContent(c, func() (int64, []byte, error) {
		var err error
		if m, err = s.store.UpdateMessage(ctx, c.ID, m.TS, upd, s.now().UnixMicro()); err != nil {
			return 0, nil, err
		}
		m.Bot = bot
		return m.ChangeSeq, confab.MessageChangedEvent(m), nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DeleteMessage deletes a message of the caller's, or any message if the
// caller owns the workspace. It leaves a tombstone so that catch-up can tell
// clients.
func (s *Service) DeleteMessage(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error) {
	c, m, err := s.message(ctx, u, channel, ts, actionDelete)
	if err != nil {
		return nil, err
	}
	if m.UserID != u.ID {
		ws, err := s.workspace(ctx, u.WorkspaceID)
		if err != nil {
			return nil, err
		}
		if ws.OwnerID != u.ID {
			return nil, errCantDelete
		}
	}
	err = s.writeContent(c, func() (int64, []byte, error) {
		var err error
		if m, err = s.store.DeleteMessage(ctx, c.ID, m.TS); err != nil {
			return 0, nil, err
		}
		return m.ChangeSeq, confab.MessageDeletedEvent(m), nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// AddReaction adds the caller's reaction to a message.
func (s *Service) AddReaction(ctx context.Context, u *confab.User, channel, ts, name string) error {
	return s.react(ctx, u, channel, ts, name, true)
}

// RemoveReaction removes the caller's reaction from a message.
func (s *Service) RemoveReaction(ctx context.Context, u *confab.User, channel, ts, name string) error {
	return s.react(ctx, u, channel, ts, name, false)
}

func (s *Service) react(ctx context.Context, u *confab.User, channel, ts, name string, add bool) error {
	name = strings.Trim(name, ":")
	if !confab.ValidReactionName(name) {
		return errInvalidReaction
	}
	// Not s.message: the store finds the message itself (message_not_found),
	// and reading it here would read all its reactions for every one added.
	tsv, err := confab.ParseTS(ts)
	if err != nil {
		return confab.ErrMessageNotFound
	}
	c, err := s.authorize(ctx, u, channel, actionReact)
	if err != nil {
		return err
	}
	return s.writeContent(c, func() (int64, []byte, error) {
		var rc *confab.ReactionChange
		if add {
			rc, err = s.store.AddReaction(ctx, c.ID, tsv, u.ID, name)
		} else {
			rc, err = s.store.RemoveReaction(ctx, c.ID, tsv, u.ID, name)
		}
		if err != nil {
			return 0, nil, err
		}
		return rc.Seq, confab.ReactionEvent(rc), nil
	})
}

// writeContent runs write, a change of channel c's content, which returns
// the seq it committed at and its event. The event is published in seq
// order with the channel's other changes (outbox.go); the store has told
// the version cache the seq (invalidate.go). A write that fails publishes
// nothing.
func (s *Service) writeContent(c *grant, write func() (seq int64, frame []byte, err error)) error {
	r := s.out.reserve(confab.ChannelTopic(c.WorkspaceID, c.ID))
	defer r.cancel()
	seq, frame, err := write()
	if err != nil {
		return err
	}
	if frame != nil {
		r.publish(seq, s.marshal(confab.Publication{Op: confab.OpDeliver, Frame: frame}))
	}
	return nil
}

// History pages a channel's top-level messages newest first. Every page is
// one range scan on (channel_id, seq): the oldest page costs what the newest
// does.
//
// With oldest and no latest, the page is the messages closest to oldest
// (still newest first), and its cursor continues towards the newest: as
// Slack documents it, "allowing you to page forward through history". A
// client opening a conversation at a message reads the page up to it
// (latest, inclusive) and the pages after it this way.
//
// Reads of the same page that overlap in time share one store read
// (coalescer, coalesce.go); each caller is still authorized
// on its own first. The Page is the caller's, but Page.Messages and the
// messages in it may be shared with other callers: they are read-only.
func (s *Service) History(ctx context.Context, u *confab.User, p HistoryParams) (*Page, error) {
	forward := p.Oldest != "" && p.Latest == ""
	kind := "h" // the cursor holds the exclusive upper bound on seq
	if forward {
		kind = "o" // the exclusive lower bound
	}
	before, err := confab.DecodeSeqCursor(kind, p.Cursor)
	if err != nil {
		return nil, err
	}
	c, err := s.authorize(ctx, u, p.Channel, actionRead)
	if err != nil {
		return nil, err
	}
	version, err := s.version(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	limit := clampLimit(p.Limit, 100, 1000)
	f := confab.MessageFilter{ChannelID: c.ID, TopLevel: true, Desc: !forward, Limit: limit + 1, Before: before}
	var after int64 // forward: the cursor's bound
	if forward {
		f.Before, after = 0, before
	}
	if p.Latest != "" {
		ts, err := confab.ParseTS(p.Latest)
		if err != nil {
			return nil, errInvalidTS
		}
		seq, exact, err := s.store.SeqAtTS(ctx, c.ID, ts)
		if err != nil {
			return nil, err
		}
		bound := seq + 1 // messages with ts <= latest
		if exact && !p.Inclusive {
			bound = seq
		}
		if f.Before == 0 || bound < f.Before {
			f.Before = bound
		}
	}
	if p.Oldest != "" {
		ts, err := confab.ParseTS(p.Oldest)
		if err != nil {
			return nil, errInvalidTS
		}
		seq, exact, err := s.store.SeqAtTS(ctx, c.ID, ts)
		if err != nil {
			return nil, err
		}
		f.After = seq // messages with ts > oldest
		if exact && p.Inclusive {
			f.After = seq - 1
		}
		f.After = max(f.After, after)
	}
	if f.Before != 0 && f.Before <= f.After+1 {
		pinned, err := s.pinned(ctx, c.ID, version)
		if err != nil {
			return nil, err
		}
		return &Page{Pinned: pinned, PinCount: len(pinned)}, nil
	}
	pinned, err := s.pinned(ctx, c.ID, version)
	if err != nil {
		return nil, err
	}
	msgs, memo, err := s.reads.findMessages(ctx, s.store, version, f)
	if err != nil {
		return nil, err
	}
	if msgs, err = s.withBots(ctx, msgs); err != nil {
		return nil, err
	}
	page := newPage(msgs, limit, kind)
	page.Memo = memo
	page.Pinned, page.PinCount = pinned, len(pinned)
	// The slice may be shared: an append by one caller must not write into
	// what another caller reads.
	page.Messages = slices.Clip(page.Messages)
	if forward {
		// Read oldest first; answered newest first, in a copy of its own.
		page.Messages = slices.Clone(page.Messages)
		slices.Reverse(page.Messages)
	}
	return page, nil
}

// Replies pages a thread oldest first: the parent, then its replies. ts
// may be the parent's or any reply's, as in Slack.
func (s *Service) Replies(ctx context.Context, u *confab.User, p RepliesParams) (*Page, error) {
	after, err := confab.DecodeSeqCursor("r", p.Cursor)
	if err != nil {
		return nil, err
	}
	ts, err := confab.ParseTS(p.TS)
	if err != nil {
		return nil, errThreadNotFound
	}
	c, err := s.authorize(ctx, u, p.Channel, actionRead)
	if err != nil {
		return nil, err
	}
	parent, err := s.store.FindMessage(ctx, c.ID, ts)
	if err == nil && parent.ThreadTS != 0 {
		parent, err = s.store.FindMessage(ctx, c.ID, parent.ThreadTS)
	}
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, errThreadNotFound
	} else if err != nil {
		return nil, err
	}
	limit := clampLimit(p.Limit, 100, 1000)
	msgs, err := s.store.FindMessages(ctx, confab.MessageFilter{
		ChannelID: c.ID, ThreadTS: parent.TS, After: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, err
	}
	if msgs, err = s.withBots(ctx, msgs); err != nil {
		return nil, err
	}
	version, err := s.version(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	pinned, err := s.pinned(ctx, c.ID, version)
	if err != nil {
		return nil, err
	}
	page := newPage(msgs, limit, "r")
	page.Pinned, page.PinCount = pinned, len(pinned)
	return page, nil
}

// pinned returns the ts of a channel's pinned messages at version (or
// later): nothing to read for a channel that never had a pin, one read
// shared with the page's other readers otherwise (coalescer.findPins).
// The map is read-only.
func (s *Service) pinned(ctx context.Context, channelID string, version chanVersion) (map[int64]bool, error) {
	if version.pins == 0 {
		return nil, nil
	}
	pins, err := s.reads.findPins(ctx, s.store, channelID, version.pins)
	if err != nil || len(pins) == 0 {
		return nil, err
	}
	out := make(map[int64]bool, len(pins))
	for _, p := range pins {
		out[p.MessageTS] = true
	}
	return out, nil
}

// newPage cuts a page of messages read with limit+1 rows; its cursor
// continues after the last message kept, by seq.
func newPage(msgs []*confab.Message, limit int, kind string) *Page {
	msgs, next := cut(msgs, limit, func(m *confab.Message) string { return confab.EncodeSeqCursor(kind, m.Seq) })
	return &Page{Messages: msgs, HasMore: next != "", NextCursor: next}
}
