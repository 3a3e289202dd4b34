package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
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
// reader is a member of through memberships_user (CROSS JOIN keeps the
// memberships outermost: left to itself the planner walks every channel of
// the workspace, DMs and all); only channels with an indexed message (a
// search number) matter.
const (
	readableQuery = `SELECT sc.num, sc.id FROM channels AS c INDEXED BY channels_public
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE c.workspace_id = ?1 AND c.kind = 'public'
	UNION
	SELECT sc.num, sc.id FROM memberships AS m INDEXED BY memberships_user
		CROSS JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ?2 AND c.workspace_id = ?1`
	workspaceChannelsQuery = `SELECT sc.num, sc.id FROM channels AS c
		JOIN search_channels AS sc ON sc.id = c.id WHERE c.workspace_id = ?`
	// dmNumsQuery: the DMs and group DMs a user is a member of (to:).
	dmNumsQuery = `SELECT sc.num FROM memberships AS m INDEXED BY memberships_user
		CROSS JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ? AND c.workspace_id = ? AND c.kind IN ('dm', 'group_dm')`
)

// Search bounds (see confab.SearchCountCap): a search collects at most
// searchCountCap+1 matches the reader may read, and scans at most
// searchScanCap index rows to find them, so that a word the reader can
// rarely read (most of its matches in channels closed to them) costs what
// a common one does: past it Total is what was found, with Capped set.
// Variables for the tests.
var (
	searchCountCap = confab.SearchCountCap
	searchScanCap  = 4 * confab.SearchCountCap
)

// SearchMessages runs the filter as one statement in a read transaction
// that walks the matches in id order, which is the time order (see
// migrations/0015_search.sql): newest first, or oldest first for the
// ascending time order. It collects up to SearchCountCap+1 matches the
// reader may read, and orders and pages those:
//
//   - With words, or with in: or from: and no substring, the driver is
//     search_words' MATCH: the word terms ANDed, the excluded words NOTed,
//     the in: channels' and the from: users' tags ORed and ANDed with
//     them, in one FTS5 expression, so that a selective filter is an
//     intersection of lists rather than a check of every match; else with
//     substrings, search_trigrams' MATCH; else search_rows' primary key.
//   - Date bounds are a range of ids the scan seeks to, checked exactly on
//     search_rows.ts.
//   - Whether the reader may read a match (and in:) is checked here, on
//     the channel number each row carries; the other filters (to:, has:,
//     is:thread, excluded terms, a substring with words) are a flag the
//     statement computes per row, so that every row the scan reads counts
//     towards searchScanCap.
//   - The score order (bm25, the tags weighing nothing) ranks the
//     collected matches, the newest SearchCountCap, newest first among
//     equals.
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
	byTime := f.Sort == confab.SortTimestamp || q.words == ""
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
		stmt, args := q.sql(f, chans, toNums, !(byTime && f.Asc))
		hits, capped, err := collect(ctx, tx, stmt, args, names)
		if err != nil {
			return err
		}
		out.Total, out.Capped = len(hits), capped
		if byTime {
			slices.SortFunc(hits, func(a, b searchHit) int {
				return cmp.Or(cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
			})
		} else {
			// bm25: the lower, the more relevant.
			slices.SortFunc(hits, func(a, b searchHit) int {
				return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
			})
		}
		if f.Asc {
			slices.Reverse(hits)
		}
		lim := f.Limit
		if lim <= 0 {
			lim = defaultSearchPage
		}
		lim = min(lim, maxSearchPage)
		off := min(max(f.Offset, 0), len(hits))
		for _, h := range hits[off:min(off+lim, len(hits))] {
			ch := names[h.num]
			m, err := scanMessage(tx.QueryRowContext(ctx,
				`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND seq = ?`, ch, h.seq))
			if err != nil {
				return fmt.Errorf("search: message %s/%d: %w", ch, h.seq, err)
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

// searchHit is a match: its index id, channel number, seq, ts and score.
type searchHit struct {
	id, num, seq, ts int64
	score            float64
}

// collect runs the search statement (see search.sql) and keeps the rows
// that pass its filters in a channel of names, up to SearchCountCap of
// them; capped says there were more, or that the scan stopped at
// searchScanCap rows with more to read.
func collect(ctx context.Context, tx *sql.Tx, stmt string, args []any, names map[int64]string) (hits []searchHit, capped bool, err error) {
	rows, err := tx.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	scanned := 0
	for rows.Next() {
		if scanned == searchScanCap {
			capped = true
			break
		}
		scanned++
		var (
			h    searchHit
			pass bool
		)
		if err := rows.Scan(&h.id, &h.num, &h.seq, &h.ts, &h.score, &pass); err != nil {
			return nil, false, fmt.Errorf("search: %w", err)
		}
		if _, ok := names[h.num]; !ok || !pass {
			continue
		}
		if len(hits) == searchCountCap {
			capped = true
			break
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	return hits, capped, nil
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
	b.WriteString("({body} : (")
	for i, w := range words {
		if i > 0 {
			b.WriteString(" + ")
		}
		b.WriteString(ftsQuote(w))
	}
	if t.Prefix {
		b.WriteByte('*')
	}
	b.WriteString("))")
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

// sql returns the search statement and its arguments: every row of the
// driver (see SearchMessages) in id order, newest first if desc, as its
// id, channel number, seq, ts, score (bm25, or 0 without words) and
// whether it passes the filters the statement checks per row. chans are
// the channel numbers to look in (the reader's, and of them the in:
// ones), toNums each to: user's DMs.
func (s search) sql(f confab.SearchFilter, chans []int64, toNums [][]int64, desc bool) (string, []any) {
	var (
		args  []any
		from  string
		id    string
		score = "0"
		where []string // the driver's: what the scan seeks to
		pass  []string // checked per row
	)
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	jsonArg := func(v any) string {
		b, _ := json.Marshal(v)
		return arg(string(b))
	}
	var tags []string // FTS5 expressions of in: and from:
	if len(f.ChannelIDs) > 0 {
		var or []string
		for _, c := range chans {
			or = append(or, ftsQuote(chanTag(c)))
		}
		tags = append(tags, "({tags} : ("+strings.Join(or, " OR ")+"))")
	}
	if len(f.UserIDs) > 0 {
		var or []string
		for _, u := range f.UserIDs {
			or = append(or, ftsQuote(userTag(u)))
		}
		tags = append(tags, "({tags} : ("+strings.Join(or, " OR ")+"))")
	}
	switch {
	case s.words != "" || s.subs == "" && len(tags) > 0:
		from, id = "search_words", "search_words.rowid"
		var and []string
		if s.words != "" {
			and = append(and, "("+s.words+")")
			score = "bm25(search_words, 1.0, 0.0)"
		}
		and = append(and, tags...)
		expr := strings.Join(and, " AND ")
		if s.exWords != "" {
			// Without word terms (see buildSearch), NOTed here too.
			expr = "(" + expr + ") NOT (" + s.exWords + ")"
			s.exWords = ""
		}
		where = append(where, "search_words MATCH "+arg(expr))
		if s.subs != "" {
			pass = append(pass, id+" IN (SELECT rowid FROM search_trigrams WHERE search_trigrams MATCH "+arg(s.subs)+")")
		}
	case s.subs != "":
		from, id = "search_trigrams", "search_trigrams.rowid"
		where = append(where, "search_trigrams MATCH "+arg(s.subs))
		if len(f.UserIDs) > 0 {
			pass = append(pass, "r.user_id IN (SELECT value FROM json_each("+jsonArg(f.UserIDs)+"))")
		}
	default:
		from, id = "", "r.id"
	}
	if s.exWords != "" {
		pass = append(pass, id+" NOT IN (SELECT rowid FROM search_words WHERE search_words MATCH "+arg(s.exWords)+")")
	}
	if s.exSubs != "" {
		pass = append(pass, id+" NOT IN (SELECT rowid FROM search_trigrams WHERE search_trigrams MATCH "+arg(s.exSubs)+")")
	}
	// An id is at least its message's ts and under ts + maxBump.
	if f.Since != 0 {
		where = append(where, id+" >= "+arg(f.Since))
		pass = append(pass, "r.ts >= "+arg(f.Since))
	}
	if f.Until != 0 {
		where = append(where, id+" < "+arg(f.Until+maxBump))
		pass = append(pass, "r.ts < "+arg(f.Until))
	}
	if f.HasLink {
		pass = append(pass, "r.has_link = 1")
	}
	if len(f.ToUserIDs) > 0 {
		var to []string
		for i, u := range f.ToUserIDs {
			ua := arg(u)
			to = append(to, "(r.user_id != "+ua+" AND (r.chan IN (SELECT value FROM json_each("+jsonArg(toNums[i])+"))"+
				" OR EXISTS (SELECT 1 FROM search_mentions AS sm WHERE sm.id = r.id AND sm.user_id = "+ua+")))")
		}
		pass = append(pass, "("+strings.Join(to, " OR ")+")")
	}
	channel := "(SELECT sc.id FROM search_channels AS sc WHERE sc.num = r.chan)"
	if f.HasReaction || f.Reaction != "" {
		cond := ""
		if f.Reaction != "" {
			cond = " AND re.name = " + arg(f.Reaction)
		}
		pass = append(pass, "EXISTS (SELECT 1 FROM reactions AS re WHERE re.channel_id = "+channel+
			" AND re.message_seq = r.seq"+cond+" AND re.removed = 0)")
	}
	if f.HasPin {
		pass = append(pass, "EXISTS (SELECT 1 FROM pins AS p WHERE p.channel_id = "+channel+" AND p.message_ts = r.ts)")
	}
	if f.IsThread {
		pass = append(pass, "EXISTS (SELECT 1 FROM messages AS m WHERE m.channel_id = "+channel+" AND m.seq = r.seq"+
			" AND (m.thread_ts != 0 OR m.reply_count > 0))")
	}

	q := "SELECT " + id + ", r.chan, r.seq, r.ts, "
	ok := "1"
	if len(pass) > 0 {
		ok = "coalesce(" + strings.Join(pass, " AND ") + ", 0)"
	}
	q += score + ", " + ok
	if from == "" {
		q += " FROM search_rows AS r"
	} else {
		q += " FROM " + from + " JOIN search_rows AS r ON r.id = " + id
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	return q + " ORDER BY " + id + dir, args
}
