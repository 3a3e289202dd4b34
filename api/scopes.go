package api

import (
	"slices"
	"strings"

	"github.com/confab/confab"
)

// Scopes. A bot token (xoxb-) may call a method only if its app's manifest
// grants one of the bot scopes the method needs (oauth_config.scopes.bot);
// otherwise the answer is Slack's missing_scope with what was needed and
// what the token has. A person's token (xoxp-) is not limited by scopes.
//
// Where Slack's scope depends on the kind of conversation (history:
// channels:history for a public channel, groups:history for a private
// one, …), any of the kinds' scopes lets the call through: the check is
// made before the method runs, from the method's name alone, so it costs
// no read of the conversation; whether the bot may see that conversation
// at all is then the method's check (it must be a member). needed lists
// them all, comma-separated, as Slack does.
//
// Every method of the methods table is in botScopes, scopeFree or
// notForBots (scopes_test.go checks it), so a new method cannot be left
// open to every bot by forgetting it here.

// Scope sets of the methods whose scope depends on the conversation.
var (
	readScopes    = []string{"channels:read", "groups:read", "im:read", "mpim:read"}
	historyScopes = []string{"channels:history", "groups:history", "im:history", "mpim:history"}
	manageScopes  = []string{"channels:manage", "groups:write", "im:write", "mpim:write"}
)

// botScopes are the bot scopes a method needs, any one of them, by method.
var botScopes = map[string][]string{
	"team.info": {"team:read"},

	"conversations.create":     manageScopes,
	"conversations.join":       {"channels:join"},
	"conversations.leave":      manageScopes,
	"conversations.invite":     manageScopes,
	"conversations.open":       manageScopes,
	"conversations.list":       readScopes,
	"conversations.info":       readScopes,
	"conversations.members":    readScopes,
	"conversations.history":    historyScopes,
	"conversations.replies":    historyScopes,
	"conversations.mark":       manageScopes,
	"conversations.setTopic":   manageScopes,
	"conversations.setPurpose": manageScopes,
	"conversations.archive":    manageScopes,
	"conversations.rename":     manageScopes,
	"conversations.unarchive":  manageScopes,
	"conversations.kick":       manageScopes,
	"conversations.close":      manageScopes,
	"users.conversations":      readScopes,

	"chat.postMessage":            {"chat:write"},
	"chat.update":                 {"chat:write"},
	"chat.delete":                 {"chat:write"},
	"chat.meMessage":              {"chat:write"},
	"chat.postEphemeral":          {"chat:write"},
	"chat.scheduleMessage":        {"chat:write"},
	"chat.scheduledMessages.list": {"chat:write"},
	"chat.deleteScheduledMessage": {"chat:write"},
	"reactions.add":               {"reactions:write"},
	"reactions.remove":            {"reactions:write"},
	"reactions.get":               {"reactions:read"},
	"pins.add":                    {"pins:write"},
	"pins.remove":                 {"pins:write"},
	"pins.list":                   {"pins:read"},
	"users.list":                  {"users:read"},
	"users.search":                {"users:read"},
	"users.info":                  {"users:read"},
	"users.getPresence":           {"users:read"},
	"users.setPresence":           {"users:write"},
	"conversations.typing":        {"chat:write"}, // (confab) the RTM typing frame over HTTP
	"users.lookupByEmail":         {"users:read.email"},
	"users.profile.get":           {"users.profile:read"},
	"bots.info":                   {"users:read"},
	"client.boot":                 historyScopes, // (confab) its conversations carry their latest message
	"client.counts":               readScopes,
	"client.catchup":              historyScopes,  // (confab) messages of the bot's conversations
	"rtm.connect":                 historyScopes,  // the socket delivers the messages of the bot's conversations
	"rtm.presenceSub":             {"users:read"}, // (confab) presence_sub over HTTP
	"conversations.setPrefs":      manageScopes,   // (confab) the bot's own flags in a conversation
}

// scopeFree are the methods a bot token calls whatever its scopes, as in
// Slack, and those that need no token at all.
var scopeFree = map[string]bool{
	"auth.test":         true,
	"auth.revoke":       true,
	"api.test":          true,
	"auth.signup":       true, // no token
	"auth.login":        true, // no token
	"auth.claim":        true, // no token
	"chat.getPermalink": true,
}

// notForBots are the methods a bot token may not call at all:
// not_allowed_token_type, whatever its scopes. apps.manifest.* take a
// person's token (in Slack an app configuration token), users.profile.set
// a person's own (Slack offers no bot scope for it), apps.connections.open
// an app-level token (xapp-, whose connections:write is implied; the
// method is authenticated by that token, not checked here),
// search.messages a person's (Slack's search:read is a user scope).
var notForBots = map[string]bool{
	"apps.manifest.create":  true,
	"apps.manifest.update":  true,
	"apps.manifest.delete":  true,
	"apps.manifest.export":  true,
	"users.profile.set":     true,
	"apps.connections.open": true,
	// Slack's search needs the search:read scope, a person's (user
	// token) scope that no bot has; a person's token here takes no
	// scopes. (chat.Service.Search refuses bots too, on a server
	// without apps.)
	"search.messages": true,
	// The import is the workspace owner's (chat.Service.importer).
	"admin.import.users":         true,
	"admin.import.conversations": true,
	"admin.import.messages":      true,
	"admin.import.finish":        true,
	"admin.import.claims":        true,
	// So is the export (chat.Service.exporter).
	"admin.export.users":         true,
	"admin.export.conversations": true,
	"admin.export.messages":      true,
}

// checkScopes refuses a bot's call to a method its app's scopes do not
// cover. A person's call, or one to a server without apps, passes.
func (s *Server) checkScopes(c *call, name string) error {
	if !c.user.IsBot || s.apps == nil || scopeFree[name] {
		return nil
	}
	if notForBots[name] {
		return confab.ErrNotAllowedTokenType
	}
	need, ok := botScopes[name]
	if !ok {
		// Not in the tables (scopes_test.go keeps this from happening):
		// refused rather than open to every bot.
		return confab.ErrNotAllowedTokenType
	}
	have, err := s.apps.BotScopes(c.r.Context(), c.user)
	if err != nil {
		return err
	}
	for _, sc := range need {
		if slices.Contains(have, sc) {
			return nil
		}
	}
	return &confab.ScopeError{Needed: strings.Join(need, ","), Provided: have}
}
