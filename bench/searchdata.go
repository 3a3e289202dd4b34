package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The search scenario's workspace is made up, deterministically (the same
// size gives the same workspace, so that builds compare), to look like a
// real one to a text index:
//
//   - Words follow Zipf's law (Zipf–Mandelbrot: rank k has weight
//     1/(k+1+2.7)^searchZipfS, which gives "the" ~4 %) over a vocabulary of
//     searchVocab words: a few chat words first ("the", "deploy"), then
//     made-up pronounceable ones, some with diacritics (café-like), so a
//     common word is in a few percent of the messages and a rare one in a
//     handful.
//   - Lengths vary (log-normal: median ~9 words, a few of 100+), in
//     sentences; a share (searchCJKShare) is Japanese or Chinese, from a
//     vocabulary of their own; some hold a link or a mention.
//   - Conversations: #general (everyone, the busiest), public channels,
//     a few archived, private channels, DMs and group DMs; how many
//     messages each gets follows Zipf's law too (exponent 0.9), the
//     posters too (a few people write most). The reader is in 10 % of the
//     conversations, of every kind, and not in most private ones.
//   - Messages are spread over the two years before the load, in each
//     conversation in ts order; a tenth are thread replies.
const (
	searchVocab    = 50_000
	searchZipfS    = 1.1
	searchCJKShare = 0.07
	searchLinkRate = 0.02
	searchMention  = 0.03
	searchReplies  = 0.10
	searchSpan     = 2 * 365 * 24 * time.Hour
	searchSeed     = 20261207
)

// chatWords are the most frequent words, in rank order.
var chatWords = strings.Fields(`the to i a and it is we that for on you this in be
of have can not just but so do are at if will was me my with what from about
get think now up out all there one would should like know need yes ok thanks
team build deploy release test fix issue review today tomorrow meeting please
check update branch server error merge data change time new work week customer
design looks good sure let see any also still maybe back after before again
because some more then than how when where why which who could did done going
make use look try run running call talk here they them our us an or by no as
has had been were its your their right really well got thing things yeah hey
morning afternoon lunch standup sprint ticket bug crash logs metrics alert
dashboard query index search cache latency timeout config staging production
rollback hotfix patch version api client app user users account password
login session token email slack channel thread message docs spec draft plan
roadmap estimate deadline friday monday demo feedback question answer idea`)

// accentedWords are real words with diacritics, spread over the middle
// ranks of the vocabulary.
var accentedWords = strings.Fields(`café résumé naïve déjà über façade jalapeño
piñata crème brûlée zürich köln münchen são paulo señor mañana rôle élan
fiancée soufflé ångström øresund kraków łódź málaga bogotá québec montréal
genève curaçao düsseldorf göteborg malmö reykjavík tromsø ærø entrée protégé
exposé cliché pâté smörgåsbord açaí coöperate`)

// cjkWords are the Japanese and Chinese vocabulary, most frequent first;
// cjkParticles join Japanese words.
var (
	cjkWords = strings.Fields(`確認 お願いします 今日 明日 会議 資料 対応 修正 問題 本番
環境 設定 共有 テスト リリース サーバー デプロイ レビュー バグ 仕様 顧客 報告 完了 進捗
担当 来週 先週 時間 連絡 返信 調査 原因 影響 範囲 手順 追加 削除 変更 更新 登録 ログ
エラー データ 画面 機能 性能 改善 検索 結果 必要 可能 重要 簡単 大丈夫 ありがとう
すみません よろしく 了解 承知 東京 大阪 北京 上海 我们 今天 明天 问题 服务器 数据 测试
发布 需要 已经 可以 没有 这个 用户 系统 功能 文档 代码 修改 完成 谢谢 客户 项目 团队
周末 晚上 早上 下午 会话 频道 通知 権限 障害 監視 負荷 容量 移行 契約 見積 請求`)
	cjkParticles = strings.Fields(`は が を に の で と も から まで ね よ`)
)

var (
	syllableOnsets = strings.Fields(`b c d f g h j k l m n p r s t v w z b d k l m n p r s t br ch dr gr pl sh st tr`)
	syllableVowels = strings.Fields(`a e i o u a e i o ai ou ea`)
	syllableCodas  = []string{"", "", "", "", "", "", "n", "r", "s", "l", "t"}
	accentFor      = map[byte]string{'a': "á", 'e': "é", 'i': "í", 'o': "ö", 'u': "ü"}
)

// searchVocabulary returns the vocabulary in rank order: chatWords, then
// made-up words (one in thirty with a diacritic), with accentedWords among
// ranks 300–3,000.
func searchVocabulary(rng *rand.Rand) []string {
	seen := map[string]bool{}
	words := make([]string, 0, searchVocab)
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	for _, w := range chatWords {
		add(w)
	}
	accented := slices.Clone(accentedWords)
	for len(words) < searchVocab {
		if len(accented) > 0 && len(words) >= 300 && rng.IntN(40) == 0 {
			add(accented[0])
			accented = accented[1:]
			continue
		}
		var b strings.Builder
		for range 1 + rng.IntN(2) + rng.IntN(2)*rng.IntN(2) {
			b.WriteString(syllableOnsets[rng.IntN(len(syllableOnsets))])
			b.WriteString(syllableVowels[rng.IntN(len(syllableVowels))])
			b.WriteString(syllableCodas[rng.IntN(len(syllableCodas))])
		}
		w := b.String()
		if rng.IntN(30) == 0 {
			// Accent the first plain vowel: "brakamo" → "brákamo".
			for i := range len(w) {
				if a, ok := accentFor[w[i]]; ok {
					w = w[:i] + a + w[i+1:]
					break
				}
			}
		}
		add(w)
	}
	return words
}

// zipfTable draws ranks 0..n-1 with P(k) ∝ 1/(k+1+q)^s, by binary search
// in the cumulative weights (rand.Zipf wants s > 1; this takes any s).
type zipfTable []float64

func newZipf(n int, s, q float64) zipfTable {
	cum := make(zipfTable, n)
	sum := 0.0
	for k := range n {
		sum += 1 / math.Pow(float64(k+1)+q, s)
		cum[k] = sum
	}
	for k := range cum {
		cum[k] /= sum
	}
	return cum
}

func (z zipfTable) draw(rng *rand.Rand) int {
	i, _ := slices.BinarySearch(z, rng.Float64())
	return min(i, len(z)-1)
}

// share is rank k's probability.
func (z zipfTable) share(k int) float64 {
	if k == 0 {
		return z[0]
	}
	return z[k] - z[k-1]
}

// Conversation kinds of the search workspace.
const (
	convGeneral  = "general"
	convPublic   = "public"
	convArchived = "archived"
	convPrivate  = "private"
	convDM       = "dm"
	convGroupDM  = "group_dm"
)

// searchConv is one conversation of the plan.
type searchConv struct {
	Kind     string
	Name     string // named channels
	Members  []int  // user indexes; 0 is the reader
	Messages int
	Reader   bool // the reader is a member
}

// searchPlan is the workspace the search scenario loads.
type searchPlan struct {
	Users    int
	Convs    []searchConv
	Messages int
	Start    time.Time // the first message's day; the span ends at End
	End      time.Time
	vocab    []string
	words    zipfTable // over vocab
	cjk      zipfTable // over cjkWords
	posters  zipfTable // over users: who writes how much
}

// newSearchPlan plans a workspace of users users and convs conversations
// holding messages messages, ending at end.
func newSearchPlan(users, convs, messages int, end time.Time) *searchPlan {
	rng := rand.New(rand.NewPCG(searchSeed, 1))
	p := &searchPlan{
		Users: users, Messages: messages,
		End: end.Truncate(time.Second), Start: end.Add(-searchSpan).Truncate(24 * time.Hour),
		vocab: searchVocabulary(rng),
	}
	p.words = newZipf(len(p.vocab), searchZipfS, 2.7)
	p.cjk = newZipf(len(cjkWords), 1.0, 0)
	p.posters = newZipf(users, 1.0, 0)

	// Kinds: 4 % DMs, 1 % group DMs, 10 % private, 2 % archived, the rest
	// public; the reader is in half the DMs and group DMs, a tenth of the
	// private channels and 7.5 % of the public ones, #general included:
	// 10 % of the whole.
	n := func(frac float64) int { return max(1, int(math.Round(frac*float64(convs)))) }
	kinds := []struct {
		kind   string
		count  int
		reader int
	}{
		{convGeneral, 1, 1},
		{convDM, n(0.04), (n(0.04) + 1) / 2},
		{convGroupDM, n(0.01), (n(0.01) + 1) / 2},
		{convPrivate, n(0.10), max(1, n(0.10)/10)},
		{convArchived, n(0.02), 0},
	}
	rest := convs
	for _, k := range kinds {
		rest -= k.count
	}
	readerConvs := max(1, convs/10)
	for _, k := range kinds {
		readerConvs -= k.reader
	}
	kinds = append(kinds, struct {
		kind   string
		count  int
		reader int
	}{convPublic, max(rest, 0), min(max(readerConvs, 0), max(rest, 0))})

	named := 0
	dms := map[string]bool{} // a DM's members are its identity: no two alike
	for _, k := range kinds {
		for i := range k.count {
			c := searchConv{Kind: k.kind, Reader: i < k.reader}
			switch k.kind {
			case convGeneral:
				c.Name = "general"
				c.Members = make([]int, users)
				for u := range users {
					c.Members[u] = u
				}
			case convDM, convGroupDM:
				size := 2
				if k.kind == convGroupDM {
					size = 3 + rng.IntN(3)
				}
				for range 100 {
					c.Members = p.pickMembers(rng, min(size, users), c.Reader)
					if key := fmt.Sprint(c.Members); !dms[key] {
						dms[key] = true
						break
					}
				}
			default:
				named++
				c.Name = channelName(rng, p.vocab, named)
				size := 3 + int(math.Exp(rng.NormFloat64()+2.5))
				c.Members = p.pickMembers(rng, min(size, users), c.Reader)
			}
			p.Convs = append(p.Convs, c)
		}
	}

	// Messages per conversation: Zipf over a shuffled order, #general the
	// busiest; every conversation gets at least one.
	order := rng.Perm(len(p.Convs) - 1)
	weights := newZipf(len(p.Convs), 0.9, 0)
	left := messages
	for i := range p.Convs {
		rank := 0
		if i > 0 {
			rank = order[i-1] + 1
		}
		m := max(1, int(weights.share(rank)*float64(messages)))
		p.Convs[i].Messages = m
		left -= m
	}
	for i := 0; left != 0; i = (i + 1) % len(p.Convs) {
		if left > 0 {
			p.Convs[i].Messages++
			left--
		} else if p.Convs[i].Messages > 1 {
			p.Convs[i].Messages--
			left++
		}
	}
	return p
}

// pickMembers picks size distinct users, the reader (0) among them if
// reader, and not otherwise.
func (p *searchPlan) pickMembers(rng *rand.Rand, size int, reader bool) []int {
	set := map[int]bool{}
	var out []int
	if reader {
		set[0] = true
		out = append(out, 0)
	}
	others := 0 // picked besides the reader; at most p.Users-1 exist
	for len(out) < size && others < p.Users-1 {
		u := 1 + rng.IntN(p.Users-1)
		if !set[u] {
			set[u] = true
			out = append(out, u)
			others++
		}
	}
	slices.Sort(out)
	return out
}

// channelName is a channel's name from two vocabulary words and its number
// (unique).
func channelName(rng *rand.Rand, vocab []string, i int) string {
	pick := func() string {
		for {
			w := vocab[rng.IntN(min(len(vocab), 2000))]
			if isASCIIWord(w) {
				return w
			}
		}
	}
	return fmt.Sprintf("%s-%s-%d", pick(), pick(), i)
}

func isASCIIWord(w string) bool {
	for i := range len(w) {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// userName is user i's name.
func userName(i int) string { return fmt.Sprintf("user%04d", i) }

// convRand is conversation i's own random source, and msgRand its k-th
// message's: they do not depend on the order in which the loader's
// workers run.
func convRand(i int) *rand.Rand { return rand.New(rand.NewPCG(searchSeed, uint64(i)+2)) }

func msgRand(i, k int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(i)+searchSeed, uint64(k)<<1|1))
}

// times returns n sorted times over the span, in unix microseconds.
func (p *searchPlan) times(rng *rand.Rand, n int) []int64 {
	lo, hi := p.Start.UnixMicro(), p.End.UnixMicro()
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = lo + rng.Int64N(hi-lo)
	}
	slices.Sort(ts)
	return ts
}

// poster picks the poster of a message among members, favouring the
// workspace's busy writers.
func (p *searchPlan) poster(rng *rand.Rand, members []int) int {
	for range 8 {
		u := p.posters.draw(rng)
		if _, ok := slices.BinarySearch(members, u); ok {
			return u
		}
	}
	return members[rng.IntN(len(members))]
}

// text makes one message; mention is a user id to mention, or "".
func (p *searchPlan) text(rng *rand.Rand, mention string) string {
	if rng.Float64() < searchCJKShare {
		return p.cjkText(rng)
	}
	words := 1 + int(math.Exp(rng.NormFloat64()*0.8+2.1))
	words = min(words, 300)
	var b strings.Builder
	if mention != "" && rng.Float64() < searchMention {
		b.WriteString("<@" + mention + "> ")
	}
	sentence := 0
	for i := range words {
		w := p.vocab[p.words.draw(rng)]
		if sentence == 0 {
			r, size := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(r)) + w[size:]
		}
		b.WriteString(w)
		sentence++
		switch {
		case i == words-1:
			b.WriteString([]string{".", ".", "!", "?", ""}[rng.IntN(5)])
		case sentence > 3 && rng.IntN(10) == 0:
			b.WriteString([]string{". ", "? ", "! "}[rng.IntN(3)])
			sentence = 0
		case rng.IntN(15) == 0:
			b.WriteString(", ")
		default:
			b.WriteByte(' ')
		}
	}
	if rng.Float64() < searchLinkRate {
		fmt.Fprintf(&b, " <https://example.com/%s/%d>", p.vocab[p.words.draw(rng)], rng.IntN(100000))
	}
	return b.String()
}

// cjkText is a Japanese-looking (words joined by particles) or
// Chinese-looking (words run together) message.
func (p *searchPlan) cjkText(rng *rand.Rand) string {
	words := 2 + int(math.Exp(rng.NormFloat64()*0.6+1.6))
	japanese := rng.IntN(3) > 0
	var b strings.Builder
	for i := range words {
		b.WriteString(cjkWords[p.cjk.draw(rng)])
		switch {
		case i == words-1:
			b.WriteString("。")
		case japanese:
			b.WriteString(cjkParticles[rng.IntN(len(cjkParticles))])
		case rng.IntN(4) == 0:
			b.WriteString("，")
		}
	}
	return b.String()
}
