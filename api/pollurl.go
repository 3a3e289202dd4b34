package api

import "strings"

// pollURL is the long-poll of the same gateway and ticket as the WebSocket
// URL u (ws://host/…/rtm/T → http://host/…/rtm/poll/T): the ticket opens
// whichever of the three is used first. "" when u is not such a URL.
func pollURL(u string) string {
	s := sseURL(u)
	i := strings.LastIndex(s, "/sse/")
	if i < 0 {
		return ""
	}
	return s[:i] + "/poll/" + s[i+len("/sse/"):]
}
