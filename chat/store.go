package chat

import (
	"context"

	"github.com/confab/confab"
)

// Store is what the use cases need from persistence. store/storetest
// documents the contract and the error codes; store/sqlite implements it.
type Store interface {
	CreateWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User) error
	FindWorkspaceByID(ctx context.Context, id string) (*confab.Workspace, error)
	FindWorkspaceByDomain(ctx context.Context, domain string) (*confab.Workspace, error)

	CreateUser(ctx context.Context, u *confab.User) error
	FindUserByID(ctx context.Context, id string) (*confab.User, error)
	FindUserByName(ctx context.Context, workspaceID, name string) (*confab.User, error)
	FindUsers(ctx context.Context, f confab.UserFilter) ([]*confab.User, error)

	CreateToken(ctx context.Context, t *confab.Token) error
	FindToken(ctx context.Context, hash []byte) (*confab.Token, error)
	DeleteToken(ctx context.Context, hash []byte) error

	CreateChannel(ctx context.Context, c *confab.Channel, members []string) error
	FindChannelByID(ctx context.Context, id string) (*confab.Channel, error)
	FindChannelByKey(ctx context.Context, workspaceID, key string) (*confab.Channel, error)
	FindChannels(ctx context.Context, f confab.ChannelFilter) ([]*confab.Channel, error)
	UpdateChannel(ctx context.Context, id string, upd confab.ChannelUpdate) (*confab.Channel, error)

	AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (bool, error)
	RemoveMember(ctx context.Context, channelID, userID string) (bool, error)
	FindMembership(ctx context.Context, channelID, userID string) (*confab.Membership, error)
	FindMemberships(ctx context.Context, userID string) ([]*confab.Membership, error)
	FindMembers(ctx context.Context, f confab.MemberFilter) ([]string, error)
	UpdateMembership(ctx context.Context, channelID, userID string, upd confab.MembershipUpdate) (*confab.Membership, error)

	CreateMessage(ctx context.Context, m *confab.Message) (bool, error)
	FindMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error)
	FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error)
	FindLatestMessages(ctx context.Context, channelIDs []string) (map[string]*confab.Message, error)
	SeqAtTS(ctx context.Context, channelID string, ts int64) (int64, bool, error)
	UpdateMessage(ctx context.Context, channelID string, ts int64, upd confab.MessageUpdate, editedTS int64) (*confab.Message, error)
	DeleteMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error)
	AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error)
	RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error)
	FindChanges(ctx context.Context, channelID string, after int64, limit int) ([]confab.Change, error)
}

// Publisher is the part of the bus the use cases need.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte) error
}
