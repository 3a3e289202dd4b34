package chat

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab"
)

// Scheduled messages (chat.scheduleMessage): a message is checked as
// chat.postMessage checks one when it is scheduled, kept in the store,
// and posted at its post_at by the scheduler of any process that serves
// the API, as its user, through PostMessage: published live and counted
// like any post. PostMessage authorizes the user again then; a message
// its user may no longer post (they left the channel, it was archived,
// the thread's parent was deleted, the user is gone) is dropped: logged
// at Info with the reason and removed, and counted in
// confab_scheduled_dropped_total.
//
// Posted exactly once: a scheduler claims due messages atomically for
// schedulerLease (Store.ClaimScheduledMessages), posts each with
// ClientMsgID = its id, then removes it. Two schedulers never hold the
// same message at once; one that dies (or fails) after posting leaves the
// message claimed until the lease ends, and whoever claims it next posts
// it again with the same client_msg_id, which the channel's dedup answers
// with the message already posted, then removes it.

// Errors of chat.scheduleMessage, Slack's.
var (
	errTimeInPast  = &confab.Error{Code: confab.EINVALID, Message: "time_in_past"}
	errTimeTooFar  = &confab.Error{Code: confab.EINVALID, Message: "time_too_far"}
	errInvalidTime = &confab.Error{Code: confab.EINVALID, Message: "invalid_time"}
)

// The scheduler's pace.
const (
	schedulerBatch = 100              // messages claimed at once
	schedulerLease = 30 * time.Second // how long a claim holds
	// schedulerRounds bounds the batches of one tick, so that a backlog
	// after downtime is worked off without starving the stop.
	schedulerRounds = 10
	// schedulerPostTimeout bounds the posting of one message.
	schedulerPostTimeout = 10 * time.Second
)

// ScheduleParams are chat.scheduleMessage's arguments: chat.postMessage's
// (its ClientMsgID is ignored: the message's is its scheduled id) and
// when.
type ScheduleParams struct {
	PostParams
	PostAt string // unix seconds
}

// ScheduledListParams are chat.scheduledMessages.list's arguments.
type ScheduledListParams struct {
	Channel string // "" for every channel
	Oldest  string // unix seconds: post_at >= oldest; "" for no bound
	Latest  string // unix seconds: post_at <= latest; "" for no bound
	Cursor  string
	Limit   int
}

// parseUnix parses unix seconds, as an integer or with a fraction
// (dropped).
func parseUnix(v string) (int64, bool) {
	secs, frac, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	return n, true
}

// ScheduleMessage schedules a message of u's for p.PostAt, which must be
// no earlier than now ("time_in_past") and at most
// confab.MaxScheduleAhead ahead ("time_too_far"). The message is checked
// and u authorized exactly as PostMessage does (preparePost). It returns
// the scheduled message and the message as it will be posted (not
// stored).
func (s *Service) ScheduleMessage(ctx context.Context, u *confab.User, p ScheduleParams) (*confab.ScheduledMessage, *confab.Message, error) {
	postAt, ok := parseUnix(p.PostAt)
	if !ok {
		return nil, nil, errInvalidTime
	}
	now := s.now().Unix()
	if postAt < now {
		return nil, nil, errTimeInPast
	}
	if postAt > now+confab.MaxScheduleAhead {
		return nil, nil, errTimeTooFar
	}
	p.ClientMsgID = ""
	c, m, err := s.preparePost(ctx, u, p.PostParams)
	if err != nil {
		return nil, nil, err
	}
	sm := &confab.ScheduledMessage{
		ChannelID: c.ID, UserID: u.ID, PostAt: postAt, Created: now,
		Text: m.Text, ThreadTS: m.ThreadTS, Broadcast: m.Broadcast,
		Blocks: m.Blocks, Attachments: m.Attachments, Metadata: m.Metadata,
		Username: m.Username, IconEmoji: m.IconEmoji, IconURL: m.IconURL,
	}
	if err := s.store.CreateScheduledMessage(ctx, sm); err != nil {
		return nil, nil, err
	}
	m.ClientMsgID = sm.ID
	return sm, m, nil
}

// ScheduledMessages lists u's own pending scheduled messages by post_at
// (chat.scheduledMessages.list), in one channel or all.
func (s *Service) ScheduledMessages(ctx context.Context, u *confab.User, p ScheduledListParams) ([]*confab.ScheduledMessage, string, error) {
	f := confab.ScheduledFilter{UserID: u.ID, ChannelID: p.Channel}
	if p.Channel != "" && !confab.IsConversationID(p.Channel) {
		return nil, "", confab.ErrChannelNotFound
	}
	key, err := confab.DecodeCursor("q", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	if key != "" {
		at, id, _ := strings.Cut(key, ",")
		var ok bool
		if f.AfterPostAt, ok = parseUnix(at); !ok || !confab.ValidID(id, confab.PrefixScheduled) {
			return nil, "", confab.ErrInvalidCursor
		}
		f.AfterID = id
	}
	for _, b := range []struct {
		v   string
		dst *int64
	}{{p.Oldest, &f.Oldest}, {p.Latest, &f.Latest}} {
		if b.v == "" {
			continue
		}
		var ok bool
		if *b.dst, ok = parseUnix(b.v); !ok {
			return nil, "", errInvalidTime
		}
	}
	limit := clampLimit(p.Limit, 100, 1000)
	f.Limit = limit + 1
	ms, err := s.store.FindScheduledMessages(ctx, f)
	if err != nil {
		return nil, "", err
	}
	ms, next := cut(ms, limit, func(m *confab.ScheduledMessage) string {
		return confab.EncodeCursor("q", strconv.FormatInt(m.PostAt, 10)+","+m.ID)
	})
	return ms, next, nil
}

// DeleteScheduledMessage deletes a scheduled message of u's in channel
// before it is posted: "invalid_scheduled_message_id" when there is no
// such message of u's in channel, or it is due and being (or was)
// posted.
func (s *Service) DeleteScheduledMessage(ctx context.Context, u *confab.User, channel, id string) error {
	if !confab.IsConversationID(channel) {
		return confab.ErrChannelNotFound
	}
	if !confab.ValidID(id, confab.PrefixScheduled) {
		return confab.ErrInvalidScheduledID
	}
	return s.store.DeleteScheduledMessage(ctx, id, u.ID, channel)
}

// PostDue claims the scheduled messages due now, at most a batch, and
// posts each (postScheduled). It returns how many it claimed.
func (s *Service) PostDue(ctx context.Context) (int, error) {
	now := s.now().Unix()
	ms, err := s.store.ClaimScheduledMessages(ctx, now, now+int64(schedulerLease/time.Second), schedulerBatch)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		s.postScheduled(ctx, m)
	}
	return len(ms), nil
}

// postScheduled posts a claimed message as its user and removes it, or
// drops it when the user may no longer post it. A failure of the store
// leaves it claimed: it is tried again when the claim ends.
func (s *Service) postScheduled(ctx context.Context, sm *confab.ScheduledMessage) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), schedulerPostTimeout)
	defer cancel()
	log := s.log.With("scheduled_message", sm.ID, "user", sm.UserID, "channel", sm.ChannelID)
	u, err := s.store.FindUserByID(ctx, sm.UserID)
	if err == nil && u.Deleted {
		err = confab.ErrUserNotFound
	}
	if err == nil {
		p := PostParams{
			Channel: sm.ChannelID, Text: sm.Text, ClientMsgID: sm.ID, ReplyBroadcast: sm.Broadcast,
			App: confab.AppFields{Blocks: sm.Blocks, Attachments: sm.Attachments, Metadata: sm.Metadata,
				Username: sm.Username, IconEmoji: sm.IconEmoji, IconURL: sm.IconURL},
		}
		if sm.ThreadTS != 0 {
			p.ThreadTS = confab.FormatTS(sm.ThreadTS)
		}
		_, err = s.PostMessage(ctx, u, p)
	}
	switch code := confab.ErrorCode(err); {
	case err == nil:
	case code == confab.EINTERNAL || code == confab.EUNAVAILABLE:
		log.Warn("scheduled message not posted; tried again when its claim ends", "err", err)
		return
	default:
		log.Info("scheduled message dropped: its user may no longer post it", "reason", confab.ErrorMessage(err))
		s.metrics.scheduledDropped.Inc()
	}
	if err := s.store.FinishScheduledMessage(ctx, sm.ID); err != nil {
		log.Warn("scheduled message posted but not removed; its next claim finds it posted", "err", err)
	}
}

// scheduler runs PostDue in the background (StartScheduler) until Close.
type scheduler struct {
	mu     sync.Mutex
	stop   chan struct{} // nil until started
	done   chan struct{}
	closed bool
}

// StartScheduler posts the scheduled messages as they fall due, checking
// every interval (a second, say), until Close. Every process that
// serves the API may run one: their claims exclude each other. Calling it
// again, or after Close, does nothing.
func (s *Service) StartScheduler(interval time.Duration) {
	sc := &s.sched
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.stop != nil || sc.closed {
		return
	}
	sc.stop, sc.done = make(chan struct{}), make(chan struct{})
	go s.schedule(interval, sc.stop, sc.done)
}

func (s *Service) schedule(interval time.Duration, stop, done chan struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// A full batch may leave more due: go on, a bounded number of
		// times, stopping between batches (a batch is finished: its
		// messages are claimed).
		for range schedulerRounds {
			n, err := s.PostDue(ctx)
			if err != nil {
				s.log.Warn("scheduled messages: claim failed", "err", err)
			}
			if n < schedulerBatch || stopped(stop) {
				break
			}
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func stopped(stop chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// stopScheduler stops the scheduler after its current batch and waits for
// it.
func (s *Service) stopScheduler() {
	sc := &s.sched
	sc.mu.Lock()
	sc.closed = true
	stop, done := sc.stop, sc.done
	sc.stop = nil
	sc.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
