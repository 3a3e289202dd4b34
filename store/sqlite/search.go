package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/confab/confab"
)

// Search limits: a page holds at most maxSearchPage messages,
// defaultSearchPage when the filter names no limit (Slack's count).
const (
	maxSearchPage     = 100
	defaultSearchPage = 20
)

// The reader's channels (see confab.SearchFilter.ReaderID): the
// workspace's public channels through channels_public, and the ones the
// reader is a member of through memberships_user; only channels with an
// indexed message (a search number) matter.
const (
	readableQuery = `SELECT sc.num, sc.id FROM channels AS c INDEXED BY channels_public
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE c.workspace_id = ?1 AND c.kind = 'public'
	UNION
	SELECT sc.num, sc.id FROM memberships AS m
		JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ?2 AND c.workspace_id = ?1`
	workspaceChannelsQuery = `SELECT sc.num, sc.id FROM channels AS c
		JOIN search_channels AS sc ON sc.id = c.id WHERE c.workspace_id = ?`
	// dmNumsQuery: the DMs and group DMs a user is a member of (to:).
	dmNumsQuery = `SELECT sc.num FROM memberships AS m
		JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ? AND c.workspace_id = ? AND c.kind IN ('dm', 'group_dm')`
)

// SearchMessages runs the filter as two statements in one read
// transaction, the page and the total (unless the page, not full, gives
// it), over the same FROM and WHERE:
//
//   - With words, the driver is search_words' MATCH (every word term
//     ANDed, the excluded words NOTed, in one FTS5 expression); else with
//     substrings, search_trigrams' MATCH; else search_rows.
//   - The reader's channels (and in:) are a set of channel numbers that a
//     match's id >> 36 is checked against, without reading another row;
//     a single channel is also a rowid range the FTS5 scan seeks to.
//   - search_rows is joined only when a filter or the order needs it
//     (from:, dates, has:link, the time order); messages, reactions and
//     pins only for is:thread, has:reaction and is:pinned.
//
// Text is never spliced into SQL, and every word is quoted in the FTS5
// expression (see ftsPhrase): a user's quotes, stars and operators are
// text.
func (db *DB) SearchMessages(ctx context.Context, f confab.SearchFilter) (*confab.SearchResult, error) {
	db.queries.Read("SearchMessages")
	out := &confab.SearchResult{Messages: []*confab.Message{}}
	q, ok := buildSearch(f)
	if !ok {
		return out, nil // a term no message can match
	}
	err := db.read(ctx, func(tx *sql.Tx) error {
		chans, names, err := searchChannels(ctx, tx, f)
		if err != nil {
			return err
		}
		if len(chans) == 0 {
			return nil
		}
		var toNums [][]int64
		for _, u := range f.ToUserIDs {
			nums, err := queryAll(ctx, tx, scanInt64, dmNumsQuery, u, f.WorkspaceID)
			if err != nil {
				return fmt.Errorf("search: to %s: %w", u, err)
			}
			toNums = append(toNums, nums)
		}
		count, page, args := q.sql(f, chans, toNums)
		lim := f.Limit
		if lim <= 0 {
			lim = defaultSearchPage
		}
		lim = min(lim, maxSearchPage)
		off := max(f.Offset, 0)
		// The page first: a page that is not full, and not past the end,
		// is the last one, and gives the total without a second pass.
		hits, err := queryAll(ctx, tx, scanInt64, page, append(args, lim, off)...)
		if err != nil {
			return fmt.Errorf("search: page: %w", err)
		}
		if len(hits) == lim || len(hits) == 0 && off > 0 {
			if err := tx.QueryRowContext(ctx, count, args...).Scan(&out.Total); err != nil {
				return fmt.Errorf("search: count: %w", err)
			}
		} else {
			out.Total = off + len(hits)
		}
		for _, id := range hits {
			ch, seq := names[id>>idShift], id&maxSeq
			m, err := scanMessage(tx.QueryRowContext(ctx,
				`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND seq = ?`, ch, seq))
			if err != nil {
				return fmt.Errorf("search: message %s/%d: %w", ch, seq, err)
			}
			if err := fillReactions(ctx, tx, m.ChannelID, []*confab.Message{m}); err != nil {
				return err
			}
			out.Messages = append(out.Messages, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanInt64(s scanner) (int64, error) {
	var v int64
	err := s.Scan(&v)
	return v, err
}

// searchChannels returns the numbers of the channels the search may look
// in: the reader's (every one of the workspace without a reader), and of
// those the filter's in: channels; and their ids by number.
func searchChannels(ctx context.Context, tx *sql.Tx, f confab.SearchFilter) ([]int64, map[int64]string, error) {
	type ch struct {
		num int64
		id  string
	}
	scan := func(s scanner) (ch, error) {
		var c ch
		err := s.Scan(&c.num, &c.id)
		return c, err
	}
	var (
		all []ch
		err error
	)
	if f.ReaderID == "" {
		all, err = queryAll(ctx, tx, scan, workspaceChannelsQuery, f.WorkspaceID)
	} else {
		all, err = queryAll(ctx, tx, scan, readableQuery, f.WorkspaceID, f.ReaderID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("search: channels: %w", err)
	}
	var in map[string]bool
	if len(f.ChannelIDs) > 0 {
		in = make(map[string]bool, len(f.ChannelIDs))
		for _, id := range f.ChannelIDs {
			in[id] = true
		}
	}
	nums := make([]int64, 0, len(all))
	names := make(map[int64]string, len(all))
	for _, c := range all {
		if in == nil || in[c.id] {
			nums = append(nums, c.num)
			names[c.num] = c.id
		}
	}
	return nums, names, nil
}

// search is a filter's text terms as FTS5 expressions.
type search struct {
	words   string // search_words MATCH: the word terms, the excluded words NOTed
	subs    string // search_trigrams MATCH: the substring terms
	exWords string // the excluded words ORed, when there are no word terms
	exSubs  string // the excluded substrings ORed
}

// buildSearch turns the terms into FTS5 expressions; false if a term can
// match nothing (no word with a token character, a substring under three
// characters). An excluded term that can match nothing excludes nothing.
func buildSearch(f confab.SearchFilter) (search, bool) {
	var s search
	var words, subs, exWords, exSubs []string
	for _, t := range f.Terms {
		e, ok := termExpr(t)
		if !ok {
			return s, false
		}
		if t.Substring {
			subs = append(subs, e)
		} else {
			words = append(words, e)
		}
	}
	for _, t := range f.Excluded {
		e, ok := termExpr(t)
		if !ok {
			continue
		}
		if t.Substring {
			exSubs = append(exSubs, e)
		} else {
			exWords = append(exWords, e)
		}
	}
	if len(words) > 0 {
		s.words = strings.Join(words, " AND ")
		for _, e := range exWords {
			s.words = "(" + s.words + ") NOT " + e
		}
	} else if len(exWords) > 0 {
		s.exWords = strings.Join(exWords, " OR ")
	}
	s.subs = strings.Join(subs, " AND ")
	s.exSubs = strings.Join(exSubs, " OR ")
	return s, true
}

// termExpr is one term as an FTS5 expression: a phrase of its quoted
// words for search_words, or its words joined by spaces as one quoted
// string for search_trigrams.
func termExpr(t confab.SearchTerm) (string, bool) {
	var words []string
	for _, w := range t.Words {
		if hasTokenChar(w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return "", false
	}
	if t.Substring {
		s := strings.Join(words, " ")
		if utf8.RuneCountInString(s) < 3 {
			return "", false
		}
		return ftsQuote(s), true
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, w := range words {
		if i > 0 {
			b.WriteString(" + ")
		}
		b.WriteString(ftsQuote(w))
	}
	if t.Prefix {
		b.WriteByte('*')
	}
	b.WriteByte(')')
	return b.String(), true
}

// ftsQuote makes s an FTS5 string: in double quotes, a double quote
// doubled. Inside one, nothing is syntax: FTS5's tokenizer reads it as
// text, as it read the body.
func ftsQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// hasTokenChar reports whether w has a character the tokenizers keep (a
// word of only punctuation is no word: FTS5 would drop it from a phrase).
func hasTokenChar(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) {
			return true
		}
	}
	return false
}

// sql returns the count and the page statements and their arguments (the
// page's take LIMIT and OFFSET after them). chans are the channel numbers
// to look in, toNums each to: user's DMs.
func (s search) sql(f confab.SearchFilter, chans []int64, toNums [][]int64) (count, page string, args []any) {
	var (
		from  string
		id    string
		score = "0"
		where []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	jsonArg := func(v any) string {
		b, _ := json.Marshal(v)
		return arg(string(b))
	}
	switch {
	case s.words != "":
		from, id, score = "search_words", "search_words.rowid", "bm25(search_words)"
		where = append(where, "search_words MATCH "+arg(s.words))
		if s.subs != "" {
			where = append(where, id+" IN (SELECT rowid FROM search_trigrams WHERE search_trigrams MATCH "+arg(s.subs)+")")
		}
	case s.subs != "":
		from, id = "search_trigrams", "search_trigrams.rowid"
		where = append(where, "search_trigrams MATCH "+arg(s.subs))
	default:
		from, id = "search_rows AS r", "r.id"
	}
	if s.exWords != "" {
		where = append(where, id+" NOT IN (SELECT rowid FROM search_words WHERE search_words MATCH "+arg(s.exWords)+")")
	}
	if s.exSubs != "" {
		where = append(where, id+" NOT IN (SELECT rowid FROM search_trigrams WHERE search_trigrams MATCH "+arg(s.exSubs)+")")
	}
	if len(chans) == 1 {
		lo := chans[0] << idShift
		where = append(where, id+" BETWEEN "+arg(lo)+" AND "+arg(lo|maxSeq))
	} else {
		where = append(where, "("+id+" >> 36) IN (SELECT value FROM json_each("+jsonArg(chans)+"))")
	}

	needRows := false
	if len(f.UserIDs) > 0 {
		needRows = true
		where = append(where, "r.user_id IN (SELECT value FROM json_each("+jsonArg(f.UserIDs)+"))")
	}
	if f.Since != 0 {
		needRows = true
		where = append(where, "r.ts >= "+arg(f.Since))
	}
	if f.Until != 0 {
		needRows = true
		where = append(where, "r.ts < "+arg(f.Until))
	}
	if f.HasLink {
		needRows = true
		where = append(where, "r.has_link = 1")
	}
	if len(f.ToUserIDs) > 0 {
		needRows = true
		var to []string
		for i, u := range f.ToUserIDs {
			ua := arg(u)
			to = append(to, "(r.user_id != "+ua+" AND (("+id+" >> 36) IN (SELECT value FROM json_each("+jsonArg(toNums[i])+"))"+
				" OR EXISTS (SELECT 1 FROM search_mentions AS sm WHERE sm.id = "+id+" AND sm.user_id = "+ua+")))")
		}
		where = append(where, "("+strings.Join(to, " OR ")+")")
	}
	needChannel := false
	seq := "(" + id + " & " + strconv.FormatInt(maxSeq, 10) + ")"
	if f.HasReaction || f.Reaction != "" {
		needChannel = true
		cond := ""
		if f.Reaction != "" {
			cond = " AND re.name = " + arg(f.Reaction)
		}
		where = append(where, "EXISTS (SELECT 1 FROM reactions AS re WHERE re.channel_id = sc.id AND re.message_seq = "+seq+cond+" AND re.removed = 0)")
	}
	if f.HasPin {
		needChannel, needRows = true, true
		where = append(where, "EXISTS (SELECT 1 FROM pins AS p WHERE p.channel_id = sc.id AND p.message_ts = r.ts)")
	}
	if f.IsThread {
		needChannel = true
		where = append(where, "EXISTS (SELECT 1 FROM messages AS m WHERE m.channel_id = sc.id AND m.seq = "+seq+
			" AND (m.thread_ts != 0 OR m.reply_count > 0))")
	}

	joins := func(rows, channel bool) string {
		j := from
		if rows && from != "search_rows AS r" {
			j += " JOIN search_rows AS r ON r.id = " + id
		}
		if channel {
			j += " JOIN search_channels AS sc ON sc.num = (" + id + " >> 36)"
		}
		return j
	}
	cond := strings.Join(where, " AND ")
	count = "SELECT count(*) FROM " + joins(needRows, needChannel) + " WHERE " + cond

	desc, asc := "DESC", "ASC"
	if f.Asc {
		desc, asc = asc, desc
	}
	order := "r.ts " + desc + ", " + id + " " + desc
	if f.Sort == confab.SortScore && score != "0" {
		// bm25: the lower, the more relevant.
		order = score + " " + asc + ", " + order
	}
	n := len(args)
	page = "SELECT " + id + " FROM " + joins(true, needChannel) + " WHERE " + cond +
		" ORDER BY " + order + " LIMIT ?" + strconv.Itoa(n+1) + " OFFSET ?" + strconv.Itoa(n+2)
	return count, page, args
}
