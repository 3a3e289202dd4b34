// Package web serves confab's browser client: a single-page application of
// plain JavaScript modules (no framework, no build step) embedded in the
// binary, which speaks only the public Web API and RTM of docs/api.md.
//
// Handler answers GET and HEAD for the embedded files with a strict
// Content-Security-Policy (scripts and styles from the same origin only, no
// inline script, connections to the same origin and WebSockets), ETags,
// and gzip when the browser accepts it. The page names the files under the
// build's version ("/v/<digest>/app.js"), cached for good; the same files
// under their plain names are revalidated at each use.
//
// Concurrency: the files are read and compressed once, when Handler is
// called; the returned handler only reads that immutable table and is safe
// for concurrent use.
package web
