package api

import "github.com/confab/confab"

// meMessageAnswer is chat.meMessage's answer, Slack's: the channel and the
// ts of the message, not the message.
type meMessageAnswer struct {
	OK      bool   `json:"ok"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// chatMeMessage posts a "/me" message (subtype me_message) of the caller's:
// channel and text, nothing else.
func (s *Server) chatMeMessage(c *call) (any, error) {
	a := c.args
	channel, text := a.need("channel"), a.str("text")
	if err := a.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.MeMessage(c.r.Context(), c.user, channel, text)
	if err == nil && m == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return meMessageAnswer{OK: true, Channel: m.ChannelID, TS: confab.FormatTS(m.TS)}, nil
}
