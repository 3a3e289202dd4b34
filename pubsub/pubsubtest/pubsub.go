package pubsubtest

import "context"

// PubSub is the whole contract of a confab bus. It carries opaque payloads
// (confab.Publication bytes) by topic: "c.<channel>", "u.<user>",
// "p.<user>".
//
// Each instance has one handler, func(topic string, payload []byte), given at
// construction. The handler:
//   - must be fast and never block (the gateway only enqueues);
//   - may be called concurrently from several goroutines;
//   - receives the publications of one topic from one publisher in publish
//     order, and more generally those one goroutine publishes in sequence
//     through one instance in that order, whatever their topics;
//   - may retain payload after it returns but must not modify it (in-process
//     delivery shares one copy among all subscribers);
//   - must not call its own instance's methods.
//
// Methods return an error wrapping the backend's ErrClosed after Close, and
// an error wrapping ctx's error when ctx is done before the call starts.
type PubSub interface {
	// Publish sends payload to every instance subscribed to topic (the
	// publisher's own instance included if subscribed). It returns once the
	// backend accepted it; payload is not retained after it returns.
	Publish(ctx context.Context, topic string, payload []byte) error
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
	// Later calls return ErrClosed.
	Close() error
}

// Factory makes an instance with the given handler. Every instance one
// Factory makes shares one backend.
type Factory func(handler func(topic string, payload []byte)) PubSub
