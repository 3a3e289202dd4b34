package slackexport

import (
	"archive/zip"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"slices"
	"strings"
	"time"
)

// Why an entry was skipped, or a part of it dropped: the Reason of an
// EntryError.
const (
	NotJSON             = "not JSON"
	NoID                = "no id"
	DuplicateID         = "duplicate id"
	NoTS                = "no ts"
	BadTS               = "bad ts"
	DuplicateTS         = "duplicate ts"
	OutOfOrder          = "out of order"
	NoAuthor            = "no user or bot_id"
	UnknownUser         = "unknown user"
	MissingParent       = "thread parent missing"
	UnknownConversation = "unknown conversation"
	NotDayFile          = "not a day file"
	UnreadableFile      = "unreadable file"
	TooLarge            = "too large"
)

// MaxDayFile is the largest day file read, uncompressed: a day file is
// read whole to be sorted, and a zip's few bytes may claim gigabytes.
// Slack's are a few megabytes at most.
const MaxDayFile = 256 << 20

// EntryError is a problem with one entry of an export: a user, a
// conversation, a day file or a message. The entry is skipped, or — when
// the reader says so — only a part of it dropped; reading goes on.
type EntryError struct {
	File   string // the zip entry, e.g. "general/2020-01-02.json"
	Entry  string // e.g. "message 3 (ts 1577934000.000200)"; empty for the whole file
	Reason string // one of the constants above, for counting
	Err    error  // what exactly
}

func (e *EntryError) Error() string {
	s := e.File
	if e.Entry != "" {
		s += ": " + e.Entry
	}
	return s + ": " + e.Reason + ": " + e.Err.Error()
}

func (e *EntryError) Unwrap() error { return e.Err }

// Reader reads an export from a zip. Open reads the manifests (users and
// conversations, held in memory); Messages streams a conversation's day
// files one at a time, so that memory is bounded by the largest day file
// whatever the size of the export.
type Reader struct {
	zip    *zip.Reader
	prefix string // a folder the whole export sits in, or ""

	Users           []User
	Conversations   []Conversation // public, private, DMs, group DMs: in this order, each as its manifest lists them
	IntegrationLogs []IntegrationLog

	// Problems are the manifests' problems, and folders that are no
	// conversation's, found by Open.
	Problems []*EntryError

	users   map[string]bool
	folders map[string][]*zip.File // a conversation's folder: its day files in date order
}

// Open reads an export from r, a zip of size bytes. It fails, naming the
// file, if r is not a zip or lacks users.json or channels.json, or if a
// manifest is not a JSON array; problems of single entries are in
// Problems.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	x := &Reader{zip: zr, users: map[string]bool{}, folders: map[string][]*zip.File{}}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	// An export zipped with its folder around it is read the same.
	if files[UsersFile] == nil && files[OrgUsersFile] == nil && files[ChannelsFile] == nil {
		for name := range files {
			if dir, base := path.Split(name); (base == ChannelsFile) && strings.Count(dir, "/") == 1 {
				x.prefix = dir
				break
			}
		}
	}
	usersFile := x.prefix + UsersFile
	if files[usersFile] == nil && files[x.prefix+OrgUsersFile] != nil {
		usersFile = x.prefix + OrgUsersFile
	}
	for _, need := range []string{usersFile, x.prefix + ChannelsFile} {
		if files[need] == nil {
			return nil, fmt.Errorf("not a Slack export: no %s in the zip", need)
		}
	}

	if err := readArray(files[usersFile], func(i int, raw json.RawMessage) {
		var u User
		if err := json.Unmarshal(raw, &u); err != nil {
			x.problem(usersFile, fmt.Sprintf("user %d", i), NotJSON, err)
			return
		}
		entry := fmt.Sprintf("user %d (%s)", i, u.ID)
		switch {
		case u.ID == "":
			x.problem(usersFile, fmt.Sprintf("user %d", i), NoID, errors.New("a user needs an id"))
		case x.users[u.ID]:
			x.problem(usersFile, entry, DuplicateID, errors.New("listed before"))
		default:
			x.users[u.ID] = true
			x.Users = append(x.Users, u)
		}
	}); err != nil {
		return nil, err
	}

	seen := map[string]bool{}
	for k := Public; k <= MPIM; k++ {
		f := files[x.prefix+k.File()]
		if f == nil {
			continue // an export of public channels only
		}
		if err := readArray(f, func(i int, raw json.RawMessage) {
			c := Conversation{Kind: k}
			if err := json.Unmarshal(raw, &c); err != nil {
				x.problem(f.Name, fmt.Sprintf("conversation %d", i), NotJSON, err)
				return
			}
			c.Kind = k
			entry := fmt.Sprintf("conversation %d (%s)", i, c.ID)
			switch {
			case c.ID == "":
				x.problem(f.Name, fmt.Sprintf("conversation %d", i), NoID, errors.New("a conversation needs an id"))
				return
			case seen[c.ID]:
				x.problem(f.Name, entry, DuplicateID, errors.New("listed before"))
				return
			}
			seen[c.ID] = true
			members := c.Members[:0]
			for _, m := range c.Members {
				if x.users[m] {
					members = append(members, m)
				} else {
					x.problem(f.Name, entry, UnknownUser, fmt.Errorf("member %q is not in %s; left out of the members", m, path.Base(usersFile)))
				}
			}
			c.Members = members
			x.Conversations = append(x.Conversations, c)
		}); err != nil {
			return nil, err
		}
	}

	if f := files[x.prefix+IntegrationLogsFile]; f != nil {
		if err := readArray(f, func(i int, raw json.RawMessage) {
			var l IntegrationLog
			if err := json.Unmarshal(raw, &l); err != nil {
				x.problem(f.Name, fmt.Sprintf("log %d", i), NotJSON, err)
				return
			}
			x.IntegrationLogs = append(x.IntegrationLogs, l)
		}); err != nil {
			x.problem(f.Name, "", NotJSON, err)
		}
	}

	// Day files, by folder.
	known := map[string]bool{}
	for _, c := range x.Conversations {
		known[c.Folder()] = true
	}
	strays := map[string]int{}
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, x.prefix)
		if !ok || f.FileInfo().IsDir() {
			continue
		}
		folder, base := path.Split(name)
		if folder == "" {
			continue // a manifest, or a file of Slack's we do not read
		}
		folder = strings.TrimSuffix(folder, "/")
		if !known[folder] {
			strays[folder]++
			continue
		}
		if strings.Contains(folder, "/") || !isDayFile(base) {
			x.problem(f.Name, "", NotDayFile, errors.New("not a YYYY-MM-DD.json file of a conversation's folder; skipped"))
			continue
		}
		x.folders[folder] = append(x.folders[folder], f)
	}
	for folder, n := range strays {
		x.problem(x.prefix+folder+"/", "", UnknownConversation, fmt.Errorf("no conversation of channels.json, groups.json, dms.json or mpims.json has this folder; its %d files are skipped", n))
	}
	slices.SortFunc(x.Problems, func(a, b *EntryError) int { return strings.Compare(a.File, b.File) })
	for _, days := range x.folders {
		slices.SortFunc(days, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	}
	return x, nil
}

// isDayFile reports whether name is YYYY-MM-DD.json.
func isDayFile(name string) bool {
	day, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return false
	}
	_, err := time.Parse(time.DateOnly, day)
	return err == nil
}

func (x *Reader) problem(file, entry, reason string, err error) {
	x.Problems = append(x.Problems, &EntryError{File: file, Entry: entry, Reason: reason, Err: err})
}

// IsUser reports whether id is a user of users.json.
func (x *Reader) IsUser(id string) bool { return x.users[id] }

// Days is the number of day files of c.
func (x *Reader) Days(c *Conversation) int { return len(x.folders[c.Folder()]) }

// readArray streams the JSON array of f, calling fn with each element. It
// fails if f is not a JSON array; an element that does not parse as JSON
// ends the file with an error too, since the rest cannot be found.
func readArray(f *zip.File, fn func(i int, raw json.RawMessage)) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%s: not a JSON array (%v)", f.Name, orTok(err, tok))
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%s: element %d: %w", f.Name, i, err)
		}
		fn(i, raw)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return nil
}

func orTok(err error, tok json.Token) any {
	if err != nil {
		return err
	}
	return fmt.Sprintf("starts with %v", tok)
}

// Messages streams the messages of c in ts order: day files in date order,
// each read whole and sorted by ts (Slack writes them in order, but this
// does not rely on it). It yields (m, nil) for a message; (nil, err) for
// an entry skipped, err an *EntryError naming file and entry: a day file
// that is not a JSON array of messages; a message without a valid ts,
// with the ts of another, with a ts earlier than a message of the day
// file before (so that it cannot come in order), without a user or
// bot_id, or by a user who is not in users.json; a reply whose thread
// parent is not in the conversation. It yields (m, err) for a message
// read without a part, err saying which (a reaction's user who is not in
// users.json). Messages of a day file written after its elements went
// wrong are not read.
//
// Only the day file being read and the ts of the conversation's thread
// parents are held.
func (x *Reader) Messages(c *Conversation) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		parents := map[string]bool{}
		var last int64 // the ts of the message before
		for _, f := range x.folders[c.Folder()] {
			msgs, errs := x.readDay(f)
			for _, err := range errs {
				if !yield(nil, err) {
					return
				}
			}
			for _, dm := range msgs {
				m := dm.m
				bad := func(reason string, err error) *EntryError {
					return &EntryError{File: f.Name, Entry: fmt.Sprintf("message %d (ts %s)", dm.i, m.TS), Reason: reason, Err: err}
				}
				var err *EntryError
				switch {
				case dm.ts == last:
					err = bad(DuplicateTS, errors.New("another message of the conversation has this ts"))
				case dm.ts < last:
					err = bad(OutOfOrder, fmt.Errorf("earlier than the last message of the day file before (ts %s)", FormatTS(last)))
				case m.User == "" && m.BotID == "":
					err = bad(NoAuthor, errors.New("a message needs a user or a bot_id"))
				case m.User != "" && !x.users[m.User] && m.BotID == "":
					err = bad(UnknownUser, fmt.Errorf("user %q is not in users.json", m.User))
				case m.IsReply() && !parents[m.ThreadTS]:
					err = bad(MissingParent, fmt.Errorf("thread_ts %s is no earlier message of the conversation", m.ThreadTS))
				}
				last = max(last, dm.ts)
				if err != nil {
					if !yield(nil, err) {
						return
					}
					continue
				}
				if m.IsThreadParent() {
					parents[m.TS] = true
				}
				if e := x.dropUnknownReactors(m); e != nil {
					if !yield(m, bad(UnknownUser, e)) {
						return
					}
					continue
				}
				if !yield(m, nil) {
					return
				}
			}
		}
	}
}

// dropUnknownReactors leaves out of m's reactions the users who are not in
// users.json, and says whom it left out.
func (x *Reader) dropUnknownReactors(m *Message) error {
	var gone []string
	rs := m.Reactions[:0]
	for _, r := range m.Reactions {
		users := r.Users[:0]
		for _, u := range r.Users {
			if x.users[u] {
				users = append(users, u)
			} else {
				gone = append(gone, u)
			}
		}
		if r.Users = users; len(users) > 0 {
			r.Count = len(users)
			rs = append(rs, r)
		}
	}
	m.Reactions = rs
	if len(gone) == 0 {
		return nil
	}
	return fmt.Errorf("reactions by %s, who are not in users.json, left out", strings.Join(gone, ", "))
}

type dayMessage struct {
	i  int   // index in the day file
	ts int64 // parsed
	m  *Message
}

// readDay reads a day file whole and sorts its messages by ts; errs are
// the entries skipped.
func (x *Reader) readDay(f *zip.File) (msgs []dayMessage, errs []error) {
	fail := func(entry, reason string, err error) {
		errs = append(errs, &EntryError{File: f.Name, Entry: entry, Reason: reason, Err: err})
	}
	if f.UncompressedSize64 > MaxDayFile {
		fail("", TooLarge, fmt.Errorf("%d bytes uncompressed, more than the %d a day file may have; the file is skipped", f.UncompressedSize64, MaxDayFile))
		return nil, errs
	}
	rc, err := f.Open()
	if err != nil {
		fail("", UnreadableFile, err)
		return nil, errs
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		fail("", NotJSON, fmt.Errorf("not a JSON array of messages (%v); the file is skipped", orTok(err, tok)))
		return nil, errs
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			fail(fmt.Sprintf("message %d", i), NotJSON, fmt.Errorf("%w; the rest of the file is skipped", err))
			break
		}
		m := new(Message)
		if err := json.Unmarshal(raw, m); err != nil {
			fail(fmt.Sprintf("message %d", i), NotJSON, err)
			continue
		}
		if m.TS == "" {
			fail(fmt.Sprintf("message %d", i), NoTS, errors.New("a message needs a ts"))
			continue
		}
		ts, err := ParseTS(m.TS)
		if err != nil {
			fail(fmt.Sprintf("message %d", i), BadTS, err)
			continue
		}
		msgs = append(msgs, dayMessage{i: i, ts: ts, m: m})
	}
	slices.SortStableFunc(msgs, func(a, b dayMessage) int { return cmp.Compare(a.ts, b.ts) })
	return msgs, errs
}
