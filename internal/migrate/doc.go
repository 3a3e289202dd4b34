// Package migrate applies a store's embedded schema migrations: SQL files
// named NNNN_description.sql, numbered from 1 without gaps, applied in
// order to a database that records the version it is at.
//
// It knows no SQL dialect and no driver. A store reads its files with Load
// and hands Run a Target, which reads the database's version and applies
// one migration its own way: in a transaction of its own or in one shared
// by all, with whatever lock and bookkeeping its database needs.
//
// Concurrency contract: Load and Run keep no state. Run calls its Target
// from the calling goroutine, one migration at a time; keeping processes
// that migrate the same database at once from both applying a migration
// is the Target's business.
package migrate
