package confab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// ID prefixes of apps and bots, as Slack spells them.
const (
	PrefixApp = 'A'
	PrefixBot = 'B'
)

// Token types. The type is also the token's prefix (TokenPrefix), which is
// part of the value whose hash is stored: a token cannot be passed off as
// another type.
const (
	TokenUser = "user" // xoxp-: a person's session
	TokenBot  = "bot"  // xoxb-: an app's bot user
	TokenApp  = "app"  // xapp-: an app-level token (Socket Mode, later)
)

// TokenPrefix returns the prefix of tokens of type typ.
func TokenPrefix(typ string) string {
	switch typ {
	case TokenBot:
		return "xoxb-"
	case TokenApp:
		return "xapp-"
	}
	return "xoxp-"
}

// TokenTypeOf returns the type of a token by its prefix, "" if it has none
// of confab's.
func TokenTypeOf(token string) string {
	for _, typ := range [...]string{TokenUser, TokenBot, TokenApp} {
		if strings.HasPrefix(token, TokenPrefix(typ)) {
			return typ
		}
	}
	return ""
}

// App is an app installed in a workspace from a manifest. An app is
// installed in the workspace it was created in, and only there: it has one
// bot (Bot), whose user posts and reads like a member.
type App struct {
	ID          string // A…
	WorkspaceID string
	// Manifest is the app's manifest as JSON (Manifest.JSON).
	Manifest string
	// Credentials, as Slack hands them out. SigningSecret is kept as is:
	// it signs the Events API requests sent to the app.
	ClientID          string
	ClientSecret      string
	VerificationToken string
	SigningSecret     string
	CreatedBy         string // the user who created it
	Created           int64  // unix seconds
	Updated           int64
}

// Bot is an app's bot user: UserID is its confab.User (IsBot).
type Bot struct {
	ID          string // B…
	AppID       string
	UserID      string
	WorkspaceID string
	Name        string // the manifest's bot display name
	Deleted     bool   // its app was deleted
	Updated     int64  // unix seconds
}

// BotFilter selects the bots with any of the ids, user ids or app ids.
type BotFilter struct {
	IDs     []string
	UserIDs []string
	AppIDs  []string
}

// AppFilter selects installed apps by id after AfterID, at most Limit.
type AppFilter struct {
	AfterID string
	Limit   int
}

// AppPosition is how far an app's events of one channel were delivered:
// every change of the channel up to Seq was delivered to the app and
// acknowledged (or was not for it). JoinedAt is the bot's membership the
// position counts from: a bot that leaves and is invited again starts
// from its new membership, not from where it left.
type AppPosition struct {
	ChannelID string
	Seq       int64
	JoinedAt  int64
}

// AppUpdate is what apps.manifest.update changes: the manifest and the
// bot's name (from the manifest), at Updated.
type AppUpdate struct {
	Manifest string
	BotName  string
	Updated  int64
}

// Errors of apps and bots.
var (
	ErrAppNotFound         = &Error{Code: ENOTFOUND, Message: "app_not_found"}
	ErrBotNotFound         = &Error{Code: ENOTFOUND, Message: "bot_not_found"}
	ErrNotAllowedTokenType = &Error{Code: EFORBIDDEN, Message: "not_allowed_token_type"}
)

// Manifest is the part of Slack's app manifest that confab reads; the rest
// is kept as sent (App.Manifest) and exported back.
type Manifest struct {
	Name       string   // display_information.name
	BotName    string   // features.bot_user.display_name
	BotScopes  []string // oauth_config.scopes.bot
	RequestURL string   // settings.event_subscriptions.request_url
	BotEvents  []string // settings.event_subscriptions.bot_events
	SocketMode bool     // settings.socket_mode_enabled
	JSON       string   // the manifest, compacted
}

// ManifestProblem is one thing wrong with a manifest: Pointer is the JSON
// pointer of where it is.
type ManifestProblem struct {
	Message string `json:"message"`
	Pointer string `json:"pointer"`
}

// ManifestError is Slack's invalid_manifest: the error and what is wrong.
type ManifestError struct {
	Problems []ManifestProblem
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("confab error: invalid_manifest: %v", e.Problems)
}

// Unwrap makes a ManifestError an *Error: EINVALID "invalid_manifest".
func (e *ManifestError) Unwrap() error { return errInvalidManifest }

var errInvalidManifest = &Error{Code: EINVALID, Message: "invalid_manifest"}

// MaxManifestBytes bounds a manifest.
const MaxManifestBytes = 64 << 10

var (
	scopeRe = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)?(:[a-z_.]+)+$`)
	eventRe = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)?$`)
)

// ParseManifest reads and checks a manifest (an object), JSON or YAML
// (manifestyaml.go). It returns a *ManifestError listing every problem
// found, with its JSON pointer, or an invalid_manifest one for what is not
// an object. Manifest.JSON is the manifest as JSON whichever it came as.
func ParseManifest(raw string) (*Manifest, error) {
	if len(raw) > MaxManifestBytes || !utf8.ValidString(raw) {
		return nil, &ManifestError{Problems: []ManifestProblem{{Message: "Manifest is too large or not UTF-8", Pointer: "/"}}}
	}
	if !isJSONManifest(raw) {
		js, err := yamlToJSON(raw)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(js, "{") {
			return nil, &ManifestError{Problems: []ManifestProblem{{Message: "Manifest is not an object", Pointer: "/"}}}
		}
		raw = js
	}
	var doc struct {
		Display *struct {
			Name json.RawMessage `json:"name"`
		} `json:"display_information"`
		Features *struct {
			BotUser *struct {
				DisplayName json.RawMessage `json:"display_name"`
			} `json:"bot_user"`
		} `json:"features"`
		OAuth *struct {
			Scopes *struct {
				Bot json.RawMessage `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
		Settings *struct {
			Events *struct {
				RequestURL json.RawMessage `json:"request_url"`
				BotEvents  json.RawMessage `json:"bot_events"`
			} `json:"event_subscriptions"`
			SocketMode json.RawMessage `json:"socket_mode_enabled"`
		} `json:"settings"`
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(raw)); err != nil || !strings.HasPrefix(compact.String(), "{") {
		return nil, &ManifestError{Problems: []ManifestProblem{{Message: "Manifest is not a JSON object", Pointer: "/"}}}
	}
	if err := json.Unmarshal(compact.Bytes(), &doc); err != nil {
		return nil, &ManifestError{Problems: []ManifestProblem{{Message: "Manifest does not match the schema: " + jsonProblem(err), Pointer: "/"}}}
	}
	m := &Manifest{JSON: compact.String()}
	var probs []ManifestProblem
	bad := func(ptr, msg string) { probs = append(probs, ManifestProblem{Message: msg, Pointer: ptr}) }
	str := func(ptr string, raw json.RawMessage, dst *string, max int) {
		if raw == nil {
			return
		}
		if json.Unmarshal(raw, dst) != nil {
			bad(ptr, "Must be a string")
		} else if utf8.RuneCountInString(*dst) > max {
			bad(ptr, fmt.Sprintf("Must be at most %d characters", max))
		}
	}
	list := func(ptr string, raw json.RawMessage, dst *[]string, re *regexp.Regexp, what string) {
		if raw == nil {
			return
		}
		if json.Unmarshal(raw, dst) != nil {
			bad(ptr, "Must be an array of strings")
			return
		}
		for i, v := range *dst {
			if !re.MatchString(v) {
				bad(fmt.Sprintf("%s/%d", ptr, i), "Invalid "+what+": "+v)
			}
		}
		*dst = slices.Compact(slices.Sorted(slices.Values(*dst)))
	}
	if doc.Display != nil {
		str("/display_information/name", doc.Display.Name, &m.Name, 35)
	}
	if strings.TrimSpace(m.Name) == "" {
		bad("/display_information/name", "Must be provided")
	}
	if doc.Features != nil && doc.Features.BotUser != nil {
		str("/features/bot_user/display_name", doc.Features.BotUser.DisplayName, &m.BotName, 80)
		if strings.TrimSpace(m.BotName) == "" {
			bad("/features/bot_user/display_name", "Must be provided")
		}
	}
	if doc.OAuth != nil && doc.OAuth.Scopes != nil {
		list("/oauth_config/scopes/bot", doc.OAuth.Scopes.Bot, &m.BotScopes, scopeRe, "scope")
	}
	if doc.Settings != nil {
		if doc.Settings.SocketMode != nil && json.Unmarshal(doc.Settings.SocketMode, &m.SocketMode) != nil {
			bad("/settings/socket_mode_enabled", "Must be a boolean")
		}
		if ev := doc.Settings.Events; ev != nil {
			str("/settings/event_subscriptions/request_url", ev.RequestURL, &m.RequestURL, 2000)
			if m.RequestURL != "" {
				if u, err := url.Parse(m.RequestURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					bad("/settings/event_subscriptions/request_url", "Must be an http or https URL")
				}
			}
			list("/settings/event_subscriptions/bot_events", ev.BotEvents, &m.BotEvents, eventRe, "event")
			if m.RequestURL == "" && !m.SocketMode {
				bad("/settings/event_subscriptions", "Event Subscription requires either Request URL or Socket Mode Enabled")
			}
		}
	}
	if m.BotName == "" && (len(m.BotScopes) > 0 || len(m.BotEvents) > 0) {
		bad("/features/bot_user", "Bot scopes and events require a bot user")
	}
	if len(probs) > 0 {
		return nil, &ManifestError{Problems: probs}
	}
	if m.BotName == "" {
		// confab installs every app with a bot: one without a bot user
		// gets one named after the app.
		m.BotName = m.Name
	}
	return m, nil
}

func jsonProblem(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return "/" + strings.ReplaceAll(te.Field, ".", "/") + " must be " + te.Type.String()
	}
	return "invalid JSON"
}

// BotUserName derives a user name from a bot's display name: lowercase
// letters, digits, '-', '_' and '.', the rest as '-', at most 21
// characters, "bot" when nothing is left. n > 1 appends "-n" to make it
// unique.
func BotUserName(display string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(display) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	name := strings.Trim(b.String(), "-_.")
	suffix := ""
	if n > 1 {
		suffix = fmt.Sprintf("-%d", n)
	}
	if len(name) > 21-len(suffix) {
		name = strings.Trim(name[:21-len(suffix)], "-_.")
	}
	if name == "" {
		name = "bot"
	}
	return name + suffix
}

// WireBotProfile is Slack's bot_profile of a message posted by a bot.
type WireBotProfile struct {
	ID      string       `json:"id"`
	AppID   string       `json:"app_id"`
	Name    string       `json:"name"`
	Icons   WireBotIcons `json:"icons"`
	Deleted bool         `json:"deleted"`
	Updated int64        `json:"updated"`
	TeamID  string       `json:"team_id"`
}

// WireBotIcons are a bot's icons: confab has none yet, so the object is
// empty.
type WireBotIcons struct {
	Image36 string `json:"image_36,omitempty"`
	Image48 string `json:"image_48,omitempty"`
	Image72 string `json:"image_72,omitempty"`
}

// WireBot is bots.info's bot.
type WireBot struct {
	ID      string       `json:"id"`
	Deleted bool         `json:"deleted"`
	Name    string       `json:"name"`
	Updated int64        `json:"updated"`
	AppID   string       `json:"app_id"`
	UserID  string       `json:"user_id"`
	Icons   WireBotIcons `json:"icons"`
}

// Profile returns b as a message's bot_profile.
func (b *Bot) Profile() WireBotProfile {
	return WireBotProfile{ID: b.ID, AppID: b.AppID, Name: b.Name, Deleted: b.Deleted, Updated: b.Updated, TeamID: b.WorkspaceID}
}

// Wire returns b as bots.info answers it.
func (b *Bot) Wire() WireBot {
	return WireBot{ID: b.ID, Deleted: b.Deleted, Name: b.Name, Updated: b.Updated, AppID: b.AppID, UserID: b.UserID}
}

// TokenTypeOrUser returns typ, TokenUser for "": how a store writes a
// token's type.
func TokenTypeOrUser(typ string) string {
	if typ == "" {
		return TokenUser
	}
	return typ
}

// PrepareApp returns what a store creates for CreateApp: missing ids
// generated, the user a bot of the app's workspace, the bot pointing at
// the app and the user, the tokens the user's.
func PrepareApp(a App, b Bot, u User, tokens []*Token) (App, Bot, User, []Token) {
	if a.ID == "" {
		a.ID = NewID(PrefixApp)
	}
	if b.ID == "" {
		b.ID = NewID(PrefixBot)
	}
	u = PrepareUser(u)
	u.WorkspaceID, u.IsBot = a.WorkspaceID, true
	b.AppID, b.UserID, b.WorkspaceID = a.ID, u.ID, a.WorkspaceID
	ts := make([]Token, len(tokens))
	for i, t := range tokens {
		ts[i] = *t
		ts[i].Hash = append([]byte(nil), t.Hash...)
		ts[i].UserID = u.ID
		ts[i].Type = TokenTypeOrUser(t.Type)
	}
	return a, b, u, ts
}
