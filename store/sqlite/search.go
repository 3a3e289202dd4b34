package sqlite

import (
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
// search number) matter. Their numbers come as one JSON array: a search
// reads them all, and a row each took longer to read than the statement
// took to run.
const (
	readableQuery = `SELECT json_group_array(num) FROM (SELECT sc.num FROM channels AS c INDEXED BY channels_public
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE c.workspace_id = ?1 AND c.kind = 'public'
	UNION
	SELECT sc.num FROM memberships AS m INDEXED BY memberships_user
		CROSS JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ?2 AND c.workspace_id = ?1)`
	workspaceChannelsQuery = `SELECT json_group_array(sc.num) FROM channels AS c
		JOIN search_channels AS sc ON sc.id = c.id WHERE c.workspace_id = ?`
	// inNumsQuery: the numbers of the in: channels.
	inNumsQuery = `SELECT num FROM search_channels WHERE id IN (SELECT value FROM json_each(?))`
	// hitQuery: a match's message by its channel's number and seq.
	hitQuery = `SELECT ` + messageCols + ` FROM messages
		WHERE channel_id = (SELECT id FROM search_channels WHERE num = ?) AND seq = ?`
	// dmNumsQuery: the DMs and group DMs a user is a member of (to:).
	dmNumsQuery = `SELECT sc.num FROM memberships AS m INDEXED BY memberships_user
		CROSS JOIN channels AS c ON c.id = m.channel_id
		JOIN search_channels AS sc ON sc.id = c.id
		WHERE m.user_id = ? AND c.workspace_id = ? AND c.kind IN ('dm', 'group_dm')`
)

// Search bounds (see confab.SearchCountCap): a search collects at most
// searchCountCap+1 matches the reader may read, and scans at most
// searchScanCap index rows to find them (in the score order, the ranked
// and the later matches each), so that a word the reader can rarely read
// (most of its matches in channels closed to them) costs what a common
// one does: past it Total is what was found, with Capped set. The score
// order ranks the newest searchRankCap (see confab.SearchRankCap).
// Variables for the tests.
var (
	searchCountCap = confab.SearchCountCap
	searchRankCap  = confab.SearchRankCap
	searchScanCap  = 4 * confab.SearchCountCap
)

// SearchMessages runs the filter in a read transaction, as a statement
// (see search.sql) that walks the matches in id order, which is the time
// order (see migrations/0015_search.sql): newest first, or oldest first
// for the ascending time order. It stops after searchCountCap+1 matches
// that pass every filter, or after searchScanCap index rows; the same
// statement counts those (a materialized CTE) and orders and pages the
// first searchCountCap of them, so no more than the page leaves SQLite.
// A second statement counts only when the page is empty, and a third
// checks whether the scan stopped early, when the count is under the cap.
//
//   - With terms, or with in: or from:, the driver is search_words'
//     MATCH: the terms ANDed (a substring as the vocabulary's words that
//     hold it, see substringExpr), the excluded terms NOTed, the in:
//     channels' and the from: users' tags ORed and ANDed with them, in one
//     FTS5 expression, so that a selective filter is an intersection of
//     lists rather than a check of every match; else search_rows' primary
//     key.
//   - Date bounds are a range of ids the scan seeks to, checked exactly on
//     search_rows.ts.
//   - Each row the driver gives is checked, through its search_rows row,
//     against the reader's channels (see chanSet), then the other filters
//     (to:, has:, is:thread, excluded terms); with in: alone, every row
//     is a match in a channel the reader may read, and none is checked.
//   - The score order (bm25, the tags weighing nothing) ranks the newest
//     searchRankCap collected matches, newest first among equals, and
//     collects the later ones (older than the last ranked) from a second
//     driver without bm25, ordered after them by time: bm25 costs about
//     as much per match as collecting it (a size record to read), more
//     for a phrase. A page among the ranked (most relevant first, within
//     the first searchRankCap) only counts the later ones. The time order
//     computes no score.
//
// Text is never spliced into SQL, and every word is quoted in the FTS5
// expression (see ftsQuote): a user's quotes, stars and operators are
// text.
func (db *DB) SearchMessages(ctx context.Context, f confab.SearchFilter) (*confab.SearchResult, error) {
	db.queries.Read("SearchMessages")
	out := &confab.SearchResult{Messages: []*confab.Message{}}
	err := db.read(ctx, func(tx *sql.Tx) error {
		q, ok, err := buildSearch(ctx, tx, f)
		if err != nil || !ok {
			return err // !ok: a term no message can match
		}
		byTime := f.Sort == confab.SortTimestamp || q.words == ""
		chans, err := searchChannels(ctx, tx, f)
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
		lim := f.Limit
		if lim <= 0 {
			lim = defaultSearchPage
		}
		off := max(f.Offset, 0)
		lim = min(lim, maxSearchPage, max(searchCountCap-off, 0)) // pages end at the cap
		// In the score order, most relevant first, a page within the
		// first searchRankCap is among the ranked matches.
		head := !byTime && !f.Asc && off+lim <= searchRankCap
		sq := q.sql(f, chans, toNums, !(byTime && f.Asc), !byTime, head)
		hits, n, err := searchPage(ctx, tx, sq, f, byTime, lim, off)
		if err != nil {
			return err
		}
		if n < 0 { // no page to read it from
			if err := tx.QueryRowContext(ctx, sq.with+` SELECT `+sq.count, sq.args...).Scan(&n); err != nil {
				return fmt.Errorf("search: count: %w", err)
			}
		}
		out.Total, out.Capped = min(n, searchCountCap), n > searchCountCap
		if !out.Capped && !sq.exact {
			more, err := pastScanCap(ctx, tx, sq)
			if err != nil {
				return err
			}
			out.Capped = more
		}
		for _, h := range hits {
			m, err := scanMessage(tx.QueryRowContext(ctx, hitQuery, h.num, h.seq))
			if err != nil {
				return fmt.Errorf("search: message %d/%d: %w", h.num, h.seq, err)
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

// pastScanCap reports whether the search's driver has more than
// searchScanCap rows, so that the collection may have stopped before
// its end. A token of the words with no more rows settles it at the
// cost of reading that token's list; else the driver is read again.
func pastScanCap(ctx context.Context, tx *sql.Tx, sq searchSQL) (bool, error) {
	past := ` LIMIT 1 OFFSET ` + strconv.Itoa(searchScanCap) + `)`
	for _, p := range sq.pieces {
		var more bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT rowid FROM search_words WHERE search_words MATCH ?`+past,
			p).Scan(&more); err != nil {
			return false, fmt.Errorf("search: scan: %w", err)
		}
		if !more {
			return false, nil
		}
	}
	var more bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (`+sq.rows+past, sq.args...).Scan(&more); err != nil {
		return false, fmt.Errorf("search: scan: %w", err)
	}
	return more, nil
}

// searchHit is a match of a page: its channel number and seq.
type searchHit struct{ num, seq int64 }

// searchPage reads a page of the matches, ordered, and how many matches
// there are (searchCountCap+1 for more than searchCountCap), -1 when the
// page is empty. The matches are ordered and counted in one statement:
// collected once into a materialized CTE (a table kept in the order they
// were collected: the newest, or oldest, first), counted, and the first
// searchCountCap of them ordered. (Window functions over the same rows,
// count(*) OVER () and row_number() OVER (), took a third longer.)
func searchPage(ctx context.Context, tx *sql.Tx, sq searchSQL, f confab.SearchFilter, byTime bool, lim, off int) ([]searchHit, int, error) {
	desc, asc := " DESC", " ASC"
	if f.Asc {
		desc, asc = asc, desc
	}
	order := "ts" + desc + ", id" + desc
	if !byTime {
		// The ranked first; bm25: the lower, the more relevant.
		order = "part" + asc + ", score" + asc + ", " + order
	}
	stmt := sq.with + ` SELECT num, seq, ` + sq.count + ` FROM (` + sq.page + `)
		ORDER BY ` + order + ` LIMIT ` + strconv.Itoa(lim) + ` OFFSET ` + strconv.Itoa(off)
	n := -1
	hits, err := queryAll(ctx, tx, func(s scanner) (searchHit, error) {
		var h searchHit
		err := s.Scan(&h.num, &h.seq, &n)
		return h, err
	}, stmt, sq.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	return hits, n, nil
}

func scanInt64(s scanner) (int64, error) {
	var v int64
	err := s.Scan(&v)
	return v, err
}

func scanString(s scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}

// searchChannels returns the numbers of the channels the search may look
// in: the reader's (every one of the workspace without a reader), and of
// those the filter's in: channels.
func searchChannels(ctx context.Context, tx *sql.Tx, f confab.SearchFilter) ([]int64, error) {
	var list string
	var err error
	if f.ReaderID == "" {
		err = tx.QueryRowContext(ctx, workspaceChannelsQuery, f.WorkspaceID).Scan(&list)
	} else {
		err = tx.QueryRowContext(ctx, readableQuery, f.WorkspaceID, f.ReaderID).Scan(&list)
	}
	var nums []int64
	if err == nil {
		err = json.Unmarshal([]byte(list), &nums)
	}
	if err != nil {
		return nil, fmt.Errorf("search: channels: %w", err)
	}
	if len(f.ChannelIDs) == 0 {
		return nums, nil
	}
	ids, _ := json.Marshal(f.ChannelIDs)
	in, err := queryAll(ctx, tx, scanInt64, inNumsQuery, string(ids))
	if err != nil {
		return nil, fmt.Errorf("search: channels: %w", err)
	}
	return slices.DeleteFunc(nums, func(n int64) bool { return !slices.Contains(in, n) }), nil
}

// search is a filter's text terms as FTS5 expressions.
type search struct {
	words string // search_words MATCH: the terms ANDed, the excluded ones NOTed
	// pieces: each token of the word terms alone, as a search_words
	// MATCH; when there are several, a row of words has every one.
	pieces  []string
	exWords string // the excluded terms ORed, when there are no terms
}

// maxSubstringTokens bounds the tokens of the vocabulary one substring
// term may stand for: a substring that more words hold (*ing*) is a
// QueryError asking for more letters.
var maxSubstringTokens = 1000

// buildSearch turns the terms into FTS5 expressions of search_words,
// looking the substring terms up in the vocabulary; false if a term can
// match nothing (no word with a token character, a substring no token
// holds). An excluded term that can match nothing excludes nothing.
func buildSearch(ctx context.Context, tx *sql.Tx, f confab.SearchFilter) (search, bool, error) {
	var s search
	var words, exWords []string
	expr := func(t confab.SearchTerm) (string, bool, error) {
		if t.Substring {
			return substringExpr(ctx, tx, t)
		}
		e, ok := termExpr(t)
		return e, ok, nil
	}
	for _, t := range f.Terms {
		e, ok, err := expr(t)
		if err != nil || !ok {
			return s, false, err
		}
		words = append(words, e)
		if !t.Substring {
			s.pieces = append(s.pieces, tokenExprs(t)...)
		}
	}
	for _, t := range f.Excluded {
		e, ok, err := expr(t)
		if err != nil {
			return s, false, err
		}
		if ok {
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
	return s, true, nil
}

// substringExpr is a substring term as a search_words expression (see
// migrations/0019_search_vocab.sql): a word's substring, the vocabulary's
// tokens that hold it; several words', phrases of a token that ends with
// the first, the middle words, and a token that begins with the last. A
// one-character word of a script without spaces is a whole token (see
// confab.SearchTokens), matched as itself. false when no token holds it.
func substringExpr(ctx context.Context, tx *sql.Tx, t confab.SearchTerm) (string, bool, error) {
	words := tokenWords(t)
	if len(words) == 0 || utf8.RuneCountInString(strings.Join(words, " ")) < 3 {
		return "", false, nil
	}
	first, last := words[0], words[len(words)-1]
	pattern := "%" + first
	if len(words) == 1 {
		pattern += "%"
	}
	heads := []string{first}
	if !confab.IsUnigramToken(first) {
		var err error
		if heads, err = vocabLike(ctx, tx, pattern, t); err != nil || len(heads) == 0 {
			return "", false, err
		}
	}
	if len(words) > 1 && confab.IsUnigramToken(first) && confab.IsUnigramToken(last) {
		e, ok := termExpr(confab.SearchTerm{Words: words}) // every word whole: a phrase
		return e, ok, nil
	}
	var tail string
	if len(words) > 1 {
		for _, w := range words[1 : len(words)-1] {
			tail += " + " + ftsQuote(w)
		}
		tail += " + " + ftsQuote(last)
		if !confab.IsUnigramToken(last) {
			tail += "*"
		}
	}
	alts := make([]string, len(heads))
	for i, h := range heads {
		alts[i] = "(" + ftsQuote(h) + tail + ")"
	}
	return "({body} : (" + strings.Join(alts, " OR ") + "))", true, nil
}

// vocabLike returns the tokens of the vocabulary LIKE pattern (tokens
// hold no % or _), a QueryError when more than maxSubstringTokens do.
func vocabLike(ctx context.Context, tx *sql.Tx, pattern string, t confab.SearchTerm) ([]string, error) {
	toks, err := queryAll(ctx, tx, scanString,
		`SELECT token FROM search_vocab WHERE token LIKE ? LIMIT ?`, pattern, maxSubstringTokens+1)
	if err != nil {
		return nil, fmt.Errorf("search: vocabulary: %w", err)
	}
	if len(toks) > maxSubstringTokens {
		return nil, confab.SubstringTooCommon(t, maxSubstringTokens)
	}
	return toks, nil
}

// termExpr is a word term as an FTS5 expression of search_words: a phrase
// of its quoted words (of its character pairs in cjk for a word in a
// script without spaces).
func termExpr(t confab.SearchTerm) (string, bool) {
	words := tokenWords(t)
	if len(words) == 0 {
		return "", false
	}
	col, words := termTokens(t.Prefix, words)
	var b strings.Builder
	b.WriteString("({" + col + "} : (")
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

// termTokens returns the column and tokens a word term is a phrase of in
// search_words: its words in body, or, for a word of two or more
// characters of a script without spaces, their pairs in cjk (see
// migrations/0017_search_rebuild.sql).
func termTokens(prefix bool, words []string) (string, []string) {
	if pairs := confab.PhrasePairs(words, prefix); pairs != nil {
		return "cjk", pairs
	}
	return "body", words
}

// tokenExprs returns each token of a word term as a search_words MATCH
// of its own (see searchSQL.pieces).
func tokenExprs(t confab.SearchTerm) []string {
	words := tokenWords(t)
	col, words := termTokens(t.Prefix, words)
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "{" + col + "} : " + ftsQuote(w)
		if t.Prefix && i == len(words)-1 {
			out[i] += "*"
		}
	}
	return out
}

// ftsQuote makes s an FTS5 string: in double quotes, a double quote
// doubled. Inside one, nothing is syntax: FTS5's tokenizer reads it as
// text, as it read the body.
func ftsQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// tokenWords returns the term's words that have a token character.
func tokenWords(t confab.SearchTerm) []string {
	var words []string
	for _, w := range t.Words {
		if hasTokenChar(w) {
			words = append(words, w)
		}
	}
	return words
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

// chanSet is a set of channel numbers as a blob whose byte at each
// number is 1, the others 0, checked by substr: at every match the
// reader's channels are checked, and a byte of a blob is cheaper to read
// than a table of the numbers is to search (an IN list, or json_each).
func chanSet(nums []int64) []byte {
	var top int64
	for _, n := range nums {
		top = max(top, n)
	}
	set := make([]byte, top+1)
	for _, n := range nums {
		if n >= 0 {
			set[n] = 1
		}
	}
	return set
}

// searchSQL is a search's statements over shared arguments (see
// search.sql).
type searchSQL struct {
	// rows: the ids of the index rows that may match (the driver's),
	// in id order.
	rows string
	// with: the collections of matches, materialized CTEs of id, num,
	// seq, ts, score: the newest (or oldest) searchCountCap+1 of the
	// driver's first searchScanCap rows that pass every filter; in the
	// score order the newest searchRankCap of them ranked, the later ones
	// with a NULL score (for a page among the ranked, only counted, in
	// count).
	with string
	// count: the collected matches' number, an expression over with.
	count string
	// page: the first searchCountCap collected, as num, seq, part (0,
	// or 1 for the later ones of the score order), score, ts, id.
	page string
	// exact: every row the driver gives is a match, so a count under
	// the cap is exact without looking past the scan cap.
	exact bool
	// pieces: MATCH expressions of search_words each of whose rows
	// include the driver's (its words' tokens alone): one with no more
	// than searchScanCap rows bounds the driver's, cheaper to look at
	// than the driver's phrase or intersection.
	pieces []string
	dir    string // " DESC" or " ASC"
	args   []any
}

// sql returns the search's statements. chans are the channel numbers to
// look in (the reader's, and of them the in: ones), toNums each to:
// user's DMs; desc walks the ids newest first, ranked computes bm25; head
// says the page is among the ranked matches, so that the later ones are
// only counted.
func (s search) sql(f confab.SearchFilter, chans []int64, toNums [][]int64, desc, ranked, head bool) searchSQL {
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
	case s.words != "" || len(tags) > 0:
		from, id = "search_words", "rowid"
		var and []string
		if s.words != "" {
			and = append(and, "("+s.words+")")
			if ranked {
				score = "bm25(search_words, 1.0, 0.0, 1.0)"
			}
		}
		and = append(and, tags...)
		expr := strings.Join(and, " AND ")
		if s.exWords != "" {
			// Without word terms (see buildSearch), NOTed here too.
			expr = "(" + expr + ") NOT (" + s.exWords + ")"
			s.exWords = ""
		}
		where = append(where, "search_words MATCH "+arg(expr))
	default:
		from, id = "search_rows", "id"
	}
	if s.exWords != "" {
		pass = append(pass, "d.id NOT IN (SELECT rowid FROM search_words WHERE search_words MATCH "+arg(s.exWords)+")")
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

	dir, cmp, edge := " ASC", " > ", "max"
	if desc {
		dir, cmp, edge = " DESC", " < ", "min"
	}
	tail := " ORDER BY " + id + dir
	cond := strings.Join(where, " AND ")
	driver := func(score, after string) string {
		w := cond
		if after != "" {
			w = strings.Join(append(where[:len(where):len(where)], after), " AND ")
		}
		if w != "" {
			w = " WHERE " + w
		}
		return "SELECT " + id + " AS id, " + score + " AS score FROM " + from + w + tail
	}
	// The reader's channels first: the other filters only for a match
	// the reader may read. A collection has no ORDER BY: the driver, a
	// co-routine (a subquery with a LIMIT is not flattened into a join),
	// is the outer loop (CROSS JOIN keeps it there: left to itself the planner
	// walks the reader's channels) and gives its rows in id order, and the LIMIT
	// stops it once enough have passed.
	// With in: tags in search_words' expression, every row the driver
	// gives is in a channel the reader may read: when no other filter
	// applies, each is a match, and fewer matches than the scan cap mean
	// the driver was read to its end.
	// The reader's channels need no check then either: the tags are of
	// those alone.
	exact := from == "search_words" && len(f.ChannelIDs) > 0 && len(pass) == 0
	if !exact {
		pass = append([]string{"substr(" + arg(chanSet(chans)) + ", r.chan + 1, 1) = x'01'"}, pass...)
	}
	collectAs := func(cols, driver, also string, lim int) string {
		w := pass[:len(pass):len(pass)]
		if also != "" {
			w = append(w, also)
		}
		var filter string
		if len(w) > 0 {
			filter = " WHERE " + strings.Join(w, " AND ")
		}
		return "SELECT " + cols + " FROM (" + driver + " LIMIT " + strconv.Itoa(searchScanCap) +
			") AS d CROSS JOIN search_rows AS r ON r.id = d.id" + filter + " LIMIT " + strconv.Itoa(lim)
	}
	collect := func(driver, also string, lim int) string {
		return collectAs("d.id AS id, r.chan AS num, r.seq AS seq, r.ts AS ts, d.score AS score", driver, also, lim)
	}
	sq := searchSQL{rows: "SELECT " + id + " FROM " + from, exact: exact, dir: dir, args: args}
	if from == "search_words" && s.words != "" && len(s.pieces) > 1 {
		sq.pieces = s.pieces
	}
	if cond != "" {
		sq.rows += " WHERE " + cond
	}
	sq.rows += tail
	cnt, rk := strconv.Itoa(searchCountCap), strconv.Itoa(searchRankCap)
	if score == "0" || searchRankCap >= searchCountCap {
		sq.with = "WITH m AS MATERIALIZED (" + collect(driver(score, ""), "", searchCountCap+1) + ")"
		sq.count = "(SELECT count(*) FROM m)"
		sq.page = "SELECT num, seq, 0 AS part, score, ts, id FROM (SELECT * FROM m LIMIT " + cnt + ")"
		return sq
	}
	// Ranked: the newest searchRankCap matches with their bm25, then the
	// later ones (older than the last ranked) without.
	rankedWith := "WITH ranked AS MATERIALIZED (" + collect(driver(score, ""), "", searchRankCap) + ")"
	after, full := id+cmp+"(SELECT "+edge+"(id) FROM ranked)", "(SELECT count(*) FROM ranked) = "+rk
	nLater := searchCountCap + 1 - searchRankCap
	if head {
		// Only counted, the later matches are neither kept nor read from
		// search_rows unless a filter needs it: when every row of the
		// driver is a match, they are its rows, counted in FTS5's own
		// order (oldest first, cheaper than newest first; as many either
		// way, the count stopping at the same number).
		later := collectAs("1", driver("NULL", after), full, nLater)
		if exact {
			later = "SELECT 1 FROM " + from + " WHERE " + strings.Join(append(where[:len(where):len(where)], after, full), " AND ") +
				" LIMIT " + strconv.Itoa(min(nLater, searchScanCap))
		}
		sq.with = rankedWith
		sq.count = "((SELECT count(*) FROM ranked) + (SELECT count(*) FROM (" + later + ")))"
		sq.page = "SELECT num, seq, 0 AS part, score, ts, id FROM ranked"
		return sq
	}
	sq.with = rankedWith + ", later AS MATERIALIZED (" + collect(driver("NULL", after), full, nLater) + ")"
	sq.count = "((SELECT count(*) FROM ranked) + (SELECT count(*) FROM later))"
	sq.page = "SELECT num, seq, 0 AS part, score, ts, id FROM ranked UNION ALL " +
		"SELECT * FROM (SELECT num, seq, 1, score, ts, id FROM later LIMIT " + strconv.Itoa(searchCountCap-searchRankCap) + ")"
	return sq
}
