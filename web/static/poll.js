// poll.js — the realtime stream by long-polling (docs/api.md, "RTM over
// long-polling"), for a network whose proxy buffers each answer until it
// ends: neither a WebSocket nor a Server-Sent Events stream gets through,
// but a poll's answer does. The first poll spends rtm.connect's ticket and
// is answered at once with hello; each later poll names the key the last
// answer gave and the checkpoints, and the gateway holds it until an event
// comes or its timeout passes. Events with a seq missed between two polls
// come back in the next one's catch-up; the Realtime drops what it has
// applied already.

// POLL_TIMEOUT is how long (s) the gateway may hold a poll; POLL_SLACK is
// how much longer an answer may take before the poll is taken for dead.
const POLL_TIMEOUT = 25;
const POLL_SLACK = 15_000;

// openPoll opens rt's stream by long-polling from url (rtm.connect's
// poll_url) and resolves after hello with { promise, cleanup }, as
// Realtime.openWS does; promise resolves when the stream ends: a poll that
// fails, an answer that is not ok, or a goodbye or close event. rt's
// closeStream ends it.
export function openPoll(rt, url) {
  return new Promise((resolveHello, rejectHello) => {
    const next = url.slice(0, url.lastIndexOf("/rtm/poll/")) + "/rtm/poll";
    const poll = { abort: null };
    let open = true;
    let hello = false;
    let onClosed;
    const closedPromise = new Promise((r) => (onClosed = r));
    const close = () => {
      if (!open) return;
      open = false;
      poll.abort?.abort();
      if (rt.poll === poll) {
        rt.poll = null;
        rt.closeStream = null;
      }
      if (!hello) rejectHello(new Error("closed before hello"));
      onClosed();
    };
    rt.poll = poll;
    rt.closeStream = close;
    (async () => {
      let key = "";
      while (open) {
        const first = key === "";
        const body = new URLSearchParams({
          checkpoints: JSON.stringify(Object.fromEntries(rt.seqs)),
          timeout: String(first ? 0 : POLL_TIMEOUT),
        });
        if (!first) body.set("key", key);
        const abort = new AbortController();
        poll.abort = abort;
        const timer = setTimeout(() => abort.abort(), (first ? 0 : POLL_TIMEOUT * 1000) + POLL_SLACK);
        let r = null;
        try {
          const res = await fetch(first ? url : next, { method: "POST", body, cache: "no-store", credentials: "omit", signal: abort.signal });
          r = await res.json();
        } catch {
          r = null;
        } finally {
          clearTimeout(timer);
        }
        if (!open) return;
        if (!r || r.ok !== true || typeof r.key !== "string" || !Array.isArray(r.events)) return close();
        key = r.key;
        for (const ev of r.events) {
          if (!ev || typeof ev !== "object") continue;
          const type = rt.frame(ev);
          if (type === "goodbye" || type === "close") return close();
          if (type === "hello" && !hello) {
            hello = true;
            // The loop is done with the stream when it cleans up (after
            // the close, or when its catch-up failed): no poll goes on.
            resolveHello({ promise: closedPromise, cleanup: close });
          }
        }
        if (!hello) return close();
        // Until the loop has caught up, what comes is held and the
        // checkpoints stand still: the next poll would only bring the
        // same events again.
        while (open && !rt.live) await new Promise((ok) => setTimeout(ok, 50));
      }
    })();
  });
}
