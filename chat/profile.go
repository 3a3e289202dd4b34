package chat

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab"
)

// Emails and profiles.
//
// Who sees a user's email — profile.email in users.info, users.list,
// users.profile.get, users.lookupByEmail and client.boot's self: the user
// themself, and every person of the workspace, its owner included (Slack's
// default for a workspace's members); a bot only when its app's manifest
// asks for the users:read.email bot scope, as a Slack app needs it. A
// user's email is hidden from a caller by handing the caller a copy of
// the user without it (emailSight). user_change events carry no email:
// they go to people and bots alike.
//
// A user changes only their own profile (users.profile.set): confab has
// no admins, so another's is not_admin, or cannot_update_admin_user when
// that other is the workspace's owner. The email is set at sign-up and
// not through the profile (not_admin, as Slack answers a member who is
// not an admin).

// ScopeReadEmail is the bot scope that lets an app see emails.
const ScopeReadEmail = "users:read.email"

// Limits of profile fields, in characters.
const (
	maxRealNameRunes    = 100
	maxDisplayNameRunes = 80
	maxStatusTextRunes  = 100
)

var (
	errUsersNotFound     = &confab.Error{Code: confab.ENOTFOUND, Message: "users_not_found"}
	errInvalidEmail      = &confab.Error{Code: confab.EINVALID, Message: "invalid_email"}
	errInvalidProfile    = &confab.Error{Code: confab.EINVALID, Message: "invalid_profile"}
	errNotAdmin          = &confab.Error{Code: confab.EFORBIDDEN, Message: "not_admin"}
	errCannotUpdateAdmin = &confab.Error{Code: confab.EFORBIDDEN, Message: "cannot_update_admin_user"}
)

// ProfileParams are users.profile.set's arguments: Profile, a JSON object
// of fields, or else one field Name set to Value.
type ProfileParams struct {
	User    string // "" or the caller's id: the caller's own profile
	Profile string
	Name    string
	Value   string
}

// emailSight is what one caller sees of other users' emails.
type emailSight struct {
	all    bool     // every email of the workspace
	self   string   // the caller, who always sees their own
	scopes []string // a bot's scopes, for missing_scope
}

// emailSight returns what u sees of emails: all of them for a person; for
// a bot, all of them if its app has ScopeReadEmail, else its own only.
func (s *Service) emailSight(ctx context.Context, u *confab.User) (emailSight, error) {
	sight := emailSight{all: !u.IsBot, self: u.ID}
	if !u.IsBot {
		return sight, nil
	}
	bot, err := s.BotOf(ctx, u)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return sight, nil // a bot user of no app: no scopes
	} else if err != nil {
		return sight, err
	}
	app, err := s.store.FindApp(ctx, bot.AppID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return sight, nil
	} else if err != nil {
		return sight, err
	}
	m, err := confab.ParseManifest(app.Manifest)
	if err != nil {
		return sight, nil // stored manifests were valid; grant nothing otherwise
	}
	sight.scopes = m.BotScopes
	sight.all = slices.Contains(m.BotScopes, ScopeReadEmail)
	return sight, nil
}

// show returns other as the caller sees it: itself, or a copy without
// its email.
func (e emailSight) show(other *confab.User) *confab.User {
	if e.all || other.ID == e.self || other.Email == "" {
		return other
	}
	c := *other
	c.Email = ""
	return &c
}

// LookupUserByEmail finds the user of the caller's workspace with that
// email, in any case: users_not_found when there is none. A bot needs
// ScopeReadEmail (missing_scope).
func (s *Service) LookupUserByEmail(ctx context.Context, u *confab.User, email string) (*confab.User, error) {
	sight, err := s.emailSight(ctx, u)
	if err != nil {
		return nil, err
	}
	if !sight.all {
		return nil, &confab.ScopeError{Needed: ScopeReadEmail, Provided: sight.scopes}
	}
	if !confab.ValidEmail(email) {
		return nil, errUsersNotFound // no one has it
	}
	other, err := s.store.FindUserByEmail(ctx, u.WorkspaceID, email)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, errUsersNotFound
	} else if err != nil {
		return nil, err
	}
	return other, nil
}

// SetProfile changes the caller's own profile (real_name, display_name,
// status_text, status_emoji, status_expiration; fields confab does not
// have are ignored) and tells the workspace with user_change. A bot's
// token may not (not_allowed_token_type).
func (s *Service) SetProfile(ctx context.Context, u *confab.User, p ProfileParams) (*confab.User, error) {
	if u.IsBot {
		return nil, confab.ErrNotAllowedTokenType
	}
	if p.User != "" && p.User != u.ID {
		other, err := s.workspaceUser(ctx, u, p.User)
		if err != nil {
			return nil, err
		}
		ws, err := s.workspace(ctx, u.WorkspaceID)
		if err != nil {
			return nil, err
		}
		if other.ID == ws.OwnerID {
			return nil, errCannotUpdateAdmin
		}
		return nil, errNotAdmin
	}
	fields, err := profileFields(p)
	if err != nil {
		return nil, err
	}
	upd, err := profileUpdate(u, fields)
	if err != nil {
		return nil, err
	}
	changed := upd != confab.UserUpdate{}
	updated, err := s.store.UpdateUser(ctx, u.ID, upd)
	if err != nil {
		return nil, err
	}
	if changed {
		s.announceUser(ctx, updated)
	}
	return updated, nil
}

// announceUser publishes user_change, without the email, on the topic
// of each conversation the user is in — whoever shares one with them
// hears of it, once per conversation they share — and on the user's own.
// The workspace has no topic of its own, and one publication per member
// of the workspace would cost as much as the workspace is large at every
// status change.
func (s *Service) announceUser(ctx context.Context, u *confab.User) {
	c := *u
	c.Email = ""
	frame := confab.UserChangeEvent(&c)
	s.deliver(confab.UserTopic(u.WorkspaceID, u.ID), frame)
	ids, err := s.userChannelIDs(ctx, u.ID)
	if err != nil {
		s.log.Warn("user_change not published to conversations", "user", u.ID, "err", err)
		return
	}
	for _, id := range ids {
		s.deliver(confab.ChannelTopic(u.WorkspaceID, id), frame)
	}
}

// profileFields reads users.profile.set's fields: the profile object, or
// the one name and value.
func profileFields(p ProfileParams) (map[string]json.RawMessage, error) {
	if p.Profile != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(p.Profile), &m); err != nil || m == nil {
			return nil, errInvalidProfile
		}
		return m, nil
	}
	if p.Name == "" {
		return nil, errInvalidProfile
	}
	v, err := json.Marshal(p.Value)
	if err != nil {
		return nil, errInvalidProfile
	}
	return map[string]json.RawMessage{p.Name: v}, nil
}

// profileUpdate checks the fields confab has and turns them into an
// update of u; it ignores the others.
func profileUpdate(u *confab.User, fields map[string]json.RawMessage) (confab.UserUpdate, error) {
	var upd confab.UserUpdate
	text := func(raw json.RawMessage, max int) (*string, error) {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
			return nil, errInvalidProfile
		}
		return &v, nil
	}
	var err error
	for k, raw := range fields {
		switch k {
		case "real_name":
			upd.RealName, err = text(raw, maxRealNameRunes)
		case "display_name":
			upd.DisplayName, err = text(raw, maxDisplayNameRunes)
		case "status_text":
			upd.StatusText, err = text(raw, maxStatusTextRunes)
		case "status_emoji":
			if upd.StatusEmoji, err = text(raw, 100); err == nil && !validStatusEmoji(*upd.StatusEmoji) {
				err = errInvalidProfile
			}
		case "status_expiration":
			upd.StatusExpiration, err = expiration(raw)
		case "email":
			var v string
			if json.Unmarshal(raw, &v) != nil {
				err = errInvalidProfile
			} else if confab.NormalizeEmail(v) != u.Email {
				err = errNotAdmin
			}
		}
		if err != nil {
			return confab.UserUpdate{}, err
		}
	}
	return upd, nil
}

// validStatusEmoji reports whether s is "" or an emoji code: ":name:",
// or ":name::skin-tone-N:".
func validStatusEmoji(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 3 || s[0] != ':' || s[len(s)-1] != ':' {
		return false
	}
	for _, name := range strings.Split(s[1:len(s)-1], "::") {
		if !confab.ValidReactionName(name) {
			return false
		}
	}
	return true
}

// expiration reads status_expiration: unix seconds as a number or a
// numeric string ("" is 0, never).
func expiration(raw json.RawMessage) (*int64, error) {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errInvalidProfile
		}
		if s == "" {
			s = "0"
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, errInvalidProfile
	}
	return &n, nil
}
