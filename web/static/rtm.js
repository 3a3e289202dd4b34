// rtm.js — the realtime connection and its resilience.
//
// The contract (docs/api.md#catch-up): connect first and hold live events,
// then call client.catchup with a checkpoint per channel (the highest seq
// applied), apply both in seq order and drop any (channel, seq) already
// applied. A jump in seq while live means an event was missed, or comes out
// of order (two posts committed together are published by two requests):
// hold what is past the jump for a moment (GAP_WAIT), then catch that
// channel up.
// On close: report it, wait with exponential backoff and jitter, and start
// again with a fresh rtm.connect (tickets are single use). The backoff is
// capped low, and while the server does not answer the wait probes it
// (api.test) and ends as soon as it answers again, so that an outage of any
// length costs a second or two once it is over. The browser's online event
// ends the wait too.
// A page put into the back/forward cache keeps its socket open, and its
// user would stay active: the socket is closed on pagehide and opened
// again, catching up from the checkpoints, on pageshow.
// Where a WebSocket cannot open (a proxy refuses the upgrade) or says
// nothing past its handshake, the same stream comes as Server-Sent Events
// (rtm.connect's sse_url) for SSE_FOR, then WebSocket is tried again. A
// stream whose heartbeats stop is closed, and caught up like a socket.
// Where the stream stays silent past its hello's time too (a proxy that
// buffers whole answers), the same events come by long-polling
// (rtm.connect's poll_url, poll.js) for POLL_FOR, then WebSocket again.

import { openPoll } from "./poll.js";

const PING_EVERY = 25_000;
const PONG_WITHIN = 10_000;
const BACKOFF_BASE = 500;
const BACKOFF_MAX = 4_000;
// PROBE_EVERY spaces the probes of a server that did not answer (with
// jitter: clients of one outage should not come back all at once);
// PROBE_WITHIN bounds one, as a network that drops packets never fails it.
const PROBE_EVERY = 1_000;
const PROBE_WITHIN = 2_000;
// GAP_WAIT is how long events past a jump in seq wait for the ones before
// them before the channel is caught up: a catch-up by every member of a
// big channel for each reordering would be a storm of its own.
const GAP_WAIT = 1_000;
// HELLO_WITHIN bounds the wait for a WebSocket's hello; SSE_FOR is how long
// the Server-Sent Events stream is used after a WebSocket failed that way;
// SSE_SILENT is how long a stream may go without an event or a heartbeat
// (the server sends one every 15 s).
const HELLO_WITHIN = 4_000;
const SSE_FOR = 5 * 60_000;
const SSE_SILENT = 40_000;
const POLL_FOR = 5 * 60_000;

// channelOf returns the channel a seq-carrying event is about.
export function channelOf(ev) {
  if (ev.item && ev.item.channel) return ev.item.channel;
  return typeof ev.channel === "string" ? ev.channel : null;
}

export class Realtime {
  // api: Api; handlers: { event(ev, source), status(state, info),
  // discover(channelId) → Promise<latestSeq|null> }
  constructor(api, handlers) {
    this.api = api;
    this.h = handlers;
    this.seqs = new Map();     // channel → highest seq applied
    this.live = false;         // false while (re)connecting and catching up
    this.held = [];            // events received while not live
    this.syncing = new Map();  // channel → events held during its catch-up
    this.gaps = new Map();     // channel → timer of a jump waiting to fill (events in syncing)
    this.gapWait = GAP_WAIT;
    this.ws = null;
    this.es = null;            // the Server-Sent Events stream, when that is the transport
    this.sseUntil = 0;         // use SSE until then (a WebSocket failed before hello)
    this.poll = null;          // the long-poll, when that is the transport (poll.js)
    this.pollUntil = 0;        // long-poll until then (an SSE stream was silent)
    this.stream = "";          // the stream's id, from its hello (rtm.presenceSub names it)
    this.resumed = false;      // the last hello resumed a stream that dropped
    this.resumes = 0;          // streams resumed (tests read it)
    this.nextID = 1;
    this.attempt = 0;
    this.stopped = true;
    this.hidden = false;       // stopped by pagehide, to start again on pageshow
    this.run = 0;              // the loop that is current; older ones end at their next step
    this.wake = null;
    this.queue = Promise.resolve(); // catch-ups run one at a time
    this.onOnline = () => this.retryNow();
    this.onPageHide = () => {
      if (this.stopped) return;
      this.halt();
      this.hidden = true;
    };
    this.onPageShow = (e) => {
      if (!e.persisted || !this.hidden) return;
      this.hidden = false;
      this.begin();
    };
  }

  // track starts following a channel from seq (its latest_seq when first seen).
  track(channel, seq) {
    if (!this.seqs.has(channel) || this.seqs.get(channel) < seq) this.seqs.set(channel, seq || 0);
  }

  untrack(channel) {
    this.seqs.delete(channel);
  }

  start() {
    if (!this.stopped || this.hidden) return;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("pagehide", this.onPageHide);
    window.addEventListener("pageshow", this.onPageShow);
    this.begin();
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("pagehide", this.onPageHide);
    window.removeEventListener("pageshow", this.onPageShow);
    this.hidden = false;
    this.halt();
  }

  // begin starts a loop; the checkpoints are kept, so it catches up.
  begin() {
    this.stopped = false;
    this.attempt = 0;
    this.loop(++this.run);
  }

  // halt closes the socket and ends the loop without waiting for the
  // close to complete (a page going into the cache may be frozen first).
  halt() {
    this.stopped = true;
    this.run++;
    this.live = false;
    this.held = [];
    if (this.ws) {
      this.ws.close(1000, "bye");
      this.ws = null;
    }
    this.closeStream?.();
    this.retryNow();
  }

  // transport is what carries the stream now: "websocket", "sse", "poll"
  // or "".
  get transport() {
    return this.ws ? "websocket" : this.es ? "sse" : this.poll ? "poll" : "";
  }

  // overHTTP: the stream carries nothing back (SSE, long-poll), so what the
  // client says goes over the Web API.
  get overHTTP() {
    return !!(this.es || this.poll);
  }

  // retryNow cuts the backoff wait short.
  retryNow() {
    if (this.wake) this.wake();
  }

  // drop closes the socket as a network failure would (tests use it).
  drop() {
    if (this.ws) this.ws.close(4000, "dropped by client");
    this.closeStream?.();
  }

  // typing tells the channel's members the person types: a frame on a
  // WebSocket, a call over a stream that carries nothing back.
  typing(channel) {
    if (this.overHTTP) this.api.call("conversations.typing", { channel }, { retries: 0 }).catch(() => {});
    else this.send({ type: "typing", channel });
  }

  // presenceSub watches the presence of ids (replacing what was watched):
  // a frame on a WebSocket, a call naming the stream (its id from hello)
  // over Server-Sent Events.
  presenceSub(ids) {
    if (this.overHTTP) {
      if (this.stream) this.api.call("rtm.presenceSub", { stream: this.stream, ids: ids.join(",") }, { retries: 1 }).catch(() => {});
    } else {
      this.send({ type: "presence_sub", ids });
    }
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ id: this.nextID++, ...frame }));
    return true;
  }

  // loop connects, catches up and stays live until the socket closes, then
  // waits and starts again, for as long as it is the current run.
  async loop(run) {
    const current = () => this.run === run;
    while (current()) {
      this.h.status(this.attempt === 0 ? "connecting" : "reconnecting", {});
      let closed = null;
      let down = false; // the server did not answer
      try {
        const r = await this.api.call("rtm.connect", {}, { retries: 0 });
        // The ticket's dial slot, when many clients reconnect at once.
        if (r.dial_after_ms > 0) await new Promise((ok) => setTimeout(ok, Math.min(r.dial_after_ms, 20_000)));
        if (!current()) return;
        closed = await this.open(r);
        if (!current()) return closed.cleanup();
        this.attempt = 0;
        this.h.status("online", {});
        await this.catchUp();
        if (!current()) return closed.cleanup();
        this.live = true;
        const held = this.held;
        this.held = [];
        for (const ev of held) this.handle(ev);
        await closed.promise;
      } catch (e) {
        if (e && (e.code === "invalid_auth" || e.code === "not_authed")) return;
        if (e?.fallback && current()) continue;
        down = !!e && (e.code === "network" || e.status >= 500);
      }
      if (closed) closed.cleanup();
      if (!current()) return;
      this.live = false;
      this.held = [];
      this.attempt++;
      const max = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** Math.min(this.attempt, 10));
      const delay = Math.round(max / 2 + Math.random() * (max / 2));
      this.h.status("offline", { retryIn: delay, attempt: this.attempt });
      await this.pause(delay, down);
    }
  }

  // pause waits delay ms. Meanwhile it probes the server and ends as soon
  // as a server that did not answer (down, or a failed probe) answers.
  pause(delay, down) {
    return new Promise((resolve) => {
      let probing = null;
      let over = false;
      const done = () => {
        over = true;
        clearTimeout(timer);
        clearTimeout(probing);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, delay);
      this.wake = done;
      const probe = async () => {
        const up = await this.reachable();
        if (over) return;
        if (up && down) return done();
        if (!up) down = true;
        probing = setTimeout(probe, PROBE_EVERY * (0.5 + Math.random()));
      };
      probing = setTimeout(probe, PROBE_EVERY * (0.5 + Math.random()));
    });
  }

  // reachable reports whether the server answers a call: api.test needs
  // neither a token nor the store.
  async reachable() {
    const abort = new AbortController();
    const t = setTimeout(() => abort.abort(), PROBE_WITHIN);
    try {
      const res = await fetch("/api/api.test", { method: "POST", cache: "no-store", credentials: "omit", signal: abort.signal });
      return res.ok && (await res.json()).ok === true;
    } catch {
      return false;
    } finally {
      clearTimeout(t);
    }
  }

  // open opens the stream of an rtm.connect answer r — a WebSocket, or
  // Server-Sent Events while a WebSocket would not open — and resolves
  // after hello with { promise } that resolves when it closes.
  open(r) {
    if (r.poll_url && Date.now() < this.pollUntil) return openPoll(this, r.poll_url);
    if (r.sse_url && Date.now() < this.sseUntil) {
      const since = Date.now();
      return this.openSSE(r.sse_url).catch((e) => {
        // Silent until the hello's time ran out (not refused at once): a
        // proxy holds the stream back. Poll instead, at once.
        if (r.poll_url && Date.now() - since >= HELLO_WITHIN - 250) {
          this.pollUntil = Date.now() + POLL_FOR;
          e.fallback = true;
        }
        throw e;
      });
    }
    return this.openWS(r.url).catch((e) => {
      // No hello: a proxy may keep WebSockets out. The next attempt
      // (a new ticket: this one may be spent) takes the other road, at
      // once.
      if (r.sse_url) {
        this.sseUntil = Date.now() + SSE_FOR;
        e.fallback = true;
      }
      throw e;
    });
  }

  // frame acts on one frame of the stream and returns its type ("" for
  // one that is not JSON): hello, goodbye and close are the caller's.
  frame(data) {
    let f = data; // an object already: a long-poll's event
    try {
      if (typeof data === "string") f = JSON.parse(data);
    } catch {
      return "";
    }
    switch (f.type) {
      case "hello":
        this.stream = typeof f.stream === "string" ? f.stream : "";
        this.resumed = f.resumed === true;
        return "hello";
      case "goodbye": case "close": case "pong": case undefined: // pongs and acks
        return f.type || "";
    }
    if (this.live) this.handle(f);
    else this.held.push(f);
    return f.type;
  }

  openWS(url) {
    return new Promise((resolveHello, rejectHello) => {
      const ws = new WebSocket(url);
      this.ws = ws;
      let hello = false;
      let pingTimer = null;
      let pongTimer = null;
      let onClosed;
      const closedPromise = new Promise((r) => (onClosed = r));
      const helloTimer = setTimeout(() => ws.close(4000, "no hello"), HELLO_WITHIN);
      const cleanup = () => {
        clearTimeout(helloTimer);
        clearInterval(pingTimer);
        clearTimeout(pongTimer);
      };
      ws.onmessage = (m) => {
        clearTimeout(pongTimer);
        pongTimer = null;
        const type = this.frame(m.data);
        if (type === "goodbye") {
          ws.close(1000, "goodbye");
          return;
        }
        if (type !== "hello" || hello) return;
        hello = true;
        clearTimeout(helloTimer);
        pingTimer = setInterval(() => {
          if (!this.send({ type: "ping" })) return;
          if (!pongTimer) pongTimer = setTimeout(() => ws.close(4001, "no pong"), PONG_WITHIN);
        }, PING_EVERY);
        // Cleaning up after a failed catch-up closes the socket too: the
        // loop opens another.
        resolveHello({ promise: closedPromise, cleanup: () => {
          cleanup();
          if (ws.readyState <= WebSocket.OPEN) ws.close(1000, "done");
        } });
      };
      ws.onclose = () => {
        cleanup();
        if (this.ws === ws) this.ws = null;
        if (!hello) rejectHello(new Error("closed before hello"));
        onClosed();
      };
    });
  }

  // openSSE opens the Server-Sent Events stream: the same frames, one per
  // event, and a heartbeat event while there are none. When it drops, the
  // browser reconnects by itself, naming the last id the stream sent
  // (Last-Event-ID): a hello that says resumed means the server replayed
  // what was missed, and the stream goes on; one that does not, a stream
  // the browser gives up on, and one that falls silent are closed, and the
  // loop connects again and catches up.
  openSSE(url) {
    return new Promise((resolveHello, rejectHello) => {
      const es = new EventSource(url);
      this.es = es;
      let hello = false;
      let silence = null;
      let onClosed;
      const closedPromise = new Promise((r) => (onClosed = r));
      const close = () => {
        clearTimeout(silence);
        es.close();
        if (this.es !== es) return;
        this.es = null;
        this.closeStream = null;
        if (!hello) rejectHello(new Error("closed before hello"));
        onClosed();
      };
      const alive = () => {
        clearTimeout(silence);
        silence = setTimeout(close, hello ? SSE_SILENT : HELLO_WITHIN);
      };
      this.closeStream = close;
      alive();
      es.addEventListener("heartbeat", alive);
      es.onmessage = (m) => {
        alive();
        const type = this.frame(m.data);
        if (type === "goodbye" || type === "close") return close();
        if (type !== "hello") return;
        if (hello) {
          // The browser reconnected: the stream has a new id.
          if (!this.resumed) return close();
          this.resumes++;
          this.h.status("online", {});
          return;
        }
        hello = true;
        alive();
        resolveHello({ promise: closedPromise, cleanup: close });
      };
      es.onerror = () => {
        // CONNECTING: the browser is reconnecting (the silence timer
        // bounds it); CLOSED: it gave up (a refusal).
        if (!hello || es.readyState === EventSource.CLOSED) close();
      };
    });
  }

  // handle applies one live event, in seq order per channel.
  handle(ev) {
    const ch = typeof ev.seq === "number" ? channelOf(ev) : null;
    if (!ch) {
      this.h.event(ev, "live");
      return;
    }
    const buffer = this.syncing.get(ch);
    if (buffer) {
      buffer.push(ev);
      if (this.gaps.has(ch)) this.fill(ch);
      return;
    }
    const last = this.seqs.get(ch);
    if (last === undefined) {
      // A channel we do not know yet (a DM someone just opened with us).
      this.syncing.set(ch, [ev]);
      this.h.discover(ch).then(
        (seq) => this.resume(ch, seq),
        () => this.resume(ch, null),
      );
      return;
    }
    if (ev.seq <= last) return; // already applied
    if (ev.seq > last + 1) {
      this.syncing.set(ch, [ev]);
      this.gaps.set(ch, setTimeout(() => {
        this.gaps.delete(ch);
        this.enqueueCatchUp(ch);
      }, this.gapWait));
      return;
    }
    this.seqs.set(ch, ev.seq);
    this.h.event(ev, "live");
  }

  // fill applies, in seq order, what a channel holds past a jump once the
  // events before it have come, and ends the wait when nothing is left.
  fill(ch) {
    const held = this.syncing.get(ch).sort((a, b) => a.seq - b.seq);
    let last = this.seqs.get(ch) ?? 0;
    while (held.length && held[0].seq <= last + 1) {
      const ev = held.shift();
      if (ev.seq !== last + 1) continue; // already applied
      last = ev.seq;
      this.seqs.set(ch, last);
      this.h.event(ev, "live");
    }
    if (held.length) return;
    clearTimeout(this.gaps.get(ch));
    this.gaps.delete(ch);
    this.syncing.delete(ch);
  }

  // resume ends the hold of a discovered channel.
  resume(ch, seq) {
    const held = this.syncing.get(ch) || [];
    this.syncing.delete(ch);
    if (seq === null || seq === undefined) return;
    this.track(ch, seq);
    for (const ev of held) this.handle(ev);
  }

  enqueueCatchUp(ch) {
    this.queue = this.queue.then(async () => {
      try {
        await this.catchUp();
      } catch {
        // The connection will drop or the next jump will try again.
      }
      const held = this.syncing.get(ch) || [];
      this.syncing.delete(ch);
      for (const ev of held) {
        const last = this.seqs.get(ch) ?? 0;
        if (ev.seq <= last) continue;
        // Still a gap after catching up: accept it rather than loop.
        this.seqs.set(ch, ev.seq);
        this.h.event(ev, "live");
      }
    });
    return this.queue;
  }

  // catchUp asks for everything after our checkpoints, page by page.
  // Every known channel is named: a channel left out would be caught up
  // from its start.
  async catchUp() {
    for (let round = 0; round < 100; round++) {
      const checkpoints = Object.fromEntries(this.seqs);
      const r = await this.api.call("client.catchup", { checkpoints, limit: 500 });
      let more = false;
      for (const c of r.channels) {
        if (!this.seqs.has(c.channel)) {
          // Joined while away: learn it from conversations.info instead
          // of replaying it from its first message.
          const seq = await this.h.discover(c.channel).catch(() => null);
          if (seq !== null && seq !== undefined) this.track(c.channel, seq);
          continue;
        }
        for (const ev of c.events) {
          const last = this.seqs.get(c.channel) ?? 0;
          if (typeof ev.seq !== "number" || ev.seq <= last) continue;
          this.seqs.set(c.channel, ev.seq);
          this.h.event(ev, "catchup");
        }
        // The caller's mention count as the server counts it now.
        if (typeof c.mention_count === "number") this.h.mentions?.(c.channel, c.mention_count);
        if (c.has_more) more = true;
      }
      if (!more) return;
    }
  }
}
