package events

import (
	"testing"

	"github.com/confab/confab"
)

// A message naming the bot raises app_mention; a topic line naming it (a
// system message, the server's) does not: nobody wrote to the bot.
func TestSystemMessageIsNoAppMention(t *testing.T) {
	bot := &confab.Bot{ID: "B1", UserID: "UBOT"}
	tg := newTarget(&confab.App{ID: "A1", WorkspaceID: "T1"}, bot,
		&confab.Manifest{BotEvents: []string{subChannels, subMention}, SocketMode: true})
	count := func(m *confab.Message) int {
		m.TS = 1_700_000_000_000_000
		return len(tg.buildNew(confab.KindPublic, m.Wire(), 1, 1, m.TS))
	}
	plain := &confab.Message{ChannelID: "C1", UserID: "U1", Text: "hi <@UBOT>"}
	if n := count(plain); n != 2 {
		t.Fatalf("a message naming the bot makes %d events, want message and app_mention", n)
	}
	topic := confab.SystemMessage("C1", "U1", confab.SubtypeChannelTopic, "", "ask <@UBOT>")
	if n := count(topic); n != 1 {
		t.Errorf("a topic line naming the bot makes %d events, want only its message", n)
	}
}
