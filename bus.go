package confab

import (
	"context"
	"errors"
)

// Publisher publishes on a bus: the part of PubSub that the use cases of
// package chat need (they publish after each commit) and that pocket.Router
// implements over the buses of several pockets.
type Publisher interface {
	// Publish sends payload to every instance subscribed to topic (the
	// publisher's own instance included if subscribed). It returns once the
	// backend accepted it; payload is not retained after it returns.
	Publish(ctx context.Context, topic string, payload []byte) error
}

// PubSub is the contract of confab's bus: what pubsub/memory (in-process,
// the embedded default) and redis.PubSub (a pocket's Redis) implement.
// pubsub/pubsubtest is its conformance suite; both run it.
//
// A bus carries opaque payloads (Publication.Marshal's bytes) by topic:
// "<workspace>.c.<channel>", "<workspace>.u.<user>" and
// "<workspace>.p.<user>" (ChannelTopic, UserTopic, PresenceTopic).
//
// Each instance has one handler, func(topic string, payload []byte), given
// when it is opened. The handler:
//   - must be fast and never block (the gateway only enqueues);
//   - may be called concurrently from several goroutines;
//   - receives the publications of one topic from one publisher in publish
//     order, and more generally those one goroutine publishes in sequence
//     through one instance in that order, whatever their topics;
//   - may retain payload after it returns but must not modify it (in-process
//     delivery shares one copy among all subscribers);
//   - must not call its own instance's methods.
//
// Methods return an error wrapping ErrBusClosed after Close, and an error
// wrapping ctx's error when ctx is done before the call starts.
// A PubSub is safe for concurrent use.
type PubSub interface {
	Publisher
	// Subscribe adds topics to this instance's set (idempotent). When it
	// returns, later publications on those topics reach this instance's
	// handler.
	Subscribe(ctx context.Context, topics ...string) error
	// Unsubscribe removes topics (missing ones are ignored). A publication
	// already in flight may still be delivered; one published after
	// Unsubscribe returned is not. (Redis: like Subscribe, it must wait until
	// the server has processed the command.)
	Unsubscribe(ctx context.Context, topics ...string) error
	// Close stops delivery: after it returns the handler is not called again.
	// Later calls, a second Close too, return an error wrapping ErrBusClosed.
	Close() error
}

// ErrBusClosed is wrapped by the error of every PubSub method called after
// Close.
var ErrBusClosed = errors.New("bus closed")
