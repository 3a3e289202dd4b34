package events

import (
	"context"
	"slices"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// The workspace's events (member_joined_channel, channel_created,
// team_join, user_change, …) come from the workspace's event log
// (Store.FindWorkspaceEvents), which the store appends in the transaction
// of each change. An app reads it like a channel's change log, with a
// position of its own (an AppPosition whose ChannelID is the workspace's
// id), which starts after the bot's own team_join: an app installed
// after an event never receives it. Each event
// carries the objects it names (the channel, the user) as they are when
// it is delivered.

// wsChannel is Slack's small channel object of channel events.
type wsChannel struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Created   int64  `json:"created"`
	Creator   string `json:"creator,omitempty"`
	IsChannel bool   `json:"is_channel"`
	IsPrivate bool   `json:"is_private"`
}

type memberEvent struct {
	Type        string `json:"type"`
	User        string `json:"user"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	Team        string `json:"team"`
	EventTS     string `json:"event_ts"`
}

type channelObjEvent struct {
	Type    string    `json:"type"`
	Channel wsChannel `json:"channel"`
	EventTS string    `json:"event_ts"`
}

type channelIDEvent struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	User    string `json:"user,omitempty"`
	EventTS string `json:"event_ts"`
}

type userEvent struct {
	Type    string          `json:"type"`
	User    confab.WireUser `json:"user"`
	CacheTS int64           `json:"cache_ts,omitempty"`
	EventTS string          `json:"event_ts"`
}

// memberChannelType is the channel_type of member events: Slack's letter.
func memberChannelType(kind string) string {
	switch kind {
	case confab.KindPrivate, confab.KindGroupDM:
		return "G"
	case confab.KindDM:
		return "D"
	}
	return "C"
}

// buildWorkspace returns the app's events of one entry of the workspace's
// log: none if the app does not subscribe to it, or may not see it (a
// channel it is not in, but for a public channel's own events and its own
// joins and leaves). in reports whether the bot is in a channel.
func (d *dispatcher) buildWorkspace(ctx context.Context, e confab.WorkspaceEvent, in func(string) bool) ([]event, error) {
	t := d.target
	if !t.subs[e.Kind] {
		return nil, nil
	}
	st := d.m.cfg.Store
	ts := confab.FormatTS(e.Time)
	wrap := func(v any) []event {
		return []event{t.wrap(e.WorkspaceID, e.Seq, EventID(e.WorkspaceID, e.Seq, e.Kind), e.Time, v)}
	}
	switch e.Kind {
	case confab.EventTeamJoin, confab.EventUserChange:
		u, err := st.FindUserByID(ctx, e.UserID)
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		w := u.Wire()
		if !slices.Contains(t.scopes, chat.ScopeReadEmail) {
			w.Profile.Email = ""
		}
		ev := userEvent{Type: e.Kind, User: w, EventTS: ts}
		if e.Kind == confab.EventUserChange {
			ev.CacheTS = e.Time / 1e6
		}
		return wrap(ev), nil
	}
	c, err := st.FindChannelByID(ctx, e.ChannelID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	switch e.Kind {
	case confab.EventMemberJoined, confab.EventMemberLeft:
		if !in(c.ID) && e.UserID != t.bot.UserID {
			return nil, nil
		}
		return wrap(memberEvent{Type: e.Kind, User: e.UserID, Channel: c.ID, ChannelType: memberChannelType(c.Kind),
			Team: c.WorkspaceID, EventTS: ts}), nil
	}
	if c.Kind != confab.KindPublic && !in(c.ID) {
		return nil, nil
	}
	obj := wsChannel{ID: c.ID, Name: c.Name, Created: c.Created, Creator: c.CreatedBy,
		IsChannel: c.Kind == confab.KindPublic, IsPrivate: c.Kind == confab.KindPrivate}
	switch e.Kind {
	case confab.EventChannelCreated:
		if c.Kind != confab.KindPublic {
			return nil, nil // Slack tells of public channels only
		}
		return wrap(channelObjEvent{Type: e.Kind, Channel: obj, EventTS: ts}), nil
	case confab.EventChannelRename:
		obj.Creator = ""
		return wrap(channelObjEvent{Type: e.Kind, Channel: obj, EventTS: ts}), nil
	case confab.EventChannelArchive, confab.EventChannelUnarchive:
		return wrap(channelIDEvent{Type: e.Kind, Channel: c.ID, User: e.UserID, EventTS: ts}), nil
	}
	return nil, nil
}

// fillLog reads the workspace log's next entries into its queue, as fill
// does a channel's changes. An entry older than the app (or than the
// retention window) is passed over.
func (d *dispatcher) fillLog(ctx context.Context, c *chanState) error {
	in := func(id string) bool {
		cs := d.chans[id]
		return cs != nil && !cs.log && cs.kind != "?"
	}
	since := int64(0)
	if d.m.cfg.Retention > 0 {
		since = d.m.now().Add(-d.m.cfg.Retention).UnixMicro()
	}
	return d.fillWith(c, func(after int64, n int) (int, error) {
		evs, err := d.m.cfg.Store.FindWorkspaceEvents(ctx, c.id, after, n)
		if err != nil {
			return 0, err
		}
		for _, e := range evs {
			if !c.started {
				// An app's log starts after its bot's own team_join,
				// appended with the app: nothing before it is the app's.
				// (An app older than the log starts a second after its
				// creation.)
				own := e.Kind == confab.EventTeamJoin && e.UserID == d.target.bot.UserID
				c.started = own || e.Time >= (d.target.app.Created+1)*1e6
				if own {
					c.enqueue(e.Seq, nil, d.m.now())
					continue
				}
			}
			var out []event
			if c.started && e.Time >= since {
				if out, err = d.buildWorkspace(ctx, e, in); err != nil {
					return 0, err
				}
			}
			c.enqueue(e.Seq, out, d.m.now())
		}
		return len(evs), nil
	})
}
