// Package api serves confab's HTTP JSON API in the shapes of Slack's Web API
// (docs/api.md): POST or GET /api/<method>, arguments as a form
// (application/x-www-form-urlencoded or multipart/form-data), a JSON object
// (application/json) or the query string, the token in an
// "Authorization: Bearer" header or a "token" argument.
//
// The package parses arguments and shapes answers; every semantic check
// (ids, names, text length, membership) belongs to the chat service, which
// the package reaches through the small Service interface it declares.
//
// Answers are HTTP 200 with {"ok":true,…} or {"ok":false,"error":"<code>"},
// except 429 with Retry-After when a rate limit is hit and 500 with
// "internal_error" for a server fault (the detail is logged, never sent).
// statusOf is the one place where confab error codes become HTTP statuses.
//
// Choices where Slack is vague or differs:
//   - A missing required argument (channel, ts, user, users, name, presence,
//     team, password) is invalid_arguments. Text is not required here: an
//     empty text reaches the service, which answers no_text.
//   - A malformed JSON, form or multipart body, an unsupported Content-Type
//     with a non-empty body, and a body larger than Config.MaxBodyBytes are
//     all invalid_arguments (the contract has no other code for them).
//   - A bad limit (not an integer, or negative) is invalid_arguments; 0 or
//     absent means the method's default; above the method's maximum it is
//     clamped.
//   - Arguments in the body win over the same arguments in the query string.
//   - Rate limits: per token on every authenticated method, and per client
//     IP on auth.signup and auth.login, to slow down password guessing. The
//     client IP is Config.ClientAddr's (by default the connection's remote
//     address: no forwarding header is believed), an IPv6 one by its /64.
//
// Concurrency: a Server is safe for concurrent use by many goroutines. It is
// immutable after New except for the rate-limiter maps, each guarded by its
// own mutex, and the Prometheus collectors, which are concurrency-safe.
package api
