package confab

import (
	"encoding/json"
	"strings"
)

// Channel-wide mentions, as Slack spells them in text (<!here>, <!channel>,
// <!everyone>) and in a rich_text block's broadcast element ("range").
// <!channel> and <!everyone> name every member of the channel, <!here>
// those who are active (see the Mentions of Store).
const (
	MentionHere     = "here"
	MentionChannel  = "channel"
	MentionEveryone = "everyone"
)

// Mentions returns who a message mentions: the user ids of its <@U…> and
// <@U…|name> in text and of the "user" elements of its rich_text blocks,
// each once, in the order they first appear; and broadcast, the widest of
// its <!here>, <!channel> and <!everyone> (or "broadcast" elements):
// MentionEveryone over MentionChannel over MentionHere, "" for none.
//
// Everything else in angle brackets (links, <#C…>, <!subteam^…>, dates) is
// not a mention; confab has no user groups. blocks is a message's Blocks as
// stored (a JSON array, or ""); blocks that do not parse mention no one.
// Mentions is pure and never fails: whether a mentioned user is a member of
// the channel is the store's to decide.
func Mentions(text, blocks string) (users []string, broadcast string) {
	var seen map[string]bool
	addUser := func(id string) {
		if !ValidID(id, PrefixUser) && !ValidID(id, 'W') {
			return
		}
		if seen[id] {
			return
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[id] = true
		users = append(users, id)
	}
	addBroadcast := func(r string) {
		if mentionRank(r) > mentionRank(broadcast) {
			broadcast = r
		}
	}
	for rest := text; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		j := strings.IndexAny(rest, "<>")
		if j < 0 {
			break
		}
		if rest[j] == '<' { // an unclosed "<": look again from the next one
			rest = rest[j:]
			continue
		}
		target, _, _ := strings.Cut(rest[:j], "|")
		rest = rest[j+1:]
		switch {
		case strings.HasPrefix(target, "@"):
			addUser(target[1:])
		case strings.HasPrefix(target, "!"):
			addBroadcast(target[1:])
		}
	}
	if blocks != "" {
		var list []richBlock
		if json.Unmarshal([]byte(blocks), &list) == nil {
			for _, b := range list {
				if b.Type == "rich_text" {
					walkRichText(b.Elements, 0, addUser, addBroadcast)
				}
			}
		}
	}
	return users, broadcast
}

// mentionRank orders the channel-wide mentions by reach; 0 is none.
func mentionRank(r string) int {
	switch r {
	case MentionHere:
		return 1
	case MentionChannel:
		return 2
	case MentionEveryone:
		return 3
	}
	return 0
}

// richBlock is the part of a block, or of a rich_text element at any
// depth, that mentions are read from: sections, lists, quotes and
// preformatted runs hold elements; a "user" element names UserID, a
// "broadcast" element its Range.
type richBlock struct {
	Type     string      `json:"type"`
	Elements []richBlock `json:"elements"`
	UserID   string      `json:"user_id"`
	Range    string      `json:"range"`
}

// maxRichDepth bounds how deep walkRichText follows nested elements (Slack
// nests a list's sections one level; anything deeper is not Slack's).
const maxRichDepth = 8

func walkRichText(els []richBlock, depth int, addUser, addBroadcast func(string)) {
	if depth > maxRichDepth {
		return
	}
	for _, e := range els {
		switch e.Type {
		case "user":
			addUser(e.UserID)
		case "broadcast":
			addBroadcast(e.Range)
		default:
			walkRichText(e.Elements, depth+1, addUser, addBroadcast)
		}
	}
}
