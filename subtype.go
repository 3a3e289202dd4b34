package confab

import "encoding/json"

// SubtypeMeMessage is the subtype of a message posted with chat.meMessage
// (a "/me" action), stored with it (Message.Subtype) and shown in every
// answer, page and event that carries it.
const SubtypeMeMessage = "me_message"

// The subtypes of the messages package chat posts in a channel (not a DM
// or group DM) when its membership, topic or purpose changes, as Slack
// keeps them in a channel's history: system messages. Their poster
// (Message.UserID) is who joined, left or set the text.
const (
	SubtypeChannelJoin    = "channel_join"    // "<@U…> has joined the channel", with inviter when invited
	SubtypeChannelLeave   = "channel_leave"   // "<@U…> has left the channel" (a kick too)
	SubtypeChannelTopic   = "channel_topic"   // "<@U…> set the channel topic: …", with topic
	SubtypeChannelPurpose = "channel_purpose" // "<@U…> set the channel purpose: …", with purpose
)

// IsSystemSubtype tells a system message's subtype. A store records no
// mentions of a system message and does not index it for search: its text
// is what the change says, not what anyone wrote to be found or to reach
// someone (a topic of "<!channel>" would otherwise reach everyone).
func IsSystemSubtype(subtype string) bool {
	switch subtype {
	case SubtypeChannelJoin, SubtypeChannelLeave, SubtypeChannelTopic, SubtypeChannelPurpose:
		return true
	}
	return false
}

// SystemFields are what a system message says besides its text, Slack's
// fields of its subtype: inviter (channel_join), topic (channel_topic),
// purpose (channel_purpose). They are kept as the message's Metadata (a
// JSON object of these fields), which no other caller may set on a system
// message, and shown as fields of the message, never as metadata.
type SystemFields struct {
	Inviter string  `json:"inviter,omitempty"`
	Topic   *string `json:"topic,omitempty"`
	Purpose *string `json:"purpose,omitempty"`
}

// SystemMessage returns the system message of subtype that userID's change
// of channelID makes, with its text and fields: inviter for a join (""
// when the user joined on their own), value the new topic or purpose (""
// clears it, "cleared the channel topic" as Slack says it).
func SystemMessage(channelID, userID, subtype, inviter, value string) *Message {
	m := &Message{ChannelID: channelID, UserID: userID, Subtype: subtype}
	who := "<@" + userID + ">"
	var f SystemFields
	switch subtype {
	case SubtypeChannelJoin:
		m.Text = who + " has joined the channel"
		f.Inviter = inviter
	case SubtypeChannelLeave:
		m.Text = who + " has left the channel"
	case SubtypeChannelTopic:
		m.Text, f.Topic = who+" set the channel topic: "+value, &value
		if value == "" {
			m.Text = who + " cleared the channel topic"
		}
	case SubtypeChannelPurpose:
		m.Text, f.Purpose = who+" set the channel purpose: "+value, &value
		if value == "" {
			m.Text = who + " cleared the channel purpose"
		}
	}
	if f != (SystemFields{}) {
		m.Metadata = string(mustJSON(f))
	}
	return m
}

// systemFields reads a system message's fields back from its Metadata.
func (m *Message) systemFields() SystemFields {
	var f SystemFields
	if m.Metadata != "" {
		_ = json.Unmarshal([]byte(m.Metadata), &f) // written by SystemMessage
	}
	return f
}
