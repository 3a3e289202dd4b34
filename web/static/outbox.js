// outbox.js — what a person typed that the server has not acknowledged.
//
// A message goes into the outbox before it is sent and out of it once the
// server answers with it (or its echo arrives on the socket), so that a
// failed send, a closed tab or a reload loses nothing. It lives in
// localStorage under one key per workspace and user: tabs of the same
// person share it, and as every entry keeps its client_msg_id, on which
// the server deduplicates, two tabs sending one entry make one message.

import { ApiError } from "./api.js";

// AUTH errors end the session, not the message: after signing in again it
// is sent like any other.
const AUTH = new Set(["invalid_auth", "not_authed", "token_revoked"]);

// refused tells a send the server turned down for good (channel_not_found,
// msg_too_long, …: sending it again would fail again) from one worth
// retrying (network errors, 5xx, ratelimited).
export function refused(e) {
  return e instanceof ApiError && !e.transient && !AUTH.has(e.code);
}

// WHY says a refusal in words; other codes are shown as they are.
const WHY = {
  channel_not_found: "conversation not found",
  not_in_channel: "you are not in this conversation",
  is_archived: "the conversation is archived",
  msg_too_long: "the message is too long",
  restricted_action: "not allowed here",
  thread_not_found: "thread not found",
};

export function refusal(code) {
  return WHY[code] || code;
}

// Outbox is the list of one person's unacknowledged messages, oldest first.
// An entry is { client_msg_id, channel, text, thread_ts?, at, error?,
// refused? }.
export class Outbox {
  constructor(team, user) {
    this.key = `confab.outbox.${team}.${user}`;
  }

  list() {
    try {
      const v = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(v) ? v.filter((e) => e && typeof e.client_msg_id === "string" && typeof e.channel === "string" && typeof e.text === "string") : [];
    } catch {
      return [];
    }
  }

  // put adds an entry, or updates it in its place.
  put(p) {
    const e = { client_msg_id: p.client_msg_id, channel: p.channel, text: p.text, at: p.at || Date.now() };
    if (p.thread_ts) e.thread_ts = p.thread_ts;
    if (p.error) e.error = p.error;
    if (p.refused) e.refused = true;
    const l = this.list();
    const i = l.findIndex((x) => x.client_msg_id === e.client_msg_id);
    if (i >= 0) l[i] = e;
    else l.push(e);
    this.save(l);
  }

  remove(cmid) {
    const l = this.list();
    const rest = l.filter((x) => x.client_msg_id !== cmid);
    if (rest.length !== l.length) this.save(rest);
  }

  save(l) {
    try {
      if (l.length) localStorage.setItem(this.key, JSON.stringify(l));
      else localStorage.removeItem(this.key);
    } catch {
      // Storage full or denied: the message still shows, with its Retry.
    }
  }
}

// Drafts is what a person has typed in a message box and not sent: one
// per conversation (the key is its id) and one per thread (channel/ts),
// kept in localStorage as it is typed, so that switching conversations,
// a reload or a closed tab finds the text where it was left. A draft is
// { text, picked }: picked are the mentions chosen from the menu, as
// [["@name", "<@U…>"], …], which become markup when it is sent.
export class Drafts {
  constructor(team, user) {
    this.prefix = `confab.draft.${team}.${user}.`;
  }

  get(key) {
    try {
      const v = JSON.parse(localStorage.getItem(this.prefix + key) || "null");
      if (v && typeof v.text === "string") {
        const picked = Array.isArray(v.picked) ? v.picked.filter((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === "string")) : [];
        return { text: v.text, picked };
      }
    } catch {
      // Unreadable: as if there were none.
    }
    return { text: "", picked: [] };
  }

  // set keeps a draft, or forgets it when its text is empty.
  set(key, text, picked = []) {
    try {
      if (text) localStorage.setItem(this.prefix + key, JSON.stringify({ text, picked }));
      else localStorage.removeItem(this.prefix + key);
    } catch {
      // Storage full or denied: the text stays in the box.
    }
  }
}
