// Package confab holds the domain of the confab chat server: workspaces, users,
// channels (every conversation, DMs included, is a channel), messages and the
// realtime events about them, their identifiers, validation rules and the one
// error type every layer speaks.
//
// It imports the standard library only and does no I/O. The use cases live in
// package chat, the transports in api and gateway, the backends in store/… and
// pubsub/….
package confab
