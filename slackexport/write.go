package slackexport

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Writer writes an export as Slack does, streaming: WriteUsers and
// WriteConversations the manifests, then each conversation's messages in
// ts order with WriteMessage, one conversation after another; Close ends
// the zip. A day file holds the messages of one UTC day.
type Writer struct {
	zip *zip.Writer

	conv string    // the folder being written, or ""
	day  string    // its day file being written, or ""
	w    io.Writer // that day file
	n    int       // messages written to it
	err  error

	buf     bytes.Buffer
	written map[string]bool // the day files written
}

// NewWriter writes an export to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{zip: zip.NewWriter(w), written: map[string]bool{}}
}

// WriteUsers writes users.json.
func (w *Writer) WriteUsers(users []User) error { return w.manifest(UsersFile, users) }

// WriteConversations writes channels.json, groups.json, dms.json and
// mpims.json, each conversation to the manifest of its Kind.
func (w *Writer) WriteConversations(convs []Conversation) error {
	byKind := make([][]Conversation, MPIM+1)
	for k := range byKind {
		byKind[k] = []Conversation{} // [] rather than null
	}
	for _, c := range convs {
		if c.Kind < Public || c.Kind > MPIM {
			return fmt.Errorf("conversation %s: kind %d is none of Public, Private, DM and MPIM", c.ID, c.Kind)
		}
		if c.Members == nil {
			c.Members = []string{}
		}
		byKind[c.Kind] = append(byKind[c.Kind], c)
	}
	for k, cs := range byKind {
		if err := w.manifest(Kind(k).File(), cs); err != nil {
			return err
		}
	}
	return nil
}

// WriteIntegrationLogs writes integration_logs.json.
func (w *Writer) WriteIntegrationLogs(logs []IntegrationLog) error {
	if logs == nil {
		logs = []IntegrationLog{}
	}
	return w.manifest(IntegrationLogsFile, logs)
}

func (w *Writer) manifest(name string, v any) error {
	if err := w.endDay(); err != nil {
		return err
	}
	f, err := w.zip.Create(name)
	if err != nil {
		return w.fail(err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return w.fail(enc.Encode(v))
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
	if c.Folder() != w.conv || day != w.day {
		if err := w.endDay(); err != nil {
			return err
		}
		name := c.Folder() + "/" + day + ".json"
		if w.written[name] {
			return fmt.Errorf("%s: written before: a conversation's messages must come together and in ts order", name)
		}
		w.written[name] = true
		f, err := w.zip.Create(name)
		if err != nil {
			return w.fail(err)
		}
		if _, err := io.WriteString(f, "["); err != nil {
			return w.fail(err)
		}
		w.conv, w.day, w.w, w.n = c.Folder(), day, f, 0
	}
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false) // "<@U123>" as Slack writes it
	if err := enc.Encode(m); err != nil {
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
	_, err = w.w.Write(b)
	return w.fail(err)
}

// endDay closes the day file being written.
func (w *Writer) endDay() error {
	if w.err != nil {
		return w.err
	}
	if w.w == nil {
		return nil
	}
	_, err := io.WriteString(w.w, "\n]\n")
	w.w, w.day, w.conv = nil, "", ""
	return w.fail(err)
}

func (w *Writer) fail(err error) error {
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("writing the export: %w", err)
	}
	return w.err
}

// Close ends the zip; it does not close the underlying writer.
func (w *Writer) Close() error {
	err := w.endDay()
	return errors.Join(err, w.zip.Close())
}
