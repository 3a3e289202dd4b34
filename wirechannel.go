package confab

// ChannelRenameEvent tells a channel's members its new name: Slack's
// "channel_rename", or "group_rename" for a private channel, with the
// channel's id, name and created.
func ChannelRenameEvent(c *Channel) []byte {
	typ := "channel_rename"
	if c.Kind == KindPrivate {
		typ = "group_rename"
	}
	type renamed struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Created int64  `json:"created"`
	}
	return mustJSON(struct {
		Type    string  `json:"type"`
		Channel renamed `json:"channel"`
	}{typ, renamed{c.ID, c.Name, c.Created}})
}
