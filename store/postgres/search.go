package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// searchDoc is a message's row of message_search, but for its keys.
type searchDoc struct {
	body     string   // confab.SearchDoc's body
	tsv      string   // the same tokens, a tsvector literal with positions
	hasLink  bool     // confab.SearchDoc's link flag
	reply    bool     // a thread reply
	mentions []string // the users mentioned by id
}

// newSearchDoc makes m's index row.
func newSearchDoc(m *confab.Message) searchDoc {
	body, link := confab.SearchDoc(m.Text)
	users, _ := confab.Mentions(m.Text, m.Blocks)
	if users == nil {
		users = []string{}
	}
	return searchDoc{body: body, tsv: tsvector(body), hasLink: link,
		reply: m.ThreadTS != 0, mentions: users}
}

// tsvector limits: a lexeme keeps at most maxLexemePositions positions,
// and a position is at most maxPosition (PostgreSQL's own limits; it
// would cut the same).
const (
	maxLexemePositions = 256
	maxPosition        = 16383
)

// tsvector writes the tokens of body (joined by single spaces) and its
// pairs of characters of scripts without spaces as a tsvector literal,
// each with its positions (from 1), for a
// $n::text::tsvector cast: PostgreSQL takes the lexemes as they are, with
// no parser or dictionary of its own.
func tsvector(body string) string {
	if body == "" {
		return ""
	}
	toks := strings.Split(body, " ")
	pos := make(map[string][]int, len(toks))
	var order []string
	at := func(t string, i int) {
		p, seen := pos[t]
		if !seen {
			order = append(order, t)
		}
		if len(p) < maxLexemePositions {
			pos[t] = append(p, min(i+1, maxPosition))
		}
	}
	for i, t := range toks {
		at(t, i)
		// Two adjacent characters of a script without spaces are also a
		// pair, at the first one's position (see confab.PhrasePairs): a
		// token never holds two of them, so a pair is never a word, and
		// pairs of two runs are never adjacent.
		if i > 0 && confab.IsUnigramToken(t) && confab.IsUnigramToken(toks[i-1]) {
			at(toks[i-1]+t, i-1)
		}
	}
	var b strings.Builder
	for i, t := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(lexeme(t))
		for j, p := range pos[t] {
			if j == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}

// lexeme quotes a token for a tsvector or tsquery literal.
func lexeme(t string) string {
	return "'" + lexemeQuoter.Replace(t) + "'"
}

var lexemeQuoter = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// queryWord is a term's word as the index has it. Words are tokens
// (confab.SearchTokens), lower-case already; a word in capitals all the
// same is lower-cased as SearchTokens would, as SQLite's tokenizer does
// with a query's words.
func queryWord(w string) string { return strings.Map(unicode.ToLower, w) }

// tsquery writes terms as a tsquery literal joined by op ("&" or "|"), ""
// when none has words: a term's words (or pairs, confab.PhrasePairs) are
// adjacent lexemes (<->), its last one a prefix (:*) if Prefix.
func tsquery(terms []confab.SearchTerm, op string) string {
	var parts []string
	for _, t := range terms {
		if len(t.Words) == 0 {
			continue
		}
		words := t.Words
		if pairs := confab.PhrasePairs(words, t.Prefix); pairs != nil {
			words = pairs // one exact lexeme per pair: short lists
		}
		ws := make([]string, len(words))
		for i, w := range words {
			ws[i] = lexeme(queryWord(w))
		}
		if t.Prefix {
			ws[len(ws)-1] += ":*"
		}
		parts = append(parts, "("+strings.Join(ws, " <-> ")+")")
	}
	return strings.Join(parts, " "+op+" ")
}

// searchByPairs is false in tests that compare search_pairs' answers
// with the GIN index's.
var searchByPairs = true

// onePair returns the pair of CJK characters the query is, when the
// words are one term that is one pair (confab.PhrasePairs) and nothing
// else is asked of a match but its channel and time: the conditions
// search_pairs can answer alone. Otherwise "".
func onePair(f confab.SearchFilter, words, subs, exWords, exSubs []confab.SearchTerm) string {
	if !searchByPairs || len(words) != 1 || len(subs)+len(exWords)+len(exSubs) > 0 || len(f.UserIDs)+len(f.ToUserIDs) > 0 ||
		f.HasLink || f.IsThread || f.HasReaction || f.Reaction != "" || f.HasPin {
		return ""
	}
	pairs := confab.PhrasePairs(words[0].Words, words[0].Prefix)
	if len(pairs) != 1 {
		return ""
	}
	return queryWord(pairs[0])
}

// likePattern matches a Substring term's words, joined by single spaces,
// anywhere in body: LIKE's wildcards and its escape character are escaped.
func likePattern(words []string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(queryWord(strings.Join(words, " "))) + "%"
}

// The page: Limit at most maxSearchLimit, defaultSearchLimit when not
// set (as on SQLite, and Slack's default count).
const (
	maxSearchLimit     = 100
	defaultSearchLimit = 20
)

// searchRankCap is how many of the newest matches the score order ranks
// (confab.SearchRankCap; a variable for the tests): ts_rank reads each
// match's tsvector, which for a common word cost more than the rest of
// the search.
var searchRankCap = confab.SearchRankCap

// searchQueries builds SearchMessages' statements, with their common
// arguments: page reads the page, one row per message with the total in
// each; count counts the selection up to one past the cap, for a page past its end.
//
// The selection is one scan of message_search: by message_search_tsv for
// words (the GIN index), message_search_body for substrings (trigrams),
// otherwise by the readable channels' keys or message_search_user, as
// the planner finds cheapest (see TestSearchPlans). Every other condition
// filters the same rows, so Total counts exactly what the pages show.
func searchQueries(f confab.SearchFilter) (page, count string, args []any) {
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	ws := arg(f.WorkspaceID)
	// The reader may read the message's channel now: one of the
	// workspace's public ones (archived too) or one they are a member of.
	// A condition on each row (a lookup of its channel, cached by channel
	// id: Memoize), not a join of a list of the readable channels: a hash
	// join returns the rows out of order, and the newest matches of a
	// common word are then found only by reading every one of them (see
	// collect, below).
	readable := `EXISTS (SELECT 1 FROM channels c WHERE c.id = s.channel_id AND c.workspace_id = ` + ws
	var conds []string
	// The channels asked for are also a condition on the row itself: the
	// planner knows then how many rows they hold (their statistics), and
	// one channel's newest rows are the end of its range of the primary
	// key (see collect, below).
	ids := confab.UniqueIDs(f.ChannelIDs)
	switch {
	case len(ids) == 1:
		ch := arg(ids[0])
		readable += ` AND c.id = ` + ch
		conds = append(conds, `s.channel_id = `+ch)
	case len(ids) > 1:
		chans := arg(ids) + `::text[]`
		readable += ` AND c.id = ANY(` + chans + `)`
		conds = append(conds, `s.channel_id = ANY(`+chans+`)`)
	}
	if f.ReaderID != "" {
		readable += ` AND (c.kind = 'public' OR EXISTS (SELECT 1 FROM memberships ms
			WHERE ms.channel_id = c.id AND ms.user_id = ` + arg(f.ReaderID) + `))`
	}
	conds = append(conds, readable+`)`)
	var with []string

	var words, subs, exWords, exSubs []confab.SearchTerm
	for _, t := range f.Terms {
		if t.Substring {
			subs = append(subs, t)
		} else {
			words = append(words, t)
		}
	}
	for _, t := range f.Excluded {
		if t.Substring {
			exSubs = append(exSubs, t)
		} else {
			exWords = append(exWords, t)
		}
	}
	// A query that is one pair of CJK characters (a word of two) and
	// asks nothing else of the rows than their channel and time is a
	// range of search_pairs' key (migration 0018), whose rows have the
	// same channel_id, seq and ts: read newest first in the index alone,
	// not a bitmap of the GIN index over every match's heap page.
	pair := onePair(f, words, subs, exWords, exSubs)
	table := `message_search`
	// rank is the score of a collected match (of hits, below), 0 for
	// all in the time order or without words.
	rank := `0::real`
	if q := tsquery(words, "&"); q != "" && pair != "" {
		table = `search_pairs`
		conds = append(conds, `s.pair = `+arg(pair))
		if f.Sort == confab.SortScore {
			rank = `s.rank`
		}
	} else if q != "" {
		p := arg(q)
		conds = append(conds, `s.tsv @@ `+p+`::text::tsquery`)
		if f.Sort == confab.SortScore {
			rank = `ts_rank(s.tsv, ` + p + `::text::tsquery)`
		}
	}
	if q := tsquery(exWords, "|"); q != "" {
		conds = append(conds, `NOT (s.tsv @@ `+arg(q)+`::text::tsquery)`)
	}
	for _, t := range subs {
		if len(t.Words) > 0 {
			conds = append(conds, `s.body LIKE `+arg(likePattern(t.Words)))
		}
	}
	for _, t := range exSubs {
		if len(t.Words) > 0 {
			conds = append(conds, `s.body NOT LIKE `+arg(likePattern(t.Words)))
		}
	}
	// One poster is an equality: their newest rows are the end of their
	// range of message_search_user (user_id, ts), read backwards up to
	// the cap (an index scan of = ANY gives no order).
	if users := confab.UniqueIDs(f.UserIDs); len(users) == 1 {
		conds = append(conds, `s.user_id = `+arg(users[0]))
	} else if len(users) > 1 {
		conds = append(conds, `s.user_id = ANY(`+arg(users)+`::text[])`)
	}
	if len(f.ToUserIDs) > 0 {
		// To one of them, not by them: a mention by id, or a DM or group
		// DM they are a member of. The first condition, looser, is the
		// one an index can answer (message_search_mentions, or the keys
		// of their DMs).
		to := arg(confab.UniqueIDs(f.ToUserIDs)) + `::text[]`
		with = append(with, `direct AS (
			SELECT ms.channel_id, ms.user_id FROM memberships ms JOIN channels c ON c.id = ms.channel_id
			WHERE ms.user_id = ANY(`+to+`) AND c.kind IN ('dm', 'group_dm') AND c.workspace_id = `+ws+`)`)
		conds = append(conds, `(s.mentions && `+to+` OR s.channel_id = ANY(ARRAY(SELECT channel_id FROM direct)))`,
			`EXISTS (SELECT 1 FROM unnest(`+to+`) u(id) WHERE u.id <> s.user_id AND (u.id = ANY(s.mentions)
				OR EXISTS (SELECT 1 FROM direct d WHERE d.channel_id = s.channel_id AND d.user_id = u.id)))`)
	}
	if f.Since != 0 {
		conds = append(conds, `s.ts >= `+arg(f.Since))
	}
	if f.Until != 0 {
		conds = append(conds, `s.ts < `+arg(f.Until))
	}
	if f.HasLink {
		conds = append(conds, `s.has_link`)
	}
	if f.IsThread {
		// A reply, or a parent with replies: its reply count is read from
		// messages, as it changes with every reply (an index row changes
		// only with its own message).
		conds = append(conds, `(s.reply OR EXISTS (SELECT 1 FROM messages m
			WHERE m.channel_id = s.channel_id AND m.seq = s.seq AND m.reply_count > 0))`)
	}
	if f.HasReaction || f.Reaction != "" {
		name := ``
		if f.Reaction != "" {
			name = ` AND r.name = ` + arg(f.Reaction)
		}
		conds = append(conds, `EXISTS (SELECT 1 FROM reactions r
			WHERE r.channel_id = s.channel_id AND r.message_seq = s.seq AND NOT r.removed`+name+`)`)
	}
	if f.HasPin {
		conds = append(conds, `EXISTS (SELECT 1 FROM pins p WHERE p.channel_id = s.channel_id AND p.message_ts = s.ts)`)
	}
	from := ` FROM ` + table + ` s WHERE ` + strings.Join(conds, `
		AND `)

	dir := ` DESC`
	if f.Asc {
		dir = ` ASC`
	}
	// order is the results' order, of the columns of table t: by score
	// (when sorted so), then newest first, the channel breaking a tie of
	// ts (unique in a channel).
	order := func(t, score string) string {
		o := t + `ts` + dir + `, ` + t + `channel_id` + dir
		if f.Sort == confab.SortScore {
			o = score + dir + `, ` + o
		}
		return o
	}
	lim, off := f.Limit, max(f.Offset, 0)
	if lim <= 0 {
		lim = defaultSearchLimit
	}
	lim = min(lim, maxSearchLimit)
	// hits is the selection up to one past the count's cap, newest first
	// (oldest first for the time order ascending), materialized: counted,
	// and sorted for the page, from one scan. (A count(*) OVER () under
	// the page's LIMIT would do the same work, but PostgreSQL before 16
	// costs it as if the LIMIT stopped the scan early, and picks plans
	// for that.)
	//
	// message_search is written in time order, so the newest matches of a
	// common word are in its last pages: read down message_search_ts,
	// every row checked, the scan stops at the cap after a small share of
	// the table, where the GIN index's bitmap reads every match of the
	// word (a tenth of the table's pages for a word in a tenth of the
	// messages) to keep the newest. The planner picks the one or the
	// other by the word's frequency (TestSearchPlansNewest).
	//
	// In one channel, ts grows with seq (CreateMessage): its newest rows
	// are the last of its range of the primary key, read backwards up to
	// the cap rather than all of them sorted.
	//
	// search_pairs is in time order for each pair (its key): the same
	// order, without seq.
	bySeq := len(ids) == 1 && pair == ""
	newest := ` ORDER BY s.ts DESC, s.channel_id DESC`
	if bySeq {
		newest = ` ORDER BY s.seq DESC`
	}
	if f.Sort == confab.SortTimestamp && f.Asc {
		newest = ` ORDER BY s.ts, s.channel_id`
		if bySeq {
			newest = ` ORDER BY s.seq`
		}
	}
	collect := newest + ` LIMIT ` + strconv.Itoa(confab.SearchCountCap+1)
	cte := `WITH `
	if len(with) > 0 {
		cte += strings.Join(with, `, `) + `, `
	}
	// The score order ranks the newest searchRankCap matches (see
	// confab.SearchRankCap); the later ones score -1, below any rank
	// (ts_rank is never negative), and follow newest first. The matches
	// are collected by their keys alone: a tsvector carried through the
	// sort of a common word's matches made it spill to disk, and
	// PostgreSQL computes a cheap function of the select list for every
	// row sorted, not for the LIMIT's. The ranked ones read theirs again
	// by key, but for a pair's, search_pairs' own column (0018), collected
	// with the rest.
	score, scored := `0::real`, `hits`
	if rank != `0::real` {
		score = `NULL::real`
		ranked := `(SELECT ` + rank + ` FROM message_search s WHERE s.channel_id = h.channel_id AND s.seq = h.seq)`
		if pair != "" {
			score, ranked = rank, `h.score`
		}
		scored = `(SELECT channel_id, seq, ts, CASE WHEN n <= ` + strconv.Itoa(searchRankCap) + `
			THEN ` + ranked + `
			ELSE -1 END AS score
		FROM (SELECT channel_id, seq, ts, score, row_number() OVER (ORDER BY ts DESC, channel_id DESC) AS n FROM hits) AS h) AS r`
	}
	hits := cte + `hits AS MATERIALIZED (
		SELECT s.channel_id, s.seq, s.ts, ` + score + ` AS score` + from + collect + `
	), page AS (
		SELECT channel_id AS hit_channel, seq AS hit_seq, score FROM ` + scored + `
		ORDER BY ` + order(``, `score`) + `
		LIMIT ` + arg(lim) + ` OFFSET ` + arg(off) + `)
	`
	inner := `SELECT ` + messageCols + `, h.score, (SELECT count(*) FROM hits) AS total FROM page h
		JOIN messages ON messages.channel_id = h.hit_channel AND messages.seq = h.hit_seq`
	page = hits + withReactions(inner, ` ORDER BY `+order(`m.`, `m.score`), `m.total`)
	count = ``
	if len(with) > 0 {
		count = `WITH ` + strings.Join(with, `, `)
	}
	count += ` SELECT count(*) FROM (SELECT 1` + from + collect + `) AS capped`
	return page, count, args
}

// searchSettings is what SearchMessages' transaction sets for its
// statements alone: no parallel workers, no JIT compilation. A search is
// one of many short requests at once: a Gather waits for workers that
// other requests' processes keep off the CPU (a CJK word's search, read
// by a parallel bitmap scan, took a median of 174 ms against 70 ms in
// one process, on a busy two-core machine), and a JIT compilation,
// which a statement's cost over jit_above_cost asks for (the rank's
// lookup is costed for every collected match), takes tens of
// milliseconds to save less.
const searchSettings = `SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`

// SearchMessages runs the selection in one statement: the page, each row
// with the selection's total (count(*) OVER ()), the messages and their
// reactions joined as FindMessages joins them. Only a page past the end,
// which has no row to carry the total, takes a second statement to count.
// They run in a transaction of their own, for searchSettings.
//
// The statements run as one-shot statements (QueryExecModeExec), planned
// with their arguments: how selective a word or a list of channels is
// decides the plan, which a cached generic plan would not know.
func (db *DB) SearchMessages(ctx context.Context, f confab.SearchFilter) (*confab.SearchResult, error) {
	db.queries.Read("SearchMessages")
	page, count, args := searchQueries(f)
	res := &confab.SearchResult{Messages: []*confab.Message{}}
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, searchSettings); err != nil {
			return ctxErr(ctx, err)
		}
		rows, err := tx.Query(ctx, page, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return ctxErr(ctx, err)
		}
		res.Messages, err = collect(rows, func(r pgx.Row) (*confab.Message, error) {
			return scanWithReactionsAnd(r, &res.Total)
		})
		if err != nil {
			return ctxErr(ctx, err)
		}
		if len(res.Messages) == 0 && f.Offset > 0 {
			// The page is past the end: count without it (the count's
			// arguments are a prefix of the page's).
			if err := tx.QueryRow(ctx, count, append([]any{pgx.QueryExecModeExec}, args[:len(args)-2]...)...).Scan(&res.Total); err != nil {
				return fmt.Errorf("count: %w", ctxErr(ctx, err))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search messages of %s: %w", f.WorkspaceID, err)
	}
	if res.Messages == nil {
		res.Messages = []*confab.Message{}
	}
	if res.Total > confab.SearchCountCap {
		res.Total, res.Capped = confab.SearchCountCap, true
	}
	return res, nil
}

// indexSQL writes a message's index row, or rewrites it (an edit; or a
// message the background indexing has not reached yet: it will find the
// row there).
const indexSQL = `INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
	VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9::text::tsvector)
	ON CONFLICT (channel_id, seq) DO UPDATE SET has_link = excluded.has_link,
		mentions = excluded.mentions, body = excluded.body, tsv = excluded.tsv`

// indexMessage (re)indexes m, in the transaction that changes it.
func indexMessage(ctx context.Context, tx pgx.Tx, m *confab.Message) error {
	if confab.IsSystemSubtype(m.Subtype) {
		return nil // not what anyone searches for
	}
	d := newSearchDoc(m)
	if _, err := tx.Exec(ctx, indexSQL, m.ChannelID, m.Seq, m.TS, m.UserID, d.hasLink, d.reply, d.mentions, d.body, d.tsv); err != nil {
		return fmt.Errorf("index message %s/%d: %w", m.ChannelID, m.Seq, ctxErr(ctx, err))
	}
	return nil
}
