package slackexport

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Writer writes an export as Slack does, streaming: the manifests first —
// users (WriteUser, or WriteUsers for a whole list), then conversations
// (WriteConversation, grouped by Kind, or WriteConversations) — then each
// conversation's messages in ts order with WriteMessage, one conversation
// after another; Close ends the zip. A zip is written one file at a time,
// so each file is written once: the users together, the conversations of
// one Kind together. A manifest not written by the first message (a
// workspace without DMs, say) is written empty. A day file holds the
// messages of one UTC day. Only the element being written is held.
type Writer struct {
	zip *zip.Writer

	file   string    // the JSON array being written, or ""
	w      io.Writer // that file
	n      int       // elements written to it
	indent bool      // a manifest's: each element indented, as Slack's are

	conv string // the folder of the day file being written, or ""
	day  string // its day
	err  error

	buf     bytes.Buffer
	written map[string]bool // the files written
}

// NewWriter writes an export to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{zip: zip.NewWriter(w), written: map[string]bool{}}
}

// WriteUsers writes users.json.
func (w *Writer) WriteUsers(users []User) error {
	if err := w.open(UsersFile, true); err != nil {
		return err
	}
	for i := range users {
		if err := w.element(&users[i]); err != nil {
			return err
		}
	}
	return w.end()
}

// WriteUser adds u to users.json.
func (w *Writer) WriteUser(u *User) error {
	if w.file != UsersFile {
		if err := w.open(UsersFile, true); err != nil {
			return err
		}
	}
	return w.element(u)
}

// WriteConversations writes channels.json, groups.json, dms.json and
// mpims.json, each conversation to the manifest of its Kind.
func (w *Writer) WriteConversations(convs []Conversation) error {
	byKind := slices.Clone(convs)
	slices.SortStableFunc(byKind, func(a, b Conversation) int { return int(a.Kind) - int(b.Kind) })
	for i := range byKind {
		if err := w.WriteConversation(&byKind[i]); err != nil {
			return err
		}
	}
	return w.endManifests()
}

// WriteConversation adds c to the manifest of its Kind. The conversations
// of one Kind come together.
func (w *Writer) WriteConversation(c *Conversation) error {
	if c.Kind < Public || c.Kind > MPIM {
		return fmt.Errorf("conversation %s: kind %d is none of Public, Private, DM and MPIM", c.ID, c.Kind)
	}
	if name := c.Kind.File(); w.file != name {
		if err := w.open(name, true); err != nil {
			return err
		}
	}
	if c.Members == nil {
		cp := *c
		cp.Members = []string{} // [] rather than null
		c = &cp
	}
	return w.element(c)
}

// WriteIntegrationLogs writes integration_logs.json.
func (w *Writer) WriteIntegrationLogs(logs []IntegrationLog) error {
	if err := w.open(IntegrationLogsFile, true); err != nil {
		return err
	}
	for i := range logs {
		if err := w.element(&logs[i]); err != nil {
			return err
		}
	}
	return w.end()
}

// endManifests ends the manifest being written and writes those not
// written yet, empty.
func (w *Writer) endManifests() error {
	if err := w.end(); err != nil {
		return err
	}
	for _, name := range []string{UsersFile, ChannelsFile, GroupsFile, DMsFile, MPIMsFile} {
		if w.written[name] {
			continue
		}
		if err := w.open(name, true); err != nil {
			return err
		}
		if err := w.end(); err != nil {
			return err
		}
	}
	return nil
}

// WriteMessage adds m to c's day file of m's UTC day. Messages of a
// conversation come in ts order, and a conversation's all come before the
// next conversation's: a zip is written one file at a time.
func (w *Writer) WriteMessage(c *Conversation, m *Message) error {
	if w.err != nil {
		return w.err
	}
	ts, err := ParseTS(m.TS)
	if err != nil {
		return err
	}
	day := time.UnixMicro(ts).UTC().Format(time.DateOnly)
	if w.conv == "" || c.Folder() != w.conv || day != w.day {
		if w.conv == "" {
			if err := w.endManifests(); err != nil {
				return err
			}
		}
		if err := w.open(c.Folder()+"/"+day+".json", false); err != nil {
			return err
		}
		w.conv, w.day = c.Folder(), day
	}
	return w.element(m)
}

// open ends the file being written and starts the JSON array name.
func (w *Writer) open(name string, indent bool) error {
	if err := w.end(); err != nil {
		return err
	}
	if w.written[name] {
		return fmt.Errorf("%s: written before: a conversation's messages, the users, the conversations of a kind must come together, and messages in ts order", name)
	}
	w.written[name] = true
	f, err := w.zip.Create(name)
	if err != nil {
		return w.fail(err)
	}
	if _, err := io.WriteString(f, "["); err != nil {
		return w.fail(err)
	}
	w.file, w.w, w.n, w.indent = name, f, 0, indent
	return nil
}

// element adds v to the array being written.
func (w *Writer) element(v any) error {
	if w.err != nil {
		return w.err
	}
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false) // "<@U123>" as Slack writes it
	if w.indent {
		enc.SetIndent("    ", "    ")
	}
	if err := enc.Encode(v); err != nil {
		return w.fail(err)
	}
	b := bytes.TrimSuffix(w.buf.Bytes(), []byte("\n"))
	sep := ",\n    "
	if w.n == 0 {
		sep = "\n    "
	}
	w.n++
	if _, err := io.WriteString(w.w, sep); err != nil {
		return w.fail(err)
	}
	_, err := w.w.Write(b)
	return w.fail(err)
}

// end closes the array being written.
func (w *Writer) end() error {
	if w.err != nil {
		return w.err
	}
	if w.w == nil {
		return nil
	}
	tail := "\n]\n"
	if w.n == 0 {
		tail = "]\n" // [] rather than an empty line in brackets
	}
	_, err := io.WriteString(w.w, tail)
	w.file, w.w, w.conv, w.day = "", nil, "", ""
	return w.fail(err)
}

func (w *Writer) fail(err error) error {
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("writing the export: %w", err)
	}
	return w.err
}

// Close ends the zip, writing the manifests not written yet, empty; it
// does not close the underlying writer.
func (w *Writer) Close() error {
	err := w.endManifests()
	return errors.Join(err, w.zip.Close())
}
