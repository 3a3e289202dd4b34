// Package slackexport reads and writes Slack's workspace export: the zip
// that Slack's "Export data" produces, and that Mattermost, Rocket.Chat and
// Zulip import.
//
// An export holds users.json (org_users.json from an Enterprise Grid
// organization), the conversations' manifests — channels.json (public),
// groups.json (private), dms.json and mpims.json, the last three missing
// from an export of public channels only — an optional
// integration_logs.json, and a folder per conversation of YYYY-MM-DD.json
// files, each a JSON array of that day's messages. Public and private
// channels' and group DMs' folders are named by the conversation's name,
// DMs' by their id.
//
// The types keep the fields an importer needs; the rest of Slack's
// (avatars, colours, …) are not kept. Blocks and attachments are kept as
// they are, raw JSON.
package slackexport

import (
	"encoding/json"
	"fmt"

	"github.com/confab/confab"
)

// The manifest files of an export.
const (
	UsersFile           = "users.json"
	OrgUsersFile        = "org_users.json"
	ChannelsFile        = "channels.json"
	GroupsFile          = "groups.json"
	DMsFile             = "dms.json"
	MPIMsFile           = "mpims.json"
	IntegrationLogsFile = "integration_logs.json"
)

// User is an entry of users.json.
type User struct {
	ID             string  `json:"id"`
	TeamID         string  `json:"team_id,omitempty"`
	Name           string  `json:"name"`
	Deleted        bool    `json:"deleted,omitempty"`
	RealName       string  `json:"real_name,omitempty"`
	TZ             string  `json:"tz,omitempty"`
	TZLabel        string  `json:"tz_label,omitempty"`
	TZOffset       int     `json:"tz_offset,omitempty"`
	IsAdmin        bool    `json:"is_admin,omitempty"`
	IsOwner        bool    `json:"is_owner,omitempty"`
	IsPrimaryOwner bool    `json:"is_primary_owner,omitempty"`
	IsRestricted   bool    `json:"is_restricted,omitempty"`
	IsBot          bool    `json:"is_bot,omitempty"`
	IsAppUser      bool    `json:"is_app_user,omitempty"`
	Updated        int64   `json:"updated,omitempty"`
	Profile        Profile `json:"profile"`
}

// Profile is a user's profile in users.json.
type Profile struct {
	RealName    string `json:"real_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Title       string `json:"title,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
	StatusText  string `json:"status_text,omitempty"`
	StatusEmoji string `json:"status_emoji,omitempty"`
	BotID       string `json:"bot_id,omitempty"`
	APIAppID    string `json:"api_app_id,omitempty"`
	Image72     string `json:"image_72,omitempty"`
}

// Kind is which manifest a conversation is listed in.
type Kind int

const (
	Public  Kind = iota // channels.json
	Private             // groups.json
	DM                  // dms.json
	MPIM                // mpims.json: a group DM
)

// File is the manifest that lists conversations of kind k.
func (k Kind) File() string {
	return [...]string{ChannelsFile, GroupsFile, DMsFile, MPIMsFile}[k]
}

func (k Kind) String() string {
	return [...]string{"public channel", "private channel", "DM", "group DM"}[k]
}

// Conversation is an entry of channels.json, groups.json, dms.json or
// mpims.json. DMs have only an id, a creation time and their two members.
type Conversation struct {
	Kind       Kind     `json:"-"` // the manifest it is listed in
	ID         string   `json:"id"`
	Name       string   `json:"name,omitempty"`
	Created    int64    `json:"created,omitempty"`
	Creator    string   `json:"creator,omitempty"`
	IsArchived bool     `json:"is_archived,omitempty"`
	IsGeneral  bool     `json:"is_general,omitempty"`
	Members    []string `json:"members"`
	Topic      *Topic   `json:"topic,omitempty"`
	Purpose    *Topic   `json:"purpose,omitempty"`
}

// Folder is the name of the conversation's folder of day files: its id for
// a DM, its name otherwise.
func (c *Conversation) Folder() string {
	if c.Kind == DM || c.Name == "" {
		return c.ID
	}
	return c.Name
}

// Topic is a conversation's topic or purpose.
type Topic struct {
	Value   string `json:"value"`
	Creator string `json:"creator"`
	LastSet int64  `json:"last_set"`
}

// IntegrationLog is an entry of integration_logs.json: an app or
// integration added to or removed from the workspace.
type IntegrationLog struct {
	UserID      string `json:"user_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	Date        string `json:"date,omitempty"`
	ChangeType  string `json:"change_type,omitempty"`
	ServiceID   string `json:"service_id,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	AppID       string `json:"app_id,omitempty"`
	AppType     string `json:"app_type,omitempty"`
	Channel     string `json:"channel,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// Message is an entry of a day file.
type Message struct {
	Type            string          `json:"type"`
	Subtype         string          `json:"subtype,omitempty"`
	User            string          `json:"user,omitempty"`
	Text            string          `json:"text"`
	TS              string          `json:"ts"`
	ThreadTS        string          `json:"thread_ts,omitempty"`
	ParentUserID    string          `json:"parent_user_id,omitempty"`
	ReplyCount      int             `json:"reply_count,omitempty"`
	ReplyUsersCount int             `json:"reply_users_count,omitempty"`
	LatestReply     string          `json:"latest_reply,omitempty"`
	ReplyUsers      []string        `json:"reply_users,omitempty"`
	Replies         []Reply         `json:"replies,omitempty"`
	Reactions       []Reaction      `json:"reactions,omitempty"`
	Edited          *Edited         `json:"edited,omitempty"`
	Files           []File          `json:"files,omitempty"`
	BotID           string          `json:"bot_id,omitempty"`
	Username        string          `json:"username,omitempty"`
	BotProfile      *BotProfile     `json:"bot_profile,omitempty"`
	UserProfile     *UserProfile    `json:"user_profile,omitempty"`
	Blocks          json.RawMessage `json:"blocks,omitempty"`
	Attachments     json.RawMessage `json:"attachments,omitempty"`
	Inviter         string          `json:"inviter,omitempty"`
	Topic           string          `json:"topic,omitempty"`   // subtype channel_topic
	Purpose         string          `json:"purpose,omitempty"` // subtype channel_purpose
	OldName         string          `json:"old_name,omitempty"`
	Name            string          `json:"name,omitempty"` // subtype channel_name
}

// IsReply reports whether m is a reply in a thread (not its parent).
func (m *Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// IsThreadParent reports whether m starts a thread.
func (m *Message) IsThreadParent() bool {
	return (m.ThreadTS != "" && m.ThreadTS == m.TS) || (m.ThreadTS == "" && m.ReplyCount > 0)
}

// IsBot reports whether a bot or an integration posted m.
func (m *Message) IsBot() bool { return m.Subtype == "bot_message" || m.BotID != "" }

// Reply is an entry of a thread parent's replies: who replied, when.
type Reply struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

// Reaction is one emoji on a message and who put it there.
type Reaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

// Edited marks a message that was edited: by whom, when.
type Edited struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

// File is a file shared in a message. The export holds its metadata and
// links to Slack, not its content.
type File struct {
	ID                 string `json:"id"`
	Created            int64  `json:"created,omitempty"`
	Name               string `json:"name,omitempty"`
	Title              string `json:"title,omitempty"`
	Mimetype           string `json:"mimetype,omitempty"`
	Filetype           string `json:"filetype,omitempty"`
	User               string `json:"user,omitempty"`
	Size               int64  `json:"size,omitempty"`
	URLPrivate         string `json:"url_private,omitempty"`
	URLPrivateDownload string `json:"url_private_download,omitempty"`
	Permalink          string `json:"permalink,omitempty"`
	Mode               string `json:"mode,omitempty"` // "tombstone" for a deleted file, "hidden_by_limit" past a free plan's limit
}

// BotProfile is the bot that posted a message.
type BotProfile struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id,omitempty"`
	Name    string `json:"name,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	TeamID  string `json:"team_id,omitempty"`
}

// UserProfile is the poster's profile as it was when the message was
// posted.
type UserProfile struct {
	RealName     string `json:"real_name,omitempty"`
	DisplayName  string `json:"display_name,omitempty"`
	Name         string `json:"name,omitempty"`
	Image72      string `json:"image_72,omitempty"`
	IsRestricted bool   `json:"is_restricted,omitempty"`
}

// ParseTS parses a Slack ts ("1700000000.000123", also with fewer fraction
// digits or none) into microseconds since the epoch, as confab reads one;
// the epoch itself is no message's.
func ParseTS(s string) (int64, error) {
	ts, err := confab.ParseTS(s)
	if err != nil || ts == 0 {
		return 0, fmt.Errorf("ts %q is not a Slack timestamp", s)
	}
	return ts, nil
}

// FormatTS formats microseconds since the epoch as a Slack ts.
func FormatTS(micros int64) string {
	return fmt.Sprintf("%d.%06d", micros/1e6, micros%1e6)
}
