package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/confab/confab/slackexport"
)

// The import's real run: the walk of readExport sends what it reads to
// the server's admin.import.* methods, as any client would. Users first,
// then conversations, then each conversation's messages in batches;
// every method is idempotent, so a run killed anywhere is run again with
// the same command.

// Batches: at most so many items, and so many bytes of JSON, which keeps
// a request well under the server's body limit (1 MiB by default).
const (
	importUserBatch    = 500
	importConvBatch    = 200
	importMessageBatch = 1000
	importBatchBytes   = 768 << 10
)

// importWriter sends an export to a server.
type importWriter struct {
	api, token string
	users      map[string]string // Slack user id → confab id
	bots       map[string]string // Slack bot id → the confab id of its bot user (botUser)
	convs      map[string]string // Slack conversation id → confab id

	conv     *slackexport.Conversation
	convID   string
	failed   bool // the current conversation's messages are refused: skip the rest
	diverted bool // the export's general channel has a channel of its own (divert)
	batch    []json.RawMessage
	inflight []flight // the batches sent and not yet answered, oldest first
	size     int
	created  int
	skipped  int // there already
	renamed  []string
	out      io.Writer
	sum      *importSummary
}

// start imports the users and the conversations.
func (w *importWriter) start(ctx context.Context, x *slackexport.Reader) error {
	w.users, w.bots, w.convs = map[string]string{}, map[string]string{}, map[string]string{}
	for i := 0; i < len(x.Users); i += importUserBatch {
		part := x.Users[i:min(i+importUserBatch, len(x.Users))]
		var r struct {
			Users   map[string]string `json:"users"`
			Renamed map[string]string `json:"renamed"`
			Matched []string          `json:"matched"`
		}
		if err := callAPI(ctx, w.api, w.token, "admin.import.users", map[string]any{"users": part}, &r); err != nil {
			return err
		}
		for k, v := range r.Users {
			w.users[k] = v
		}
		for k, v := range r.Renamed {
			w.renamed = append(w.renamed, fmt.Sprintf("user %s: named %s (its name is another user's)", k, v))
		}
		for _, k := range r.Matched {
			w.renamed = append(w.renamed, fmt.Sprintf("user %s: is %s, who has the same email", k, r.Users[k]))
		}
	}
	for _, u := range x.Users {
		if u.Profile.BotID != "" && w.users[u.ID] != "" {
			w.bots[u.Profile.BotID] = w.users[u.ID]
		}
	}
	for i := 0; i < len(x.Conversations); i += importConvBatch {
		var part []importConv
		for _, c := range x.Conversations[i:min(i+importConvBatch, len(x.Conversations))] {
			part = append(part, w.asImported(c))
		}
		if err := w.importConversations(ctx, part); err != nil {
			return err
		}
	}
	sort.Strings(w.renamed)
	return nil
}

// importConv is a conversation as admin.import.conversations takes it.
type importConv struct {
	slackexport.Conversation
	Type string `json:"type"`
}

var importKinds = [...]string{slackexport.Public: "public", slackexport.Private: "private", slackexport.DM: "dm", slackexport.MPIM: "group_dm"}

// asImported is c with its users made confab's.
func (w *importWriter) asImported(c slackexport.Conversation) importConv {
	c.Creator = w.users[c.Creator]
	var ms []string
	for _, m := range c.Members {
		if id := w.users[m]; id != "" {
			ms = append(ms, id)
		}
	}
	c.Members = ms
	for _, t := range []**slackexport.Topic{&c.Topic, &c.Purpose} {
		if *t != nil {
			cp := **t
			cp.Creator = w.users[cp.Creator]
			*t = &cp
		}
	}
	return importConv{c, importKinds[c.Kind]}
}

// importConversations sends conversations to the server and keeps their
// confab ids.
func (w *importWriter) importConversations(ctx context.Context, part []importConv) error {
	var r struct {
		Conversations map[string]string `json:"conversations"`
		Renamed       map[string]string `json:"renamed"`
	}
	if err := callAPI(ctx, w.api, w.token, "admin.import.conversations", map[string]any{"conversations": part}, &r); err != nil {
		return err
	}
	for k, v := range r.Conversations {
		w.convs[k] = v
	}
	for k, v := range r.Renamed {
		w.renamed = append(w.renamed, fmt.Sprintf("conversation %s: named #%s (its name is another channel's)", k, v))
	}
	return nil
}

// conversation starts a conversation's messages.
func (w *importWriter) conversation(c *slackexport.Conversation) {
	w.conv, w.convID, w.failed = c, w.convs[c.ID], false
}

// botName is the name a bot's message shows.
func botName(m *slackexport.Message) string {
	switch {
	case m.Username != "":
		return m.Username
	case m.BotProfile != nil && m.BotProfile.Name != "":
		return m.BotProfile.Name
	}
	return m.BotID
}

// botUser is the confab user of a bot that users.json does not have: a bot
// user, made the first time one of its messages is met, through
// admin.import.users as the export's users are (its Slack id the bot's,
// so that another run finds the same).
func (w *importWriter) botUser(ctx context.Context, m *slackexport.Message) (string, error) {
	name := botName(m)
	u := slackexport.User{ID: m.BotID, Name: name, RealName: name, IsBot: true,
		Profile: slackexport.Profile{RealName: name, BotID: m.BotID}}
	var r struct {
		Users   map[string]string `json:"users"`
		Renamed map[string]string `json:"renamed"`
	}
	if err := callAPI(ctx, w.api, w.token, "admin.import.users", map[string]any{"users": []slackexport.User{u}}, &r); err != nil {
		return "", err
	}
	id := r.Users[m.BotID]
	if id == "" {
		return "", fmt.Errorf("admin.import.users: no user for bot %s", m.BotID)
	}
	if to := r.Renamed[m.BotID]; to != "" {
		w.renamed = append(w.renamed, fmt.Sprintf("bot %s: named %s (its name is another user's)", m.BotID, to))
	}
	w.bots[m.BotID] = id
	return id, nil
}

// mentionIDRE finds a mention's user id, with its optional label.
var mentionIDRE = regexp.MustCompile(`<@([UW][A-Z0-9]+)(\|[^>]*)?>`)

// mentions makes the users mentioned in text (<@U…>) confab's.
func (w *importWriter) mentions(text string) string {
	return mentionIDRE.ReplaceAllStringFunc(text, func(s string) string {
		sub := mentionIDRE.FindStringSubmatch(s)
		if id := w.users[sub[1]]; id != "" {
			return "<@" + id + sub[2] + ">"
		}
		return s
	})
}

// userFieldRE finds, in a message's blocks or attachments as JSON, a
// field that names a user: a rich text's {"type": "user", "user_id": …},
// a context's or a section's "user", a shared message's "author_id".
var userFieldRE = regexp.MustCompile(`"(user_id|user|author_id)"\s*:\s*"([UW][A-Z0-9]+)"`)

// jsonUsers makes the users that blocks or attachments name confab's:
// the fields that name one and the mentions in their texts. The JSON is
// rewritten as text, so that it stays byte for byte what the export had
// but for those ids (a mention's id is letters and digits: nothing to
// escape).
func (w *importWriter) jsonUsers(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	s := userFieldRE.ReplaceAllStringFunc(string(raw), func(s string) string {
		sub := userFieldRE.FindStringSubmatch(s)
		if id := w.users[sub[2]]; id != "" {
			return `"` + sub[1] + `":"` + id + `"`
		}
		return s
	})
	return json.RawMessage(w.mentions(s))
}

// message adds a message to the batch, its users made confab's, and
// sends the batch when full.
func (w *importWriter) message(ctx context.Context, m *slackexport.Message) error {
	if w.failed || w.convID == "" {
		return nil
	}
	cp := *m
	switch {
	case w.users[m.User] != "":
		cp.User = w.users[m.User]
	case w.bots[m.BotID] != "":
		cp.User = w.bots[m.BotID]
	default:
		// A bot of no user of the export (a legacy integration, an app
		// since removed; the reader passes no other message of no known
		// user): by a bot user made for it, under its name.
		id, err := w.botUser(ctx, m)
		if err != nil {
			return err
		}
		cp.User, cp.Username = id, botName(m)
	}
	cp.Text = w.mentions(m.Text)
	cp.Blocks, cp.Attachments = w.jsonUsers(m.Blocks), w.jsonUsers(m.Attachments)
	cp.Reactions = nil
	for _, r := range m.Reactions {
		var who []string
		for _, u := range r.Users {
			if id := w.users[u]; id != "" {
				who = append(who, id)
			}
		}
		if len(who) > 0 {
			cp.Reactions = append(cp.Reactions, slackexport.Reaction{Name: r.Name, Users: who, Count: len(who)})
		}
	}
	// Kept out: what the server would not read.
	cp.UserProfile, cp.Replies, cp.ReplyUsers = nil, nil, nil
	raw, err := json.Marshal(&cp)
	if err != nil {
		return err
	}
	if len(w.batch) > 0 && (len(w.batch) == importMessageBatch || w.size+len(raw) > importBatchBytes) {
		if err := w.flush(ctx); err != nil {
			return err
		}
	}
	w.batch = append(w.batch, raw)
	w.size += len(raw) + 1
	return nil
}

// flush sends the batch, in the background: the reading of the next
// batch overlaps the server's writing of this one. A conversation's
// batches go one at a time, so that they reach the server in order: a
// batch is sent only once the one before it is answered. Another
// conversation's last batch may still be in flight beside it
// (importInFlight at most), so that the server writes one while it reads
// the other. finish waits for the last.
//
// A refusal of the server (a conversation that holds newer messages,
// say) is a problem of the conversation, whose other messages are then
// skipped, but for the general channel's, which settle diverts; a
// failure to reach the server stops the run.
func (w *importWriter) flush(ctx context.Context) error {
	for len(w.inflight) > 0 && (len(w.inflight) >= importInFlight || w.sending(w.conv)) {
		if err := w.settle(ctx); err != nil {
			return err
		}
	}
	if len(w.batch) == 0 || w.failed {
		w.batch, w.size = w.batch[:0], 0
		return nil
	}
	batch, conv, id := w.batch, w.conv, w.convID
	w.batch, w.size = make([]json.RawMessage, 0, importMessageBatch), 0
	w.inflight = append(w.inflight, w.send(ctx, conv, id, batch))
	return nil
}

// importInFlight is how many batches may be in flight: a conversation's
// one, and the last of the conversation before.
const importInFlight = 2

// flight is a batch sent; answer its answer.
type (
	flight struct {
		conv *slackexport.Conversation
		done chan answer
	}
	answer struct {
		err              error
		created, skipped int
	}
)

// send sends a batch of conv's messages to the channel id, in the
// background, and returns where its answer will be.
func (w *importWriter) send(ctx context.Context, conv *slackexport.Conversation, id string, batch []json.RawMessage) flight {
	f := flight{conv: conv, done: make(chan answer, 1)}
	go func() {
		var r struct {
			Created int `json:"created"`
			Skipped int `json:"skipped"`
		}
		err := callAPI(ctx, w.api, w.token, "admin.import.messages",
			map[string]any{"channel": id, "messages": batch}, &r)
		var refused *apiError
		if errors.As(err, &refused) {
			err = &refusal{conv: conv, batch: batch, code: refused.code}
		}
		f.done <- answer{err: err, created: r.Created, skipped: r.Skipped}
	}()
	return f
}

// sending reports whether a batch of c is in flight.
func (w *importWriter) sending(c *slackexport.Conversation) bool {
	for _, f := range w.inflight {
		if f.conv == c {
			return true
		}
	}
	return false
}

// settle waits for the oldest batch in flight, if any.
func (w *importWriter) settle(ctx context.Context) error {
	if len(w.inflight) == 0 {
		return nil
	}
	a := <-w.inflight[0].done
	w.inflight = w.inflight[1:]
	w.created += a.created
	w.skipped += a.skipped
	var r *refusal
	if errors.As(a.err, &r) && r.code == "import_out_of_order" && r.conv.IsGeneral && !w.diverted {
		return w.divert(ctx, r)
	}
	if errors.As(a.err, &r) {
		if r.conv == w.conv {
			w.failed = true
		}
		w.sum.problem(&slackexport.EntryError{File: r.conv.Folder() + "/", Reason: "refused by the server",
			Err: fmt.Errorf("%d messages and the rest of the conversation: %s", len(r.batch), r.code)})
		return nil
	}
	return a.err
}

// divert moves the history of the export's general channel to a channel
// of its own when the workspace's general channel holds messages newer
// than it (sign-ups' join lines, talk), before which it cannot go: seqs
// follow ts. That channel is the export's general as a plain public one,
// named like it ("general-2", its name being taken), and found again by
// its id on another run. The refused batch is sent there, and the rest of
// the conversation follows it.
func (w *importWriter) divert(ctx context.Context, r *refusal) error {
	w.diverted = true
	c := w.asImported(*r.conv)
	c.IsGeneral = false
	if err := w.importConversations(ctx, []importConv{c}); err != nil {
		return err
	}
	id := w.convs[r.conv.ID]
	if id == "" {
		return fmt.Errorf("admin.import.conversations: no channel for %s", r.conv.ID)
	}
	w.renamed = append(w.renamed, fmt.Sprintf("conversation %s: its history is in a channel of its own, "+
		"the workspace's general channel having messages newer than it", r.conv.ID))
	if r.conv == w.conv {
		w.convID = id
	}
	// The refused batch again, ahead of any other in flight.
	w.inflight = append([]flight{w.send(ctx, r.conv, id, r.batch)}, w.inflight...)
	return w.settle(ctx)
}

// refusal is a batch the server refused.
type refusal struct {
	conv  *slackexport.Conversation
	batch []json.RawMessage
	code  string
}

func (r *refusal) Error() string { return r.code }

// apiError is a Web API method's answer that is not ok.
type apiError struct{ method, code string }

func (e *apiError) Error() string { return e.method + ": " + e.code }

// callAPI calls a Web API method with a token and a JSON body and decodes
// its answer into out, failing with an *apiError if it is not ok.
func callAPI(ctx context.Context, api, token, method string, args map[string]any, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", api+"/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := importClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var ok struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil {
		return fmt.Errorf("%s: status %d and not a Web API answer: is %s a confab server's API?", method, resp.StatusCode, api)
	}
	if !ok.OK {
		return &apiError{method, ok.Error}
	}
	return json.Unmarshal(raw, out)
}

func (w *importWriter) finish(ctx context.Context) error {
	for len(w.inflight) > 0 {
		if err := w.settle(ctx); err != nil {
			return err
		}
	}
	var r struct{}
	return callAPI(ctx, w.api, w.token, "admin.import.finish", map[string]any{}, &r)
}

// claimLink is a link of admin.import.claims.
type claimLink struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	URL     string `json:"url"`
	Expires int64  `json:"expires"`
}

// claims asks the server for a claim link of each imported user still
// unclaimed (admin.import.claims, importUserBatch ids a call), sorted by
// name. The server leaves out the others: claimed, bots, deleted.
func (w *importWriter) claims(ctx context.Context, signup bool) ([]claimLink, error) {
	ids := make([]string, 0, len(w.users))
	seen := map[string]bool{}
	for _, id := range w.users {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []claimLink
	for i := 0; i < len(ids); i += importUserBatch {
		var r struct {
			Claims []claimLink `json:"claims"`
		}
		args := map[string]any{"users": ids[i:min(i+importUserBatch, len(ids))], "claim_by_signup": signup}
		if err := callAPI(ctx, w.api, w.token, "admin.import.claims", args, &r); err != nil {
			return nil, err
		}
		out = append(out, r.Claims...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// print writes what the run wrote, after the summary of what it read.
func (w *importWriter) print(out io.Writer) {
	fmt.Fprintf(out, "%-15s %d new, %d there already\n", "imported:", w.created, w.skipped)
	fmt.Fprintf(out, "%-15s %d users, %d conversations\n", "mapped:", len(w.users), len(w.convs))
	if len(w.renamed) > 0 {
		fmt.Fprintln(out, strings.Join(w.renamed, "\n"))
	}
}
