package api_test

import (
	"context"
	"encoding/json"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// fake is a hand-written api.Service: each method calls its function field,
// or fails with "not_stubbed" when the field is nil.
type fake struct {
	SignupFn            func(ctx context.Context, p chat.SignupParams) (*chat.Session, error)
	LoginFn             func(ctx context.Context, team, name, password string) (*chat.Session, error)
	AuthenticateFn      func(ctx context.Context, token string) (*confab.User, error)
	RevokeFn            func(ctx context.Context, u *confab.User, token string) error
	WorkspaceFn         func(ctx context.Context, u *confab.User) (*confab.Workspace, error)
	CreateChannelFn     func(ctx context.Context, u *confab.User, name string, private bool) (*confab.ChannelView, error)
	JoinChannelFn       func(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, bool, error)
	LeaveChannelFn      func(ctx context.Context, u *confab.User, channel string) (bool, error)
	InviteToChannelFn   func(ctx context.Context, u *confab.User, channel string, users []string) (*confab.ChannelView, error)
	OpenConversationFn  func(ctx context.Context, u *confab.User, users []string) (*confab.ChannelView, bool, error)
	ListChannelsFn      func(ctx context.Context, u *confab.User, p chat.ListChannelsParams) ([]*confab.ChannelView, string, error)
	ChannelInfoFn       func(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, error)
	ChannelMembersFn    func(ctx context.Context, u *confab.User, channel, cursor string, limit int) ([]string, string, error)
	SetTopicFn          func(ctx context.Context, u *confab.User, channel, topic string) (*confab.ChannelView, error)
	SetPurposeFn        func(ctx context.Context, u *confab.User, channel, purpose string) (*confab.ChannelView, error)
	ArchiveChannelFn    func(ctx context.Context, u *confab.User, channel string) error
	SetPrefsFn          func(ctx context.Context, u *confab.User, channel string, p chat.PrefsUpdate) error
	MarkReadFn          func(ctx context.Context, u *confab.User, channel, ts string) error
	PostMessageFn       func(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error)
	UpdateMessageFn     func(ctx context.Context, u *confab.User, p chat.UpdateParams) (*confab.Message, error)
	DeleteMessageFn     func(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error)
	AddReactionFn       func(ctx context.Context, u *confab.User, channel, ts, name string) error
	RemoveReactionFn    func(ctx context.Context, u *confab.User, channel, ts, name string) error
	HistoryFn           func(ctx context.Context, u *confab.User, p chat.HistoryParams) (*chat.Page, error)
	RepliesFn           func(ctx context.Context, u *confab.User, p chat.RepliesParams) (*chat.Page, error)
	UserInfoFn          func(ctx context.Context, u *confab.User, userID string) (*confab.User, error)
	ListUsersFn         func(ctx context.Context, u *confab.User, cursor string, limit int) ([]*confab.User, string, error)
	SearchUsersFn       func(ctx context.Context, u *confab.User, query, channel string, count int) ([]*confab.User, error)
	LookupUserByEmailFn func(ctx context.Context, u *confab.User, email string) (*confab.User, error)
	SetProfileFn        func(ctx context.Context, u *confab.User, p chat.ProfileParams) (*confab.User, error)
	GetPresenceFn       func(ctx context.Context, u *confab.User, userID string) (string, error)
	SetPresenceFn       func(ctx context.Context, u *confab.User, presence string) error
	TypingFn            func(ctx context.Context, u *confab.User, channel string) error
	SubscribePresenceFn func(ctx context.Context, u *confab.User, stream string, ids []string) error
	BootFn              func(ctx context.Context, u *confab.User) (*chat.Boot, error)
	CatchUpFn           func(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]chat.CatchUpChannel, error)
	IssueTicketFn       func(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error)

	// manage.go's (manage_fake_test.go)
	TeamInfoFn          func(ctx context.Context, u *confab.User, team string) (*confab.Workspace, error)
	ListUserChannelsFn  func(ctx context.Context, u *confab.User, p chat.UserChannelsParams) ([]*confab.ChannelView, string, error)
	RenameChannelFn     func(ctx context.Context, u *confab.User, channel, name string) (*confab.ChannelView, error)
	UnarchiveChannelFn  func(ctx context.Context, u *confab.User, channel string) error
	KickFromChannelFn   func(ctx context.Context, u *confab.User, channel, user string) error
	CloseConversationFn func(ctx context.Context, u *confab.User, channel string) error
	MessageFn           func(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error)

	// memessage_test.go's
	MeMessageFn func(ctx context.Context, u *confab.User, channel, text string) (*confab.Message, error)

	// sched_test.go's
	ScheduleMessageFn        func(ctx context.Context, u *confab.User, p chat.ScheduleParams) (*confab.ScheduledMessage, *confab.Message, error)
	ScheduledMessagesFn      func(ctx context.Context, u *confab.User, p chat.ScheduledListParams) ([]*confab.ScheduledMessage, string, error)
	DeleteScheduledMessageFn func(ctx context.Context, u *confab.User, channel, id string) error
	// pins_test.go's
	PostEphemeralFn func(ctx context.Context, u *confab.User, p chat.EphemeralParams) (*confab.Message, error)
	AddPinFn        func(ctx context.Context, u *confab.User, channel, ts string) error
	RemovePinFn     func(ctx context.Context, u *confab.User, channel, ts string) error
	ListPinsFn      func(ctx context.Context, u *confab.User, channel string) ([]*confab.Pin, error)
	// search_test.go's
	SearchFn func(ctx context.Context, u *confab.User, p chat.SearchParams) (*chat.SearchPage, error)
}

var errNotStubbed = &confab.Error{Code: confab.EINVALID, Message: "not_stubbed"}

func (f *fake) Signup(ctx context.Context, p chat.SignupParams) (*chat.Session, error) {
	if f.SignupFn == nil {
		return nil, errNotStubbed
	}
	return f.SignupFn(ctx, p)
}

func (f *fake) Login(ctx context.Context, team, name, password string) (*chat.Session, error) {
	if f.LoginFn == nil {
		return nil, errNotStubbed
	}
	return f.LoginFn(ctx, team, name, password)
}

func (f *fake) Authenticate(ctx context.Context, token string) (*confab.User, error) {
	if f.AuthenticateFn == nil {
		return nil, errNotStubbed
	}
	return f.AuthenticateFn(ctx, token)
}

func (f *fake) Revoke(ctx context.Context, u *confab.User, token string) error {
	if f.RevokeFn == nil {
		return errNotStubbed
	}
	return f.RevokeFn(ctx, u, token)
}

func (f *fake) Workspace(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	if f.WorkspaceFn == nil {
		return nil, errNotStubbed
	}
	return f.WorkspaceFn(ctx, u)
}

func (f *fake) CreateChannel(ctx context.Context, u *confab.User, name string, private bool) (*confab.ChannelView, error) {
	if f.CreateChannelFn == nil {
		return nil, errNotStubbed
	}
	return f.CreateChannelFn(ctx, u, name, private)
}

func (f *fake) JoinChannel(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, bool, error) {
	if f.JoinChannelFn == nil {
		return nil, false, errNotStubbed
	}
	return f.JoinChannelFn(ctx, u, channel)
}

func (f *fake) LeaveChannel(ctx context.Context, u *confab.User, channel string) (bool, error) {
	if f.LeaveChannelFn == nil {
		return false, errNotStubbed
	}
	return f.LeaveChannelFn(ctx, u, channel)
}

func (f *fake) InviteToChannel(ctx context.Context, u *confab.User, channel string, users []string) (*confab.ChannelView, error) {
	if f.InviteToChannelFn == nil {
		return nil, errNotStubbed
	}
	return f.InviteToChannelFn(ctx, u, channel, users)
}

func (f *fake) OpenConversation(ctx context.Context, u *confab.User, users []string) (*confab.ChannelView, bool, error) {
	if f.OpenConversationFn == nil {
		return nil, false, errNotStubbed
	}
	return f.OpenConversationFn(ctx, u, users)
}

func (f *fake) ListChannels(ctx context.Context, u *confab.User, p chat.ListChannelsParams) ([]*confab.ChannelView, string, error) {
	if f.ListChannelsFn == nil {
		return nil, "", errNotStubbed
	}
	return f.ListChannelsFn(ctx, u, p)
}

func (f *fake) ChannelInfo(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, error) {
	if f.ChannelInfoFn == nil {
		return nil, errNotStubbed
	}
	return f.ChannelInfoFn(ctx, u, channel)
}

func (f *fake) ChannelMembers(ctx context.Context, u *confab.User, channel, cursor string, limit int) ([]string, string, error) {
	if f.ChannelMembersFn == nil {
		return nil, "", errNotStubbed
	}
	return f.ChannelMembersFn(ctx, u, channel, cursor, limit)
}

func (f *fake) SetTopic(ctx context.Context, u *confab.User, channel, topic string) (*confab.ChannelView, error) {
	if f.SetTopicFn == nil {
		return nil, errNotStubbed
	}
	return f.SetTopicFn(ctx, u, channel, topic)
}

func (f *fake) SetPurpose(ctx context.Context, u *confab.User, channel, purpose string) (*confab.ChannelView, error) {
	if f.SetPurposeFn == nil {
		return nil, errNotStubbed
	}
	return f.SetPurposeFn(ctx, u, channel, purpose)
}

func (f *fake) ArchiveChannel(ctx context.Context, u *confab.User, channel string) error {
	if f.ArchiveChannelFn == nil {
		return errNotStubbed
	}
	return f.ArchiveChannelFn(ctx, u, channel)
}

func (f *fake) SetPrefs(ctx context.Context, u *confab.User, channel string, p chat.PrefsUpdate) error {
	if f.SetPrefsFn == nil {
		return errNotStubbed
	}
	return f.SetPrefsFn(ctx, u, channel, p)
}

func (f *fake) MarkRead(ctx context.Context, u *confab.User, channel, ts string) error {
	if f.MarkReadFn == nil {
		return errNotStubbed
	}
	return f.MarkReadFn(ctx, u, channel, ts)
}

func (f *fake) PostMessage(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error) {
	if f.PostMessageFn == nil {
		return nil, errNotStubbed
	}
	return f.PostMessageFn(ctx, u, p)
}

func (f *fake) UpdateMessage(ctx context.Context, u *confab.User, p chat.UpdateParams) (*confab.Message, error) {
	if f.UpdateMessageFn == nil {
		return nil, errNotStubbed
	}
	return f.UpdateMessageFn(ctx, u, p)
}

func (f *fake) DeleteMessage(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error) {
	if f.DeleteMessageFn == nil {
		return nil, errNotStubbed
	}
	return f.DeleteMessageFn(ctx, u, channel, ts)
}

func (f *fake) AddReaction(ctx context.Context, u *confab.User, channel, ts, name string) error {
	if f.AddReactionFn == nil {
		return errNotStubbed
	}
	return f.AddReactionFn(ctx, u, channel, ts, name)
}

func (f *fake) RemoveReaction(ctx context.Context, u *confab.User, channel, ts, name string) error {
	if f.RemoveReactionFn == nil {
		return errNotStubbed
	}
	return f.RemoveReactionFn(ctx, u, channel, ts, name)
}

func (f *fake) History(ctx context.Context, u *confab.User, p chat.HistoryParams) (*chat.Page, error) {
	if f.HistoryFn == nil {
		return nil, errNotStubbed
	}
	return f.HistoryFn(ctx, u, p)
}

func (f *fake) Replies(ctx context.Context, u *confab.User, p chat.RepliesParams) (*chat.Page, error) {
	if f.RepliesFn == nil {
		return nil, errNotStubbed
	}
	return f.RepliesFn(ctx, u, p)
}

func (f *fake) UserInfo(ctx context.Context, u *confab.User, userID string) (*confab.User, error) {
	if f.UserInfoFn == nil {
		return nil, errNotStubbed
	}
	return f.UserInfoFn(ctx, u, userID)
}

func (f *fake) ListUsers(ctx context.Context, u *confab.User, cursor string, limit int) ([]*confab.User, string, error) {
	if f.ListUsersFn == nil {
		return nil, "", errNotStubbed
	}
	return f.ListUsersFn(ctx, u, cursor, limit)
}

func (f *fake) SearchUsers(ctx context.Context, u *confab.User, query, channel string, count int) ([]*confab.User, error) {
	if f.SearchUsersFn == nil {
		return nil, errNotStubbed
	}
	return f.SearchUsersFn(ctx, u, query, channel, count)
}

func (f *fake) LookupUserByEmail(ctx context.Context, u *confab.User, email string) (*confab.User, error) {
	if f.LookupUserByEmailFn == nil {
		return nil, errNotStubbed
	}
	return f.LookupUserByEmailFn(ctx, u, email)
}

func (f *fake) SetProfile(ctx context.Context, u *confab.User, p chat.ProfileParams) (*confab.User, error) {
	if f.SetProfileFn == nil {
		return nil, errNotStubbed
	}
	return f.SetProfileFn(ctx, u, p)
}

func (f *fake) GetPresence(ctx context.Context, u *confab.User, userID string) (string, error) {
	if f.GetPresenceFn == nil {
		return "", errNotStubbed
	}
	return f.GetPresenceFn(ctx, u, userID)
}

func (f *fake) SubscribePresence(ctx context.Context, u *confab.User, stream string, ids []string) error {
	if f.SubscribePresenceFn == nil {
		return errNotStubbed
	}
	return f.SubscribePresenceFn(ctx, u, stream, ids)
}

func (f *fake) Typing(ctx context.Context, u *confab.User, channel string) error {
	if f.TypingFn == nil {
		return errNotStubbed
	}
	return f.TypingFn(ctx, u, channel)
}

func (f *fake) SetPresence(ctx context.Context, u *confab.User, presence string) error {
	if f.SetPresenceFn == nil {
		return errNotStubbed
	}
	return f.SetPresenceFn(ctx, u, presence)
}

func (f *fake) Boot(ctx context.Context, u *confab.User) (*chat.Boot, error) {
	if f.BootFn == nil {
		return nil, errNotStubbed
	}
	return f.BootFn(ctx, u)
}

func (f *fake) CatchUp(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]chat.CatchUpChannel, error) {
	if f.CatchUpFn == nil {
		return nil, errNotStubbed
	}
	return f.CatchUpFn(ctx, u, checkpoints, limit)
}

func (f *fake) IssueTicket(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error) {
	if f.IssueTicketFn == nil {
		return nil, errNotStubbed
	}
	return f.IssueTicketFn(ctx, u, token)
}

// Sample data every stub of stocked returns.
const (
	goodToken = "xoxp-good"
	sampleTS  = int64(1700000000_000123)
)

var (
	alice = &confab.User{ID: "UALICE", WorkspaceID: "TTEAM", Name: "alice", RealName: "Alice A", DisplayName: "al"}
	bob   = &confab.User{ID: "UBOB", WorkspaceID: "TTEAM", Name: "bob"}
	team  = &confab.Workspace{ID: "TTEAM", Name: "Acme", Domain: "acme", OwnerID: "UALICE"}
)

func sampleView() *confab.ChannelView {
	return &confab.ChannelView{
		Channel: &confab.Channel{ID: "CGENERAL", WorkspaceID: "TTEAM", Kind: confab.KindPublic, Name: "general",
			Topic: confab.Text{Value: "the topic", Creator: "UALICE", LastSet: 1700000000}, CreatedBy: "UALICE",
			Created: 1700000000, LastSeq: 7, MessageCount: 5, NumMembers: 2},
		Member: &confab.Membership{ChannelID: "CGENERAL", UserID: "UALICE", LastReadSeq: 3, LastReadTS: sampleTS, LastReadCount: 3},
	}
}

func sampleDM() *confab.ChannelView {
	return &confab.ChannelView{
		Channel: &confab.Channel{ID: "DALICEBOB", WorkspaceID: "TTEAM", Kind: confab.KindDM, Key: "UALICE,UBOB", Created: 1700000000, NumMembers: 2},
		Member:  &confab.Membership{ChannelID: "DALICEBOB", UserID: "UALICE"},
		Other:   "UBOB",
	}
}

func sampleMessage(text string) *confab.Message {
	return &confab.Message{ChannelID: "CGENERAL", Seq: 8, TS: sampleTS, UserID: "UALICE", Text: text, ChangeSeq: 8,
		Reactions: []confab.Reaction{{Name: "tada", Users: []string{"UBOB"}}}}
}

// stocked returns a fake whose every method succeeds with sample data, and
// whose Authenticate accepts goodToken only.
func stocked() *fake {
	ok := func() error { return nil }
	return &fake{
		SignupFn: func(_ context.Context, p chat.SignupParams) (*chat.Session, error) {
			return &chat.Session{Token: "xoxp-new", User: alice, Workspace: team}, nil
		},
		LoginFn: func(_ context.Context, _, _, _ string) (*chat.Session, error) {
			return &chat.Session{Token: "xoxp-login", User: alice, Workspace: team}, nil
		},
		AuthenticateFn: func(_ context.Context, token string) (*confab.User, error) {
			if token == goodToken {
				return alice, nil
			}
			return nil, confab.ErrInvalidAuth
		},
		RevokeFn:    func(context.Context, *confab.User, string) error { return ok() },
		WorkspaceFn: func(context.Context, *confab.User) (*confab.Workspace, error) { return team, nil },
		CreateChannelFn: func(_ context.Context, _ *confab.User, name string, private bool) (*confab.ChannelView, error) {
			v := sampleView()
			v.Channel.Name = name
			if private {
				v.Channel.Kind = confab.KindPrivate
			}
			return v, nil
		},
		JoinChannelFn: func(context.Context, *confab.User, string) (*confab.ChannelView, bool, error) {
			return sampleView(), true, nil
		},
		LeaveChannelFn: func(context.Context, *confab.User, string) (bool, error) { return true, nil },
		InviteToChannelFn: func(context.Context, *confab.User, string, []string) (*confab.ChannelView, error) {
			return sampleView(), nil
		},
		OpenConversationFn: func(context.Context, *confab.User, []string) (*confab.ChannelView, bool, error) {
			return sampleDM(), true, nil
		},
		ListChannelsFn: func(context.Context, *confab.User, chat.ListChannelsParams) ([]*confab.ChannelView, string, error) {
			return []*confab.ChannelView{sampleView()}, "next-channels", nil
		},
		ChannelInfoFn: func(context.Context, *confab.User, string) (*confab.ChannelView, error) { return sampleView(), nil },
		ChannelMembersFn: func(context.Context, *confab.User, string, string, int) ([]string, string, error) {
			return []string{"UALICE", "UBOB"}, "", nil
		},
		SetTopicFn: func(_ context.Context, _ *confab.User, _, topic string) (*confab.ChannelView, error) {
			v := sampleView()
			v.Channel.Topic.Value = topic
			return v, nil
		},
		SetPurposeFn: func(_ context.Context, _ *confab.User, _, purpose string) (*confab.ChannelView, error) {
			v := sampleView()
			v.Channel.Purpose.Value = purpose
			return v, nil
		},
		ArchiveChannelFn: func(context.Context, *confab.User, string) error { return ok() },
		SetPrefsFn:       func(context.Context, *confab.User, string, chat.PrefsUpdate) error { return ok() },
		MarkReadFn:       func(context.Context, *confab.User, string, string) error { return ok() },
		PostMessageFn: func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
			return sampleMessage(p.Text), nil
		},
		UpdateMessageFn: func(_ context.Context, _ *confab.User, p chat.UpdateParams) (*confab.Message, error) {
			var text string
			if p.Text != nil {
				text = *p.Text
			}
			m := sampleMessage(text)
			m.EditedTS = sampleTS + 1
			return m, nil
		},
		DeleteMessageFn: func(context.Context, *confab.User, string, string) (*confab.Message, error) {
			m := sampleMessage("")
			m.Deleted = true
			return m, nil
		},
		AddReactionFn:    func(context.Context, *confab.User, string, string, string) error { return ok() },
		RemoveReactionFn: func(context.Context, *confab.User, string, string, string) error { return ok() },
		HistoryFn: func(context.Context, *confab.User, chat.HistoryParams) (*chat.Page, error) {
			return &chat.Page{Messages: []*confab.Message{sampleMessage("newest"), sampleMessage("older")}, HasMore: true, NextCursor: "next-history"}, nil
		},
		RepliesFn: func(context.Context, *confab.User, chat.RepliesParams) (*chat.Page, error) {
			return &chat.Page{Messages: []*confab.Message{sampleMessage("parent")}}, nil
		},
		UserInfoFn: func(_ context.Context, _ *confab.User, id string) (*confab.User, error) {
			if id == alice.ID {
				return alice, nil
			}
			return bob, nil
		},
		ListUsersFn: func(context.Context, *confab.User, string, int) ([]*confab.User, string, error) {
			return []*confab.User{alice, bob}, "next-users", nil
		},
		SearchUsersFn: func(context.Context, *confab.User, string, string, int) ([]*confab.User, error) {
			return []*confab.User{bob}, nil
		},
		GetPresenceFn: func(context.Context, *confab.User, string) (string, error) { return confab.PresenceActive, nil },
		SetPresenceFn: func(context.Context, *confab.User, string) error { return ok() },
		BootFn: func(context.Context, *confab.User) (*chat.Boot, error) {
			v := sampleView()
			v.Latest = sampleMessage("latest")
			return &chat.Boot{Self: alice, Workspace: team, Channels: []*confab.ChannelView{v, sampleDM()}}, nil
		},
		CatchUpFn: func(_ context.Context, _ *confab.User, cps map[string]int64, _ int) ([]chat.CatchUpChannel, error) {
			return []chat.CatchUpChannel{{Channel: "CGENERAL", Events: []json.RawMessage{confab.MessageEvent(sampleMessage("missed"))}, HasMore: false, MentionCount: 2}}, nil
		},
		IssueTicketFn: func(context.Context, *confab.User, string) (*confab.Ticket, error) {
			return &confab.Ticket{Value: "TICKET1", Expires: 1700000030}, nil
		},
	}
}
