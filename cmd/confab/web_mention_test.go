package main

import (
	"fmt"
	"testing"
)

// In a muted channel only a mention by name raises the @ badge, on every
// tab; reading elsewhere (conversations.mark from another client) clears
// the badges of every tab from the channel_marked event's counts.
func TestWebMutedMentionsAndMarkElsewhere(t *testing.T) {
	m, browser, alice, bob, general, noisy := twoChannels(t, "noisy")
	bob.must("conversations.setPrefs", obj{"channel": noisy, "is_muted": true})

	b1 := signedIn(t, browser, m, "bob", general)
	b2 := newTab(t, browser, "bob2", true)
	b2.login(m.URL(), "acme", "bob", "correct horse bob")
	b2.openChannel(general)
	item := func(id string) string {
		return fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]')`, id)
	}
	alice.post(noisy, "<!channel> lunch")
	alice.post(noisy, "<!here> cake")
	last := alice.post(noisy, "<@"+bob.userID+"> your turn")
	for _, tab := range []*tab{b1, b2} {
		tab.waitFor("three unread, one mention (by name)", item(noisy)+`?.dataset.unread === '3' && `+
			item(noisy)+`.dataset.mentions === '1' && `+item(noisy)+`.querySelector('.badge.mention')?.textContent === '@1'`)
	}
	bob.must("conversations.mark", obj{"channel": noisy, "ts": last})
	for _, tab := range []*tab{b1, b2} {
		tab.waitFor("badges cleared by the mark elsewhere", `!`+item(noisy)+`?.querySelector('.badge.mention')`)
	}
}
