package api_test

import (
	"context"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// The methods of manage.go on fake: each calls its function field, or
// fails with "not_stubbed" when the field is nil.

func (f *fake) TeamInfo(ctx context.Context, u *confab.User, team string) (*confab.Workspace, error) {
	if f.TeamInfoFn == nil {
		return nil, errNotStubbed
	}
	return f.TeamInfoFn(ctx, u, team)
}

func (f *fake) ListUserChannels(ctx context.Context, u *confab.User, p chat.UserChannelsParams) ([]*confab.ChannelView, string, error) {
	if f.ListUserChannelsFn == nil {
		return nil, "", errNotStubbed
	}
	return f.ListUserChannelsFn(ctx, u, p)
}

func (f *fake) RenameChannel(ctx context.Context, u *confab.User, channel, name string) (*confab.ChannelView, error) {
	if f.RenameChannelFn == nil {
		return nil, errNotStubbed
	}
	return f.RenameChannelFn(ctx, u, channel, name)
}

func (f *fake) UnarchiveChannel(ctx context.Context, u *confab.User, channel string) error {
	if f.UnarchiveChannelFn == nil {
		return errNotStubbed
	}
	return f.UnarchiveChannelFn(ctx, u, channel)
}

func (f *fake) KickFromChannel(ctx context.Context, u *confab.User, channel, user string) error {
	if f.KickFromChannelFn == nil {
		return errNotStubbed
	}
	return f.KickFromChannelFn(ctx, u, channel, user)
}

func (f *fake) CloseConversation(ctx context.Context, u *confab.User, channel string) error {
	if f.CloseConversationFn == nil {
		return errNotStubbed
	}
	return f.CloseConversationFn(ctx, u, channel)
}

func (f *fake) Message(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error) {
	if f.MessageFn == nil {
		return nil, errNotStubbed
	}
	return f.MessageFn(ctx, u, channel, ts)
}
