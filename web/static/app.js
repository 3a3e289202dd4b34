// app.js — confab's browser client: state, rendering and user actions.
// It talks to the server only through the public Web API (api.js) and the
// RTM connection (rtm.js); every piece of user text reaches the DOM through
// textContent or text nodes (text.js).

import { Api, ApiError } from "./api.js";
import { Realtime } from "./rtm.js";
import { Outbox, Drafts, refused, refusal } from "./outbox.js";
import { icon, fillIcons } from "./icons.js";
import { openEmojiPicker } from "./picker.js";
import { searcher, matches, merged } from "./people.js";
import { renderText, renderHighlighted, emoji, compareTS, timeOf, dayOf, tsDate, uuid } from "./text.js";

const $ = (id) => document.getElementById(id);
// el makes an element. A boolean ARIA state is written as "true" or
// "false" (aria-selected="" means neither, and CSS matching
// [aria-selected="true"] misses it); another boolean attribute is present
// or absent, as HTML reads it.
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.startsWith("aria-") && typeof v === "boolean") e.setAttribute(k, String(v));
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children);
  return e;
};

const PAGE = 50;
const GROUP_SECONDS = 300;
const TYPING_SHOW_MS = 5000;
const TYPING_SEND_EVERY_MS = 3000;
const STORAGE_KEY = "confab.session";
const SEARCH_COUNT_CAP = 10000; // confab.SearchCountCap

const S = {
  api: new Api(),
  rtm: null,
  self: null,
  team: null,
  users: new Map(),      // id → user
  userFetches: new Map(), // id → its users.info call, asked once
  usersMissing: new Set(), // ids users.info did not find
  channelNames: new Map(), // id → name of a conversation not in S.channels (null: unknown)
  presence: new Map(),   // id → "active" | "away"
  presenceSubbed: "",
  channels: new Map(),   // id → channel state
  mpimMembers: new Map(),
  cur: null,             // the open conversation
  bootHistory: null,     // {channel, page}: the first page client.boot carried
  thread: null,          // the open thread
  pending: new Map(),    // client_msg_id → pending send
  outbox: null,          // what was typed and not yet acknowledged (outbox.js)
  drafts: null,          // what is typed and not yet sent, per box (outbox.js)
  typing: new Map(),     // channel → Map(user → timeout)
  lastTypingSent: 0,
  markTimer: null,
};

// ---------- session ----------

function saveSession(s) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
}
function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

function logout() {
  const token = S.api.token;
  localStorage.removeItem(STORAGE_KEY);
  if (token) S.api.call("auth.revoke").catch(() => {});
  location.hash = "";
  location.reload();
}

window.addEventListener("storage", (e) => {
  // Another tab logged in or out.
  if (e.key === STORAGE_KEY) location.reload();
});

// ---------- auth screen ----------

function showAuth() {
  $("app").hidden = true;
  $("auth").hidden = false;
  let mode = "login";
  const setMode = (m) => {
    mode = m;
    $("tab-login").setAttribute("aria-selected", m === "login");
    $("tab-signup").setAttribute("aria-selected", m === "signup");
    $("auth-real-wrap").hidden = m !== "signup";
    $("auth-submit").textContent = m === "login" ? "Log in" : "Create account";
    $("auth-password").autocomplete = m === "login" ? "current-password" : "new-password";
    $("auth-hint").textContent = m === "login"
      ? "Log in to your workspace."
      : "Create a workspace, or join one by its name.";
  };
  $("tab-login").onclick = () => setMode("login");
  $("tab-signup").onclick = () => setMode("signup");
  const last = loadSession();
  if (last && last.team) $("auth-team").value = last.team;
  $("auth-form").onsubmit = async (e) => {
    e.preventDefault();
    const err = $("auth-error");
    err.hidden = true;
    const args = {
      team: $("auth-team").value.trim().toLowerCase(),
      name: $("auth-name").value.trim().toLowerCase(),
      password: $("auth-password").value,
    };
    if (mode === "signup" && $("auth-real").value.trim()) args.real_name = $("auth-real").value.trim();
    if (mode === "signup") {
      // The browser's time zone is the new account's (users.info's tz).
      try {
        const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (tz) args.tz = tz;
      } catch {
        // None to give.
      }
    }
    $("auth-submit").disabled = true;
    try {
      const r = await S.api.call(mode === "login" ? "auth.login" : "auth.signup", args);
      saveSession({ token: r.token, team: args.team, user: r.user_id });
      $("auth").hidden = true;
      start(r.token);
    } catch (ex) {
      err.textContent = authMessage(ex.code);
      err.hidden = false;
    } finally {
      $("auth-submit").disabled = false;
    }
  };
  setMode("login");
  ($("auth-team").value ? $("auth-name") : $("auth-team")).focus();
}

// showClaim is the page of a claim link (/claim#TOKEN): the person
// chooses a password (and a display name), auth.claim sets it and signs
// them in, as a login does. The token leaves the address bar at once, so
// that it stays in no history or bookmark.
function showClaim(token) {
  history.replaceState(null, "", "/claim");
  $("app").hidden = true;
  $("auth").hidden = true;
  $("claim").hidden = false;
  if (!token) {
    $("claim-error").textContent = claimMessage("invalid_claim");
    $("claim-error").hidden = false;
    $("claim-submit").disabled = true;
    return;
  }
  $("claim-form").onsubmit = async (e) => {
    e.preventDefault();
    const err = $("claim-error");
    err.hidden = true;
    const args = { token, password: $("claim-password").value };
    const display = $("claim-display").value.trim();
    if (display) args.display_name = display;
    $("claim-submit").disabled = true;
    try {
      const r = await S.api.call("auth.claim", args, { retries: 0 });
      saveSession({ token: r.token, team: r.team, user: r.user_id });
      history.replaceState(null, "", "/");
      $("claim").hidden = true;
      start(r.token);
    } catch (ex) {
      err.textContent = claimMessage(ex.code);
      err.hidden = false;
      // A dead link stays dead: only a new one helps.
      $("claim-submit").disabled = ex.code === "invalid_claim";
    }
  };
  $("claim-password").focus();
}

function claimMessage(code) {
  return {
    invalid_claim: "This link does not work: it was used, it expired, or a newer one replaced it. Ask your workspace's admin for a new link.",
    invalid_password: "Passwords have 8 to 72 characters.",
    invalid_arguments: "Please choose a password.",
    ratelimited: "Too many attempts; wait a moment.",
    network: "Cannot reach the server.",
  }[code] || `Could not claim the account (${code}).`;
}

function authMessage(code) {
  return {
    invalid_auth: "That workspace, name and password do not match.",
    name_taken: "That name is taken in this workspace. Log in instead?",
    claim_link_required: "That account came from the workspace's import. Ask your workspace's admin for the link to claim it.",
    invalid_name: "Names use lowercase letters, digits, '-', '_' and '.'.",
    invalid_arguments: "Please fill in every field.",
    signup_disabled: "This workspace does not take new sign-ups.",
    ratelimited: "Too many attempts; wait a moment.",
    network: "Cannot reach the server.",
  }[code] || `Could not sign in (${code}).`;
}

// ---------- boot ----------

async function start(token) {
  S.api.token = token;
  S.api.onAuthFailure = () => {
    localStorage.removeItem(STORAGE_KEY);
    location.reload();
  };
  // The conversation the page will open comes with the boot: its first
  // page costs no round trip of its own.
  const want = hashRoute();
  const early = want.id && !want.at ? { history_channel: want.id, history_limit: PAGE } : {};
  let boot;
  try {
    boot = await S.api.call("client.boot", early, { retries: 5 });
  } catch (e) {
    if (e instanceof ApiError && !e.transient) return; // onAuthFailure reloads
    banner(true, "Cannot reach the server. Retrying…");
    setTimeout(() => start(token), 3000);
    return;
  }
  banner(false);
  S.self = boot.self;
  S.team = boot.team;
  S.users.set(boot.self.id, boot.self);
  $("team-name").textContent = boot.team.name || boot.team.domain;
  $("self-name").textContent = displayName(boot.self.id);
  $("auth").hidden = true;
  $("app").hidden = false;

  S.rtm = new Realtime(S.api, { event: onEvent, status: onStatus, discover, mentions: setMentions });
  restoreOutbox(boot);
  S.drafts = new Drafts(boot.team.id, boot.self.id);
  for (const c of boot.channels) addChannel(c);
  renderSidebar();

  window.confabDebug = {
    drop: () => S.rtm.drop(),
    state: () => ({ live: S.rtm.live, transport: S.rtm.transport, resumes: S.rtm.resumes, seqs: Object.fromEntries(S.rtm.seqs), open: S.cur && S.cur.id, waiting: [...S.rtm.gaps.keys()],
      atEnd: !!S.cur?.atEnd, loading: !!(S.cur?.loading || S.cur?.loadingNewer) }),
    setGapWait: (ms) => { S.rtm.gapWait = ms; },
  };

  S.bootHistory = boot.history?.ok ? { channel: want.id, page: boot.history } : null;
  S.rtm.start();
  wireUI();
  if (want.id && (S.channels.has(want.id) || want.at)) {
    openAnywhere(want.id, { at: want.at, focus: false }).then((ok) => { if (!ok) openFirst(); });
  } else {
    openFirst();
  }
}

// reload shows the workspace afresh without reloading the page, whose
// boxes keep what is typed: after a Slack import (import_finished), whose
// history came without an event per message, it asks client.boot again
// for the conversations, and reopens the open conversation and thread.
let reloading = null;
function reload() {
  if (reloading) return reloading;
  reloading = (async () => {
    let boot;
    try {
      boot = await S.api.call("client.boot", {}, { retries: 5 });
    } catch {
      return; // the next import_finished, or a reload of the page
    }
    const ids = new Set(boot.channels.map((c) => c.id));
    for (const [id, ch] of S.channels) {
      if (!ids.has(id) && !ch.preview) {
        S.channels.delete(id);
        S.rtm.untrack(id);
      }
    }
    S.usersMissing.clear();
    S.channelNames.clear();
    for (const c of boot.channels) addChannel(c);
    renderSidebar();
    refreshNames();
    const thread = S.thread && { ...S.thread };
    if (S.cur && S.channels.has(S.cur.id)) await openChannel(S.cur.id, { focus: false, reload: true });
    else openFirst();
    if (thread && S.channels.has(thread.channel)) openThread(thread.channel, thread.ts);
  })().finally(() => { reloading = null; });
  return reloading;
}

function openFirst() {
  const first = sortedChannels()[0]?.id;
  if (first) openChannel(first, { focus: false });
  else showEmpty();
}

// hashRoute is what the URL's fragment names: a conversation ("#C…"), or a
// message in it, as a permalink names it ("#C…/p1700000000000123", Slack's
// p and the ts without its dot; chat.getPermalink answers these).
function hashRoute(hash = location.hash) {
  const [id, p] = hash.slice(1).split("/");
  const m = /^p(\d{7,})$/.exec(p || "");
  return { id: id || "", at: m ? `${m[1].slice(0, -6)}.${m[1].slice(-6)}` : "" };
}

// permalinkHash is the fragment of a message's permalink.
function permalinkHash(channel, ts) {
  return `#${channel}/p${ts.replace(".", "")}`;
}

// openAnywhere opens a conversation, at a message when at is set, whether
// or not the client knows it: a public channel one is not in (a link, a
// search result) opens for reading without joining, and stays out of the
// sidebar. It reports whether it could.
async function openAnywhere(id, { at = "", focus = true } = {}) {
  if (!S.channels.has(id)) {
    try {
      const r = await S.api.call("conversations.info", { channel: id });
      if (!S.channels.has(id)) addChannel(r.channel, { preview: !r.channel.is_member });
    } catch (e) {
      toast(e.code === "channel_not_found" ? "That conversation is not there, or is not yours to read." : `Could not open it (${e.code}).`);
      return false;
    }
  }
  openChannel(id, { at, focus });
  return true;
}

// rememberUser keeps a user users.search found: the client knows people
// one by one (users.info, users.search, events), never the whole list.
function rememberUser(u) {
  S.users.set(u.id, u);
  S.usersMissing.delete(u.id);
}

// user is a person the client knows, or undefined while users.info loads
// them (asked once per id: the client never needs the whole list, and
// every name shown refreshes when they arrive).
function user(id) {
  const u = S.users.get(id);
  if (!u && id && !S.userFetches.has(id)) {
    S.userFetches.set(id, S.api.call("users.info", { user: id }).then((r) => {
      S.users.set(id, r.user);
      refreshNames();
    }, (e) => {
      // A transient failure is asked again a while later, by the names
      // shown then; one the server does not find shows as "unknown".
      if (e instanceof ApiError && e.transient) {
        setTimeout(() => { S.userFetches.delete(id); refreshNames(); }, 5000);
      } else {
        S.usersMissing.add(id);
        refreshNames();
      }
    }));
  }
  return u;
}

// knownName is a person's name, or null while it is not known.
function knownName(id) {
  const u = user(id);
  return u ? u.profile?.display_name || u.real_name || u.name : null;
}

// displayName is a person's name; while it loads, a neutral "…": never
// their id.
function displayName(id) {
  return knownName(id) ?? (!id || S.usersMissing.has(id) ? "unknown" : "…");
}

// channelName is a conversation's name for a <#C…> link: the client's own
// label when it knows the conversation, else the name conversations.info
// gives (asked once, unless load is false: a link that carries its label
// shows that), else null.
function channelName(id, load = true) {
  const ch = S.channels.get(id);
  if (ch) return ch.kind === "channel" ? ch.name : channelLabel(ch);
  if (load && !S.channelNames.has(id)) {
    S.channelNames.set(id, null);
    S.api.call("conversations.info", { channel: id }).then((r) => {
      if (r.channel.name) {
        S.channelNames.set(id, r.channel.name);
        refreshNames();
      }
    }, () => {});
  }
  return S.channelNames.get(id) ?? null;
}

let refreshQueued = false;
function refreshNames() {
  if (refreshQueued) return;
  refreshQueued = true;
  requestAnimationFrame(() => {
    refreshQueued = false;
    for (const n of document.querySelectorAll("[data-user-name]")) n.textContent = (n.classList.contains("mention") ? "@" : "") + displayName(n.dataset.userName);
    for (const a of document.querySelectorAll("[data-channel-link]")) a.textContent = "#" + (channelName(a.dataset.channelLink, !a.dataset.label) || a.dataset.label || "channel");
    for (const a of document.querySelectorAll(".avatar[data-avatar-user]")) a.textContent = initial(a.dataset.avatarUser);
    renderTyping();
    $("self-name").textContent = displayName(S.self.id);
    statusOf($("self-status"), S.self.id);
    for (const e of document.querySelectorAll("[data-status-of]")) statusOf(e, e.dataset.statusOf);
    renderSidebar();
    if (S.cur) renderHeader();
  });
}

// ---------- channels and sidebar ----------

// addChannel learns a conversation. A preview is a public channel one reads
// without being in it: it is not followed live nor listed in the sidebar.
function addChannel(c, { preview = false } = {}) {
  const prev = S.channels.get(c.id);
  const ch = {
    id: c.id,
    name: c.name || "",
    kind: c.is_im ? "dm" : c.is_mpim ? "group" : "channel",
    isPrivate: !!c.is_private,
    other: c.user || "",
    topic: c.topic?.value || "",
    purpose: c.purpose?.value || "",
    archived: !!c.is_archived,
    unread: c.unread_count ?? prev?.unread ?? 0,
    mentions: c.mention_count ?? prev?.mentions ?? 0,
    muted: !!c.is_muted,
    starred: !!c.is_starred,
    numMembers: c.num_members || 0,
    latestTS: c.latest?.ts || prev?.latestTS || "",
    lastRead: c.last_read || prev?.lastRead || "",
    preview,
  };
  S.channels.set(c.id, ch);
  if (!preview) S.rtm.track(c.id, c.latest_seq || 0);
  if (ch.kind === "group" && !S.mpimMembers.has(c.id)) {
    S.mpimMembers.set(c.id, []);
    S.api.call("conversations.members", { channel: c.id, limit: 10 }).then((r) => {
      S.mpimMembers.set(c.id, r.members);
      renderSidebar();
      if (S.cur?.id === c.id) renderHeader();
    }, () => {});
  }
  return ch;
}

// discover learns a conversation the client did not know (someone opened
// a DM with us, or we joined elsewhere) and returns its latest seq.
async function discover(id) {
  const r = await S.api.call("conversations.info", { channel: id });
  if (!r.channel.is_member && r.channel.is_channel) return null;
  addChannel(r.channel);
  renderSidebar();
  return r.channel.latest_seq || 0;
}

function channelLabel(ch) {
  if (ch.kind === "channel") return ch.name;
  if (ch.kind === "dm") return ch.other === S.self.id ? `${displayName(ch.other)} (you)` : displayName(ch.other);
  const others = (S.mpimMembers.get(ch.id) || []).filter((u) => u !== S.self.id);
  return others.length ? others.map(displayName).join(", ") : ch.name || "group";
}

function sortedChannels() {
  return [...S.channels.values()].filter((c) => !c.preview).sort((a, b) => channelLabel(a).localeCompare(channelLabel(b)));
}

function renderSidebar() {
  // The lists are drawn anew; a conversation focused in them (a person
  // tabbing through) keeps the focus on its new row.
  const focused = document.activeElement?.closest?.("#sidebar a.chan")?.dataset.channelId;
  const lists = { starred: [], channels: [], dms: [] };
  for (const ch of sortedChannels()) {
    const item = sidebarItem(ch);
    if (ch.starred) lists.starred.push(item);
    else if (ch.kind === "channel") lists.channels.push(item);
    else lists.dms.push(item);
  }
  $("list-starred").replaceChildren(...lists.starred);
  $("section-starred").hidden = lists.starred.length === 0;
  $("list-channels").replaceChildren(...lists.channels);
  $("list-dms").replaceChildren(...lists.dms);
  if (focused) document.querySelector(`#sidebar a.chan[data-channel-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  subscribePresence();
  const total = [...S.channels.values()].reduce((n, c) => n + (c.muted || c.preview ? 0 : c.unread), 0);
  // Mentions count in muted conversations too: a mention is for you.
  const mentions = [...S.channels.values()].reduce((n, c) => n + (c.id === S.cur?.id || c.preview ? 0 : c.mentions), 0);
  document.title = (mentions ? `@${mentions} ` : "") + (total ? `(${total}) ` : "") +
    (S.cur ? `${prefix(S.channels.get(S.cur.id))}${channelLabel(S.channels.get(S.cur.id))} · ` : "") + "confab";
}

function prefix(ch) {
  return ch && ch.kind === "channel" ? (ch.isPrivate ? "🔒\u2009" : "#") : "";
}

function sidebarItem(ch) {
  const unread = ch.unread > 0 && ch.id !== S.cur?.id;
  const mentioned = ch.mentions > 0 && ch.id !== S.cur?.id;
  const icon = ch.kind === "channel"
    ? el("span", { class: "chan-icon", "aria-hidden": "true" }, ch.isPrivate ? icon("lock") : "#")
    : ch.kind === "dm"
      ? el("span", { class: "presence", "aria-hidden": "true", dataset: { presence: S.presence.get(ch.other) || "away", user: ch.other } })
      : el("span", { class: "chan-icon", "aria-hidden": "true", text: String(Math.max((S.mpimMembers.get(ch.id) || []).length - 1, 2)) });
  const a = el("a", {
    href: `#${ch.id}`,
    class: ["chan", unread ? "unread" : "", mentioned ? "mentioned" : "", ch.muted ? "muted" : "", ch.id === S.cur?.id ? "active" : ""].join(" ").trim(),
    dataset: { channelId: ch.id, unread: unread ? ch.unread : 0, mentions: mentioned ? ch.mentions : 0 },
    "aria-current": ch.id === S.cur?.id ? "page" : null,
    "aria-label": `${ch.kind === "channel" ? "channel " : ""}${channelLabel(ch)}${unread ? `, ${ch.unread} unread` : ""}${mentioned ? `, ${ch.mentions} ${ch.mentions === 1 ? "mention" : "mentions"}` : ""}${ch.muted ? ", muted" : ""}`,
    onclick: (e) => {
      e.preventDefault();
      openChannel(ch.id);
    },
  }, icon, el("span", { class: "chan-name", text: channelLabel(ch) }));
  if (mentioned) a.append(el("span", { class: "badge mention", "aria-hidden": "true", text: "@" + (ch.mentions > 99 ? "99+" : String(ch.mentions)) }));
  if (unread) a.append(el("span", { class: "badge", "aria-hidden": "true", text: ch.unread > 99 ? "99+" : String(ch.unread) }));
  return el("li", {}, a);
}

// ---------- presence ----------

function visibleUsers() {
  const ids = new Set();
  for (const ch of S.channels.values()) if (ch.kind === "dm") ids.add(ch.other);
  if (S.cur) for (const m of S.cur.msgs.values()) if (m.user) ids.add(m.user);
  ids.delete("");
  return [...ids].slice(0, 200).sort();
}

function subscribePresence() {
  if (!S.rtm) return;
  const ids = visibleUsers();
  const key = ids.join(",");
  if (key === S.presenceSubbed || !S.rtm.live) return;
  S.presenceSubbed = key;
  S.rtm.presenceSub(ids);
  for (const id of ids) {
    if (S.presence.has(id)) continue;
    S.presence.set(id, "away");
    S.api.call("users.getPresence", { user: id }).then((r) => setPresence(id, r.presence), () => {});
  }
}

function setPresence(id, p) {
  S.presence.set(id, p);
  for (const n of document.querySelectorAll(`.presence[data-user="${CSS.escape(id)}"]`)) n.dataset.presence = p;
}

// ---------- the open conversation ----------

function showEmpty() {
  S.cur = null;
  $("messages").replaceChildren();
  $("empty").hidden = false;
  $("history-start").textContent = "";
  $("channel-title").textContent = "";
  renderTopic(null);
  // Nothing open: nothing to star or mute, nor to jump in.
  $("star-toggle").hidden = $("mute-toggle").hidden = $("jump-latest").hidden = true;
  $("composer").hidden = true;
}

// openChannel shows a conversation: at its live end, or with at set, at
// that message (a permalink, a search result) with its neighbours. Away
// from the live end (atEnd false) new messages are not shown as they come:
// scrolling down reads the pages after the newest shown until the end, so
// that nothing shows out of place, twice, or with a gap before it.
async function openChannel(id, { focus = true, at = "", reload = false } = {}) {
  const ch = S.channels.get(id);
  if (!ch) return;
  closeThread();
  document.body.classList.add("in-pane");
  if (S.cur?.id === id && !at && S.cur.atEnd && !reload) {
    if (focus) $("composer-input").focus();
    return;
  }
  const hash = at ? permalinkHash(id, at) : `#${id}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  S.cur = {
    id, msgs: new Map(), els: new Map(), cursor: "", hasMore: true,
    loading: false, replay: null, inflight: 0, replaying: false,
    atEnd: !at, loadingNewer: false,
    // Messages after this ts were unread when the conversation opened:
    // the "New messages" line goes above the first of them.
    unreadAfter: ch.unread > 0 ? ch.lastRead || "0" : "",
  };
  loadDraft($("composer-input"));
  $("jump-latest").hidden = !at;
  $("empty").hidden = true;
  $("composer").hidden = false;
  $("messages").replaceChildren();
  $("messages").dataset.channelId = id;
  const hs = $("history-start");
  hs.dataset.historyStart = "more";
  hs.textContent = "";
  renderHeader();
  renderSidebar();
  renderTyping();
  $("composer-input").placeholder = `Message ${prefix(ch)}${channelLabel(ch)}`;
  $("composer-input").setAttribute("aria-label", `Message ${channelLabel(ch)}`);
  if (!at) for (const p of S.pending.values()) if (p.channel === id && !p.thread_ts) upsertMessage(p);
  if (focus) $("composer-input").focus();
  if (at) {
    await loadAround(at);
  } else {
    await loadOlder();
    showFirstUnread(S.cur);
    markRead();
  }
}

// memberCount is "1 member" or "N members".
function memberCount(n) {
  return `${n} ${n === 1 ? "member" : "members"}`;
}

function renderHeader() {
  const ch = S.channels.get(S.cur.id);
  if (!ch) return;
  $("channel-title").textContent = `${prefix(ch)}${channelLabel(ch)}`;
  renderTopic(ch);
  $("star-toggle").hidden = $("mute-toggle").hidden = false;
  const star = $("star-toggle");
  star.setAttribute("aria-pressed", ch.starred);
  star.replaceChildren(icon("star", { filled: ch.starred }));
  star.title = ch.starred ? "Unstar" : "Star";
  const mute = $("mute-toggle");
  mute.setAttribute("aria-pressed", ch.muted);
  mute.replaceChildren(icon(ch.muted ? "bell-off" : "bell"));
  mute.title = ch.muted ? "Unmute" : "Mute";
}

// loadOlder fetches the page before the oldest message shown and prepends
// it without moving what the reader sees.
async function loadOlder() {
  const cur = S.cur;
  if (!cur || cur.loading || !cur.hasMore) return;
  cur.loading = true;
  beginReplay(cur);
  const hs = $("history-start");
  hs.dataset.historyStart = "loading";
  hs.textContent = "Loading…";
  const r = await readHistory(cur, { channel: cur.id, limit: PAGE, cursor: cur.cursor });
  if (S.cur !== cur) return;
  if (!r) {
    hs.dataset.historyStart = "error";
    hs.textContent = "Could not load older messages.";
    cur.loading = false;
    endReplay(cur);
    return;
  }
  const scroller = $("scroller");
  const first = cur.msgs.size === 0;
  const beforeHeight = scroller.scrollHeight;
  const beforeTop = scroller.scrollTop;
  const older = r.messages.slice().reverse().filter((m) => !cur.msgs.has(m.ts));
  prependMessages(older);
  setOlder(cur, r);
  endReplay(cur);
  if (first) {
    scroller.scrollTop = scroller.scrollHeight;
  } else {
    scroller.scrollTop = beforeTop + (scroller.scrollHeight - beforeHeight);
  }
  cur.loading = false;
  subscribePresence();
  // Keep going while the pane is not full or the reader is still at the top.
  if (cur.hasMore && scroller.scrollTop < 200) requestAnimationFrame(() => loadOlder());
}

// readHistory is one conversations.history call, retried while the
// failure is transient and the conversation still open; null if it failed.
async function readHistory(cur, args) {
  const early = S.bootHistory; // the boot's page: the first read's alone
  S.bootHistory = null;
  if (early && early.channel === args.channel && !args.cursor && !args.latest && !args.oldest) return early.page;
  for (let attempt = 0; ; attempt++) {
    try {
      return await S.api.call("conversations.history", args);
    } catch (e) {
      if (S.cur !== cur || !(e instanceof ApiError) || !e.transient || attempt >= 4) return null;
      await new Promise((res) => setTimeout(res, 500 * 2 ** attempt));
    }
  }
}

// setOlder notes where the page before the oldest message shown starts
// (r is the page that reached back the furthest).
function setOlder(cur, r) {
  const hs = $("history-start");
  cur.cursor = r.response_metadata?.next_cursor || "";
  cur.hasMore = !!r.has_more && !!cur.cursor;
  if (cur.hasMore) {
    hs.dataset.historyStart = "more";
    hs.textContent = "";
  } else {
    const ch = S.channels.get(cur.id);
    hs.dataset.historyStart = "reached";
    hs.textContent = ch.kind === "channel"
      ? `This is the very beginning of ${prefix(ch)}${channelLabel(ch)}.`
      : `This is the very beginning of your conversation with ${channelLabel(ch)}.`;
  }
}

// Changes (edits, deletes, reactions) that arrive while a page is on its
// way are kept and applied again once it is shown: the page may have been
// read before them. Applying one twice does no harm.
function beginReplay(cur) {
  cur.inflight++;
  cur.replay = cur.replay || [];
}

function endReplay(cur) {
  cur.replaying = true;
  for (const ev of cur.replay || []) applyChange(ev);
  cur.replaying = false;
  if (--cur.inflight === 0) cur.replay = null;
}

// loadAround shows the page up to the message at ts (it included) and the
// page after it, scrolls to it and marks it for a moment.
async function loadAround(ts) {
  const cur = S.cur;
  cur.loading = cur.loadingNewer = true;
  beginReplay(cur);
  const hs = $("history-start");
  hs.dataset.historyStart = "loading";
  hs.textContent = "Loading…";
  const [before, after] = await Promise.all([
    readHistory(cur, { channel: cur.id, latest: ts, inclusive: true, limit: PAGE }),
    readHistory(cur, { channel: cur.id, oldest: ts, limit: PAGE }),
  ]);
  if (S.cur !== cur) return;
  cur.loading = cur.loadingNewer = false;
  if (!before || !after) {
    hs.dataset.historyStart = "error";
    hs.textContent = "Could not load the messages.";
    endReplay(cur);
    return;
  }
  insertPage(cur, [...before.messages, ...after.messages]);
  setOlder(cur, before);
  endReplay(cur);
  const e = cur.els.get(ts);
  if (e) {
    e.scrollIntoView({ block: "center" });
    e.classList.add("highlight");
    setTimeout(() => e.classList.remove("highlight"), 4000);
  } else {
    toast("That message is not there any more.");
  }
  subscribePresence();
  if (!after.has_more) reachedEnd(cur);
  else if (nearBottom($("scroller"), 400)) loadNewer();
  else if (cur.hasMore && $("scroller").scrollTop < 200) loadOlder();
}

// loadNewer shows the page after the newest message shown, until the live
// end is reached.
async function loadNewer() {
  const cur = S.cur;
  if (!cur || cur.atEnd || cur.loadingNewer) return;
  cur.loadingNewer = true;
  const more = await readNewer(cur);
  if (S.cur !== cur) return;
  cur.loadingNewer = false;
  if (more === false) reachedEnd(cur);
  else if (more && nearBottom($("scroller"), 400)) requestAnimationFrame(() => loadNewer());
}

// readNewer reads and shows the page after the newest message shown; it
// answers whether a newer page exists (null if the read failed).
async function readNewer(cur) {
  let newest = "";
  for (const ts of cur.msgs.keys()) if (!newest || compareTS(ts, newest) > 0) newest = ts;
  beginReplay(cur);
  const r = await readHistory(cur, newest ? { channel: cur.id, oldest: newest, limit: PAGE } : { channel: cur.id, limit: PAGE });
  if (S.cur !== cur) return null;
  if (r) insertPage(cur, r.messages);
  endReplay(cur);
  subscribePresence();
  return r ? !!r.has_more && !!newest : null;
}

// reachedEnd: from now on live messages show as they come. What was posted
// while the last page was on its way is read once more.
async function reachedEnd(cur) {
  cur.atEnd = true;
  $("jump-latest").hidden = true;
  cur.loadingNewer = true;
  for (let i = 0; i < 20 && (await readNewer(cur)) === true; i++) if (S.cur !== cur) return;
  if (S.cur !== cur) return;
  cur.loadingNewer = false;
  markRead();
}

// insertPage shows a page's messages that are not shown yet, each in ts
// order; one already shown is as fresh as the page, or fresher.
function insertPage(cur, list) {
  const box = $("messages");
  const added = [];
  for (const m of list) {
    if (cur.msgs.has(m.ts)) continue;
    const msg = { ...m, channel: cur.id };
    cur.msgs.set(m.ts, msg);
    const e = messageEl(msg);
    cur.els.set(m.ts, e);
    insertByTS(box, e, m.ts);
    added.push(e);
  }
  for (const e of added) {
    regroup(e);
    if (e.nextElementSibling) regroup(e.nextElementSibling);
  }
}

function onScroll() {
  const s = $("scroller");
  if (s.scrollTop < 400) loadOlder();
  if (S.cur && !S.cur.atEnd) {
    if (nearBottom(s, 400)) loadNewer();
  } else if (nearBottom(s)) {
    markRead();
  }
  updateJumpButton();
}

// updateJumpButton offers "Jump to newest" away from the live end, and
// at it when scrolled up more than a screen.
function updateJumpButton() {
  const s = $("scroller");
  $("jump-latest").hidden = !S.cur || (S.cur.atEnd && s.scrollHeight - s.scrollTop - s.clientHeight < Math.max(s.clientHeight, 200));
}

// jumpToNewest scrolls to the newest message; away from the live end it
// opens the conversation there (its newest page).
function jumpToNewest() {
  const cur = S.cur;
  if (!cur) return;
  if (!cur.atEnd) {
    openChannel(cur.id, { focus: false });
    return;
  }
  // Hidden first: the button takes a little of the list's height.
  $("jump-latest").hidden = true;
  const s = $("scroller");
  s.scrollTop = s.scrollHeight;
  markRead();
}

// markFirstUnread puts the "New messages" line above e if it is the first
// message of the open conversation that was unread when it was opened, and
// takes it away otherwise; it reports whether e has the line.
function markFirstUnread(e) {
  const after = S.cur?.unreadAfter;
  let first = false;
  if (after && e.dataset.ts && e.parentElement?.id === "messages" && compareTS(e.dataset.ts, after) > 0) {
    const prev = e.previousElementSibling;
    first = !prev || !prev.dataset.ts || compareTS(prev.dataset.ts, after) <= 0;
  }
  const line = e.querySelector(":scope > .unread-line");
  if (first && !line) {
    const l = el("div", { class: "unread-line", role: "separator", "aria-label": "New messages" }, el("span", { text: "New messages" }));
    const day = e.querySelector(":scope > .day");
    if (day) day.after(l);
    else e.prepend(l);
  } else if (!first && line) {
    line.remove();
  }
  return first;
}

// showFirstUnread scrolls the "New messages" line to the top of the list
// when it is above what shows: reading starts where one left off.
function showFirstUnread(cur) {
  if (S.cur !== cur) return;
  const l = $("messages").querySelector(".unread-line");
  if (l && l.getBoundingClientRect().top < $("scroller").getBoundingClientRect().top) l.scrollIntoView({ block: "start" });
}

// clearUnreadLine takes the "New messages" line away: one has read on.
function clearUnreadLine() {
  if (S.cur) S.cur.unreadAfter = "";
  for (const l of $("messages").querySelectorAll(".unread-line")) l.remove();
}

function nearBottom(s, within = 80) {
  return s.scrollHeight - s.scrollTop - s.clientHeight < within;
}

// ---------- messages ----------

function isReply(m) {
  return m.thread_ts && m.thread_ts !== m.ts;
}

function prependMessages(list) {
  const cur = S.cur;
  const box = $("messages");
  const frag = document.createDocumentFragment();
  for (const m of list) {
    cur.msgs.set(m.ts, m);
    const e = messageEl(m);
    cur.els.set(m.ts, e);
    frag.append(e);
  }
  const oldFirst = box.querySelector(".msg");
  box.insertBefore(frag, box.firstChild);
  for (const m of list) regroup(cur.els.get(m.ts));
  if (oldFirst) regroup(oldFirst);
}

// upsertMessage shows a new or changed top-level message of the open
// conversation, in ts order; a pending message sits at the end.
function upsertMessage(m) {
  const cur = S.cur;
  if (!cur || m.channel !== cur.id) return;
  // Away from the live end, a new message comes with the pages after it.
  if (!cur.atEnd && (!m.ts || !cur.msgs.has(m.ts))) return;
  const box = $("messages");
  const scroller = $("scroller");
  const stick = nearBottom(scroller) || m.user === S.self?.id;
  let old = m.ts ? cur.els.get(m.ts) : null;
  if (!old && m.client_msg_id) old = box.querySelector(`.msg[data-client-msg-id="${CSS.escape(m.client_msg_id)}"]`);
  if (m.ts) {
    const known = cur.msgs.get(m.ts);
    if (known && !m.pending) m = { ...known, ...m, reactions: m.reactions ?? known.reactions, reply_count: m.reply_count ?? known.reply_count };
    cur.msgs.set(m.ts, m);
  }
  const e = messageEl(m);
  if (m.ts) cur.els.set(m.ts, e);
  if (old) {
    if ((old.dataset.ts && old.dataset.ts === m.ts) || (!old.dataset.ts && !m.ts)) {
      old.replaceWith(e); // a pending message that failed stays in its place
    } else {
      // A pending message got its ts: place it by ts.
      old.remove();
      insertByTS(box, e, m.ts);
    }
  } else if (m.ts) {
    insertByTS(box, e, m.ts);
  } else {
    box.append(e);
  }
  regroup(e);
  if (e.nextElementSibling) regroup(e.nextElementSibling);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

function insertByTS(box, e, ts) {
  let after = box.lastElementChild;
  while (after && (!after.dataset.ts || compareTS(after.dataset.ts, ts) > 0)) after = after.previousElementSibling;
  box.insertBefore(e, after ? after.nextSibling : box.firstChild);
}

function removeMessage(ts) {
  const cur = S.cur;
  if (!cur) return;
  cur.msgs.delete(ts);
  const e = cur.els.get(ts);
  cur.els.delete(ts);
  if (!e) return;
  const next = e.nextElementSibling;
  e.remove();
  if (next) regroup(next);
}

// regroup hides author and avatar of a message that follows one of the
// same author within a few minutes, and marks day changes.
function regroup(e) {
  if (!e || !e.classList.contains("msg")) return;
  const prev = e.previousElementSibling;
  const ts = e.dataset.ts || String(Date.now() / 1000);
  let cont = false;
  let newDay = true;
  if (prev && prev.classList.contains("msg")) {
    const pts = prev.dataset.ts || ts;
    newDay = tsDate(pts).toDateString() !== tsDate(ts).toDateString();
    // A system line stands alone: nothing groups with it.
    cont = !newDay && !prev.classList.contains("system") && !e.classList.contains("system") && prev.dataset.user === e.dataset.user && Math.abs(Number(ts.split(".")[0]) - Number(pts.split(".")[0])) < GROUP_SECONDS;
  }
  const divider = e.querySelector(":scope > .day");
  if (newDay && !divider) e.prepend(el("div", { class: "day", role: "separator" }, el("span", { text: dayOf(ts) })));
  else if (!newDay && divider) divider.remove();
  // The first new message shows its author, below the line.
  e.classList.toggle("cont", cont && !markFirstUnread(e));
}

function avatar(id) {
  let h = 0;
  for (const c of id || "") h = (h * 31 + c.charCodeAt(0)) % 360;
  const a = el("div", { class: "avatar", "aria-hidden": "true", dataset: { hue: String(Math.round(h / 30) % 12), ...(id ? { avatarUser: id } : {}) } });
  a.textContent = initial(id);
  return a;
}

// initial is the letter of a person's avatar; none while their name loads.
function initial(id) {
  const name = knownName(id) ?? (id ? "" : "?");
  return (name[0] || "").toUpperCase();
}

function messageEl(m, { inThread = false, ephemeral = false } = {}) {
  if (SYSTEM[m.subtype] && !ephemeral) return systemEl(m);
  const mine = m.user === S.self.id;
  // Someone else's message that mentions you in a channel is marked (in a
  // DM every message is for you: nothing to mark).
  const ch = S.channels.get(m.channel);
  const forMe = !mine && !ephemeral && ch?.kind === "channel" && mentionsMe(ch, m);
  const art = el("article", {
    class: ["msg", m.pending ? "pending" : "", m.failed ? "failed" : "", ephemeral ? "ephemeral" : "", forMe ? "mentions-me" : ""].join(" ").trim(),
    dataset: { user: m.user || "", ...(m.ts ? { ts: m.ts } : {}), ...(m.seq ? { seq: String(m.seq) } : {}), ...(m.client_msg_id ? { clientMsgId: m.client_msg_id } : {}) },
    "aria-label": `${displayName(m.user)}${m.ts ? ", " + timeOf(m.ts) : ""}`,
  });
  const body = el("div", { class: "msg-body" });
  const head = el("div", { class: "msg-head" },
    el("span", { class: "author", dataset: { userName: m.user } , text: displayName(m.user) }),
    m.user ? (() => { const e = el("span", { class: "status", dataset: { statusOf: m.user } }); statusOf(e, m.user); return e; })() : "",
    el("span", { class: "presence small", "aria-hidden": "true", dataset: { user: m.user, presence: S.presence.get(m.user) || "away" } }),
    ...(m.ts ? [el("time", { class: "time", datetime: tsDate(m.ts).toISOString(), title: tsDate(m.ts).toLocaleString(), text: timeOf(m.ts) })]
      : m.failed ? [] : [el("span", { class: "time", text: "sending…" })]),
  );
  const text = el("div", { class: "text" });
  renderText(text, m.text || "", displayName, channelName);
  for (const s of text.querySelectorAll(".mention[data-user-name]")) {
    if (s.dataset.userName.split("|")[0] === S.self.id) s.classList.add("me"); // your own name stands out
  }
  if (m.edited) text.append(el("span", { class: "edited", text: " (edited)", title: m.edited.ts ? `Edited ${tsDate(m.edited.ts).toLocaleString()}` : "Edited" }));
  body.append(head, text);
  if (ephemeral) body.append(el("div", { class: "ephemeral-note", text: "Only visible to you" }));
  if (m.reactions && m.reactions.length) {
    const bar = el("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
    for (const r of m.reactions) {
      if (!r.count) continue;
      const me = (r.users || []).includes(S.self.id);
      bar.append(el("button", {
        type: "button", class: me ? "reaction mine" : "reaction",
        dataset: { reaction: r.name }, "aria-pressed": me,
        "aria-label": `${r.name}, ${r.count}, ${me ? "remove your reaction" : "add yours"}`,
        title: (r.users || []).map(displayName).join(", "),
        onclick: () => react(m, r.name, !me),
      }, el("span", { text: emoji(r.name) }), el("span", { class: "count", text: String(r.count) })));
    }
    body.append(bar);
  }
  if (!inThread && m.reply_count) {
    body.append(el("button", {
      type: "button", class: "thread-link", dataset: { replies: String(m.reply_count) },
      onclick: () => openThread(m.channel, m.ts),
      text: `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`,
    }));
  }
  if (m.failed) body.append(failedBar(m));
  // A message grouped under the one before shows its time in place of the
  // avatar, on hover or focus.
  const contTime = m.ts ? el("time", { class: "cont-time", datetime: tsDate(m.ts).toISOString(), title: tsDate(m.ts).toLocaleString(), text: timeOf(m.ts) }) : "";
  art.append(avatar(m.user), contTime, body);
  if (m.ts && !m.pending && !ephemeral) {
    const tools = el("div", { class: "msg-tools", role: "toolbar", "aria-label": "Message actions" });
    tools.append(el("button", { type: "button", class: "icon-button", title: "Add reaction", "aria-label": "Add reaction", "data-action": "react", onclick: (e) => openPicker(e.currentTarget, m) }, icon("smile")));
    if (!inThread) tools.append(el("button", { type: "button", class: "icon-button", title: "Reply in thread", "aria-label": "Reply in thread", "data-action": "thread", onclick: () => openThread(m.channel, m.ts) }, icon("reply")));
    if (mine) {
      tools.append(el("button", { type: "button", class: "icon-button", title: "Edit", "aria-label": "Edit message", "data-action": "edit", onclick: () => editMessage(art, m) }, icon("edit")));
      tools.append(el("button", { type: "button", class: "icon-button", title: "Delete", "aria-label": "Delete message", "data-action": "delete", onclick: () => deleteMessage(m) }, icon("trash")));
    }
    art.append(tools);
  }
  return art;
}

// ---------- sending ----------

// sendMessage posts a message, shown at once as pending and kept in the
// outbox until the server has it. A retry sends the same client_msg_id,
// so a send whose answer was lost does not make a second message. It
// answers "sent", "refused" (the server will not take it: kept, shown with
// why, not retried automatically), "failed" (worth retrying) or "sending"
// (it was on its way already).
async function sendMessage(channel, text, thread_ts, cmid = uuid()) {
  const before = S.pending.get(cmid);
  if (before?.pending) return "sending"; // on its way already
  const p = { type: "message", channel, text, user: S.self.id, client_msg_id: cmid, pending: true, at: before?.at || Date.now(), ...(thread_ts ? { thread_ts } : {}) };
  S.pending.set(cmid, p);
  S.outbox.put(p);
  showPending(p);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await S.api.call("chat.postMessage", { channel, text, client_msg_id: cmid, ...(thread_ts ? { thread_ts } : {}) });
      S.outbox.remove(cmid);
      if (S.pending.get(cmid) === p) S.pending.delete(cmid);
      const m = { ...r.message, channel: r.channel };
      if (isReply(m)) {
        upsertThreadMessage(m);
      } else {
        upsertMessage(m);
        noteLatest(m);
      }
      if (S.cur?.id === channel) markRead();
      return "sent";
    } catch (e) {
      if (e instanceof ApiError && e.transient && e.code !== "network" && attempt < 2) continue;
      // Its echo came on the socket meanwhile: the server has it.
      if (S.pending.get(cmid) !== p) return "sent";
      p.failed = true;
      p.pending = false;
      p.error = e.code;
      p.refused = refused(e);
      S.outbox.put(p);
      showPending(p);
      return p.refused ? "refused" : "failed";
    }
  }
}

// failedBar marks a message that was not sent: "Not sent · Retry", with
// why when the server refused it, and a way to drop it.
function failedBar(m) {
  return el("div", { class: "send-failed", role: "status" },
    el("span", { text: m.refused ? `Not sent (${refusal(m.error)})` : "Not sent" }), " · ",
    el("button", { type: "button", class: "retry link-button", onclick: () => sendMessage(m.channel, m.text, m.thread_ts, m.client_msg_id), text: "Retry" }), " · ",
    el("button", { type: "button", class: "discard link-button", onclick: () => discardUnsent(m), text: "Discard" }));
}

function discardUnsent(m) {
  const p = S.pending.get(m.client_msg_id);
  if (p?.pending) return;
  S.pending.delete(m.client_msg_id);
  S.outbox.remove(m.client_msg_id);
  for (const e of document.querySelectorAll(`.msg[data-client-msg-id="${CSS.escape(m.client_msg_id)}"]:not([data-ts])`)) {
    const next = e.nextElementSibling;
    e.remove();
    if (next) regroup(next);
  }
}

// restoreOutbox shows what an earlier page left unsent as "Not sent"; it
// goes out once the socket is online (flushOutbox).
function restoreOutbox(boot) {
  S.outbox = new Outbox(boot.team.id, boot.self.id);
  for (const e of S.outbox.list()) {
    S.pending.set(e.client_msg_id, { type: "message", user: S.self.id, ...e, failed: true, pending: false });
  }
}

// flushOutbox sends the outbox again, oldest first, when the connection
// is back; it stops at the first send that fails (the next reconnect
// starts over). Refused messages wait for their Retry.
let flushing = false;
async function flushOutbox() {
  if (flushing || !S.outbox) return;
  flushing = true;
  try {
    for (const e of S.outbox.list()) {
      if (e.refused || S.pending.get(e.client_msg_id)?.pending) continue;
      if (await sendMessage(e.channel, e.text, e.thread_ts, e.client_msg_id) === "failed") break;
    }
  } finally {
    flushing = false;
  }
}

function showPending(p) {
  if (p.thread_ts) {
    if (S.thread && S.thread.channel === p.channel && S.thread.ts === p.thread_ts) upsertThreadMessage(p);
  } else {
    upsertMessage(p);
  }
}

function onComposerKey(e, submit) {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey) {
    e.preventDefault();
    submit();
  } else if (e.key === "ArrowUp" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.target.value) {
    // Up in an empty box edits your last message there, as in Slack.
    const list = e.target.id === "thread-input" ? $("thread-messages") : $("messages");
    const mine = [...list.querySelectorAll(`.msg[data-user="${CSS.escape(S.self.id)}"] [data-action="edit"]`)].pop();
    if (mine) {
      e.preventDefault();
      mine.click();
    }
  }
}

function autoGrow(t) {
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight, 200) + "px";
}

function submitComposer() {
  const t = $("composer-input");
  const text = t.value;
  if (!text.trim() || !S.cur) return;
  const channel = S.cur.id;
  const marked = withMentions(t, text);
  t.value = "";
  saveDraft(t);
  autoGrow(t);
  // What one sends shows at the live end: go there.
  if (!S.cur.atEnd) openChannel(channel);
  clearUnreadLine();
  if (text.startsWith("/") && runCommand(channel, text)) return;
  sendMessage(channel, marked);
}

// ---------- @-mentions and #-channels in the message box ----------

// Typing @ and the start of a name offers the workspace's people, # and the
// start of a name the conversations' channels; picking one (Enter, Tab or
// a click) writes "@name " or "#name " in the box, and sending turns each
// picked one into <@U…> or <#C…|name>, which every client shows as the
// person's or the channel's name. picked holds, per box, what was picked
// since it was last sent.
const picked = new Map(); // textarea id → Map("@name" or "#name" → markup)

function mentionQuery(t) {
  const before = t.value.slice(0, t.selectionStart);
  const m = /(^|\s)([@#])([\p{L}\p{M}\p{N}_.\-]*)$/u.exec(before);
  return m ? { start: before.length - m[3].length - 1, sigil: m[2], prefix: m[3].toLowerCase(), channel: mentionBoxChannel(t) } : null;
}

// mentionChoices are what the menu offers for a query: {name, markup,
// label, hint, data}.
function mentionChoices(q) {
  if (q.sigil === "#") {
    return [...S.channels.values()].filter((c) => c.kind === "channel" && !c.preview && c.name.toLowerCase().startsWith(q.prefix))
      .sort((a, b) => a.name.localeCompare(b.name)).slice(0, 8)
      .map((c) => ({ name: c.name, markup: `<#${c.id}|${c.name}>`, label: `${prefix(c)}${c.name}`, hint: c.isPrivate ? " private" : "", data: { channelId: c.id } }));
  }
  const known = [...S.users.values()].filter((u) => !u.deleted && (!q.prefix || matches(u, q.prefix)))
    .sort((a, b) => a.name.localeCompare(b.name));
  const found = mentionFound.key === mentionKey(q) ? mentionFound.users.filter((u) => !u.deleted) : [];
  return merged(found, known).slice(0, 8)
    .map((u) => ({ name: u.name, markup: `<@${u.id}>`, label: u.profile?.display_name || u.real_name || u.name, hint: ` @${u.name}`, data: { userId: u.id } }));
}

// The @-menu shows the people the client knows at once, and asks
// users.search as one types (askPeople): its answer, the conversation's
// members first, comes first when it arrives.
const mentionSearch = searcher(S.api, rememberUser);
let mentionFound = { key: "", users: [] }; // users.search's last answer for the menu
const mentionBoxChannel = (t) => (t.id === "thread-input" ? S.thread?.channel : S.cur?.id) || "";
const mentionKey = (q) => `${q.channel}\n${q.prefix}`;

function askPeople(t, q) {
  if (!q || q.sigil !== "@" || !q.prefix) {
    mentionSearch("");
    return;
  }
  const key = mentionKey(q);
  if (mentionFound.key === key) return;
  mentionSearch(q.prefix, q.channel, (users) => {
    mentionFound = { key, users };
    const now = mentionQuery(t);
    if (now && mentionKey(now) === key) updateMentionMenu(t);
  });
}

function updateMentionMenu(t) {
  const menu = $("mention-menu");
  const q = mentionQuery(t);
  askPeople(t, q);
  const choices = q ? mentionChoices(q) : [];
  if (!choices.length) {
    menu.hidden = true;
    t.removeAttribute("aria-activedescendant");
    return;
  }
  menu.choices = choices;
  menu.setAttribute("aria-label", q.sigil === "#" ? "Channels" : "People");
  menu.replaceChildren(...choices.map((c, i) => el("li", {
    role: "option", id: `mention-option-${i}`, "aria-selected": i === 0 ? "true" : "false", dataset: c.data,
    onmousedown: (e) => { e.preventDefault(); pickMention(t, c); },
  }, el("strong", { text: c.label }), el("span", { text: c.hint }))));
  menu.dataset.for = t.id;
  const r = t.getBoundingClientRect();
  menu.style.left = `${r.left}px`;
  menu.style.bottom = `${window.innerHeight - r.top + 4}px`;
  menu.hidden = false;
  t.setAttribute("aria-activedescendant", "mention-option-0");
}

function pickMention(t, c) {
  const q = mentionQuery(t);
  $("mention-menu").hidden = true;
  if (!q) return;
  const text = `${q.sigil}${c.name} `;
  t.value = t.value.slice(0, q.start) + text + t.value.slice(t.selectionStart);
  t.setSelectionRange(q.start + text.length, q.start + text.length);
  if (!picked.has(t.id)) picked.set(t.id, new Map());
  picked.get(t.id).set(`${q.sigil}${c.name}`, c.markup);
  t.removeAttribute("aria-activedescendant");
  saveDraft(t);
}

// draftKey names the draft of a message box: the open conversation's id
// for the composer, channel/ts for the open thread's box.
function draftKey(t) {
  if (t.id === "thread-input") return S.thread ? `${S.thread.channel}/${S.thread.ts}` : "";
  return S.cur?.id || "";
}

// saveDraft keeps what box t holds as its conversation's draft.
function saveDraft(t) {
  const key = draftKey(t);
  if (S.drafts && key) S.drafts.set(key, t.value, t.value ? [...(picked.get(t.id) || [])] : []);
}

// loadDraft fills box t with its conversation's draft.
function loadDraft(t) {
  const key = draftKey(t);
  const d = S.drafts && key ? S.drafts.get(key) : { text: "", picked: [] };
  t.value = d.text;
  if (d.picked.length) picked.set(t.id, new Map(d.picked));
  else picked.delete(t.id);
  autoGrow(t);
}

// onMentionKey moves through the menu, picks from it or closes it; it
// reports whether it took the key.
function onMentionKey(e) {
  const t = e.target, menu = $("mention-menu");
  if (menu.hidden || menu.dataset.for !== t.id) return false;
  const opts = [...menu.children];
  let i = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
  switch (e.key) {
    case "ArrowDown":
    case "ArrowUp":
      i = (i + (e.key === "ArrowDown" ? 1 : opts.length - 1)) % opts.length;
      opts.forEach((o, j) => o.setAttribute("aria-selected", j === i ? "true" : "false"));
      t.setAttribute("aria-activedescendant", opts[i].id);
      break;
    case "Enter":
    case "Tab":
      pickMention(t, menu.choices[Math.max(i, 0)]);
      break;
    case "Escape":
      menu.hidden = true;
      break;
    default:
      return false;
  }
  e.preventDefault();
  return true;
}

// withMentions turns what was picked in box t into its markup in text.
// withMentions is what a box's text is sent as: Slack's escaping of &, <
// and > (as Slack's clients send text: the characters, never markup), then
// each picked @name or #name as its markup.
function withMentions(t, text) {
  text = escapeText(text);
  const names = picked.get(t.id);
  picked.delete(t.id);
  if (!names) return text;
  for (const [name, markup] of names) {
    const re = new RegExp(escapeText(name).replace(/[.*+?^${}()|[\]\\-]/g, "\\$&") + "(?![\\w.\\-])", "g");
    text = text.replace(re, () => markup);
  }
  return text;
}

const escapeText = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const unescapeText = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

// MARKUP is Slack's markup in a stored text: mentions, channel links,
// special mentions and links, kept as they are when an edit is sent.
const MARKUP = /(<(?:@[UW][A-Z0-9]+|#[CDG][A-Z0-9]+(?:\|[^>]*)?|![a-z]+(?:\^[^>|]*)?(?:\|[^>]*)?|(?:https?|mailto):[^>]*)>)/;

// editText is a stored text as the edit box shows it (the characters,
// the markup as it is); editedText turns it back.
const editText = (s) => s.split(MARKUP).map((p, i) => (i % 2 ? p : unescapeText(p))).join("");
const editedText = (s) => s.split(MARKUP).map((p, i) => (i % 2 ? p : escapeText(p))).join("");

// runCommand runs a slash command typed in the composer: "/invite @name
// …" adds people (or an app's bot) to the conversation, "/me text" posts
// an action. It reports false for anything else, which is sent as text.
// What a command has to say is shown to this user only.
function runCommand(channel, text) {
  const [cmd, ...rest] = text.trim().split(/\s+/);
  const say = (msg) => onEphemeral({ type: "message", channel, user: S.self.id, text: msg, ts: (Date.now() / 1000).toFixed(6) });
  switch (cmd) {
    case "/me": {
      const action = text.trim().slice(cmd.length).trim();
      if (!action) return true;
      S.api.call("chat.meMessage", { channel, text: escapeText(action) }).catch((e) => say(`/me failed: ${e.code || e}`));
      return true;
    }
    case "/invite": {
      const names = rest.map((n) => n.replace(/^@/, "").toLowerCase()).filter(Boolean);
      if (!names.length) {
        say("Usage: /invite @name [@name …]");
        return true;
      }
      invite(channel, names, say);
      return true;
    }
  }
  return false;
}

// invite adds the people named (handles or display names, lowercased)
// to channel: each one the client does not know is asked of users.search.
async function invite(channel, names, say) {
  const ids = [];
  for (const n of names) {
    const named = (u) => !u.deleted && (u.name.toLowerCase() === n || (u.profile?.display_name || "").toLowerCase() === n);
    let u = [...S.users.values()].find(named);
    if (!u) {
      try {
        const r = await S.api.call("users.search", { query: n, count: 100 });
        r.members.forEach(rememberUser);
        u = r.members.find(named);
      } catch (e) {
        say(`/invite failed: ${e.code || e}`);
        return;
      }
    }
    if (!u) {
      say(`No one here is called @${n}.`);
      return;
    }
    ids.push(u.id);
  }
  S.api.call("conversations.invite", { channel, users: ids.join(",") })
    .then(() => say(`Invited ${ids.map((id) => "@" + displayName(id)).join(", ")}.`),
      (e) => say(`/invite failed: ${e.code || e}`));
}

function submitThread() {
  const t = $("thread-input");
  const text = t.value;
  if (!text.trim() || !S.thread) return;
  t.value = "";
  saveDraft(t);
  autoGrow(t);
  sendMessage(S.thread.channel, withMentions(t, text), S.thread.ts);
}

function sendTyping(channel) {
  const now = Date.now();
  if (now - S.lastTypingSent < TYPING_SEND_EVERY_MS) return;
  S.lastTypingSent = now;
  S.rtm.typing(channel);
}

// ---------- edit, delete, react ----------

function editMessage(art, m) {
  const textEl = art.querySelector(".text");
  const box = el("textarea", { class: "edit-box", "aria-label": "Edit message", rows: "2" });
  box.value = editText(m.text);
  const done = () => { box.remove(); textEl.hidden = false; };
  box.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") {
      e.stopPropagation(); // cancels the edit only: an open thread stays
      done();
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      const text = editedText(box.value);
      if (!box.value.trim() || text === m.text) return done();
      try {
        const r = await S.api.call("chat.update", { channel: m.channel, ts: m.ts, text });
        applyChange({ type: "message", subtype: "message_changed", channel: m.channel, message: { ...r.message, channel: m.channel } });
      } catch (ex) {
        toast(`Could not edit (${ex.code}).`);
      }
      done();
    }
  });
  textEl.hidden = true;
  textEl.after(box);
  box.focus({ preventScroll: true });
  fitEditBox(box);
  box.addEventListener("input", () => fitEditBox(box));
}

// fitEditBox grows an edit box to its text (up to a limit) and scrolls it
// entirely into view: focusing it alone may leave its lower part below the
// message list's visible area.
function fitEditBox(box) {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + box.offsetHeight - box.clientHeight, 240)}px`;
  box.scrollIntoView({ block: "nearest" });
}

// deleteMessage asks in the app's own dialog (the message shown, Delete
// focused: Enter deletes, Escape keeps it), then deletes.
async function deleteMessage(m) {
  if (!await confirmDelete(m)) return;
  try {
    await S.api.call("chat.delete", { channel: m.channel, ts: m.ts });
    applyChange({ type: "message", subtype: "message_deleted", channel: m.channel, deleted_ts: m.ts });
  } catch (e) {
    toast(`Could not delete (${e.code}).`);
  }
}

function confirmDelete(m) {
  const d = $("dlg-delete");
  const preview = $("delete-preview");
  preview.replaceChildren();
  renderText(preview, m.text || "", displayName, channelName);
  return new Promise((resolve) => {
    d.returnValue = "";
    d.addEventListener("close", () => resolve(d.returnValue === "delete"), { once: true });
    d.showModal();
    $("delete-go").focus();
  });
}

async function react(m, name, add) {
  try {
    await S.api.call(add ? "reactions.add" : "reactions.remove", { channel: m.channel, timestamp: m.ts, name });
    applyChange({ type: add ? "reaction_added" : "reaction_removed", user: S.self.id, reaction: name, item: { channel: m.channel, ts: m.ts } });
  } catch (e) {
    if (e.code !== "already_reacted" && e.code !== "no_reaction") toast(`Could not react (${e.code}).`);
  }
}

function openPicker(anchor, m) {
  openEmojiPicker(anchor, (name) => react(m, name, true));
}

// insertEmoji puts :name: at a composer's caret, as typed.
function insertEmoji(t, name) {
  t.focus();
  t.setRangeText(`:${name}:`, t.selectionStart, t.selectionEnd, "end");
  t.dispatchEvent(new Event("input", { bubbles: true }));
}

document.addEventListener("click", (e) => {
  const link = e.target.closest?.("a[data-channel-link]");
  const plain = !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0;
  if (link && plain) {
    e.preventDefault();
    $("dlg-search").close();
    openAnywhere(link.dataset.channelLink);
  }
  // A permalink of this server, in a message, opens here rather than in a
  // new tab.
  const a = e.target.closest?.("a[href]");
  if (a && !link && plain && S.self && a.origin === location.origin && a.pathname === "/") {
    const { id, at } = hashRoute(a.hash);
    if (id && at) {
      e.preventDefault();
      $("dlg-search").close();
      openAnywhere(id, { at });
    }
  }
});

// ---------- threads ----------

async function openThread(channel, ts) {
  S.thread = { channel, ts, msgs: new Map(), els: new Map() };
  const t = S.thread;
  $("thread").hidden = false;
  document.body.classList.add("in-thread");
  $("thread-messages").replaceChildren();
  $("thread-messages").dataset.threadTs = ts;
  const ch = S.channels.get(channel);
  $("thread-where").textContent = ch ? `${prefix(ch)}${channelLabel(ch)}` : "";
  loadDraft($("thread-input"));
  $("thread-input").focus();
  let cursor = "";
  for (let i = 0; i < 100; i++) {
    let r;
    try {
      r = await S.api.call("conversations.replies", { channel, ts, cursor, limit: 200 });
    } catch (e) {
      if (S.thread === t) threadFailed(t, e.code);
      return;
    }
    if (S.thread !== t) return;
    for (const m of r.messages) upsertThreadMessage({ ...m, channel });
    cursor = r.response_metadata?.next_cursor || "";
    if (!r.has_more || !cursor) break;
  }
  if (!t.msgs.has(ts)) threadParentGone(t);
  for (const p of S.pending.values()) if (p.channel === channel && p.thread_ts === ts) upsertThreadMessage(p);
}

// threadFailed shows, in place of a thread that could not be loaded, why,
// and a Retry that loads it again.
function threadFailed(t, code) {
  const why = code === "thread_not_found" ? "This thread is not there: its message was deleted."
    : code === "channel_not_found" ? "This conversation is not there, or is not yours to read."
    : code === "network" ? "Could not load this thread: the server cannot be reached."
    : `Could not load this thread (${code}).`;
  $("thread-messages").replaceChildren(el("div", { class: "thread-error", role: "alert" },
    el("span", { text: why + " " }),
    el("button", { type: "button", class: "retry link-button", text: "Retry", onclick: () => openThread(t.channel, t.ts) })));
}

// threadParentGone stands in for a thread's first message, deleted while
// its replies stay (as Slack shows them).
function threadParentGone(t) {
  const box = $("thread-messages");
  if (!box.querySelector(".thread-gone")) box.prepend(el("div", { class: "thread-gone", text: "This message was deleted." }));
}

function closeThread() {
  S.thread = null;
  $("thread").hidden = true;
  document.body.classList.remove("in-thread");
}

function upsertThreadMessage(m) {
  const t = S.thread;
  if (!t || m.channel !== t.channel || (m.ts !== t.ts && m.thread_ts !== t.ts)) return;
  const box = $("thread-messages");
  let old = m.ts ? t.els.get(m.ts) : null;
  if (!old && m.client_msg_id) old = box.querySelector(`.msg[data-client-msg-id="${CSS.escape(m.client_msg_id)}"]`);
  if (m.ts) {
    const known = t.msgs.get(m.ts);
    if (known && !m.pending) m = { ...known, ...m, reactions: m.reactions ?? known.reactions };
    t.msgs.set(m.ts, m);
  }
  const e = messageEl(m, { inThread: true });
  if (m.ts) t.els.set(m.ts, e);
  if (old && old.dataset.ts === m.ts) old.replaceWith(e);
  else {
    if (old) old.remove();
    if (m.ts) insertByTS(box, e, m.ts);
    else box.append(e);
  }
  regroup(e);
  const s = $("thread-scroller");
  s.scrollTop = s.scrollHeight;
}

// ---------- realtime events ----------

function onStatus(state, info) {
  if (state === "online") {
    banner(false);
    S.presenceSubbed = "";
    subscribePresence();
    $("self-presence").dataset.presence = "active";
    flushOutbox();
  } else if (state === "offline") {
    $("self-presence").dataset.presence = "away";
    banner(true, `Connection lost. Reconnecting in ${Math.ceil(info.retryIn / 1000)} s…`);
  } else if (state === "reconnecting") {
    banner(true, "Connection lost. Reconnecting…");
  }
}

function banner(show, text) {
  const b = $("conn-banner");
  if (text) $("conn-banner-text").textContent = text;
  b.hidden = !show;
  document.body.classList.toggle("offline", show);
}

function noteLatest(m) {
  const ch = S.channels.get(m.channel);
  if (ch && (!ch.latestTS || compareTS(m.ts, ch.latestTS) > 0)) ch.latestTS = m.ts;
}

function onEvent(ev, source) {
  switch (ev.type) {
    case "message":
      if (ev.is_ephemeral) onEphemeral(ev);
      else if (ev.subtype === "message_changed" || ev.subtype === "message_deleted") applyChange(ev);
      else if (!ev.hidden) onMessage(ev, source);
      break;
    case "reaction_added":
    case "reaction_removed":
      applyChange(ev);
      break;
    case "user_typing":
      onTyping(ev);
      break;
    case "import_finished":
      reload();
      break;
    case "presence_change":
      setPresence(ev.user, ev.presence);
      break;
    case "user_change":
    case "team_join":
      // A profile changed (or someone joined): names shown follow.
      if (ev.user && typeof ev.user === "object" && ev.user.id) {
        S.users.set(ev.user.id, ev.user);
        S.usersMissing.delete(ev.user.id);
        refreshNames();
      }
      break;
    case "channel_marked":
    case "im_marked":
    case "group_marked":
    case "mpim_marked": {
      const ch = S.channels.get(ev.channel);
      if (ch) {
        if (ev.ts) ch.lastRead = ev.ts;
        ch.unread = typeof ev.unread_count_display === "number" ? ev.unread_count_display : 0;
        if (typeof ev.mention_count === "number") ch.mentions = ev.mention_count;
        else if (!ch.unread) ch.mentions = 0;
        else S.api.call("conversations.info", { channel: ch.id }).then((r) => {
          ch.mentions = r.channel.mention_count || 0;
          renderSidebar();
        }, () => {});
        renderSidebar();
      }
      break;
    }
    case "channel_joined":
    case "im_created":
    case "group_joined":
      if (ev.channel && typeof ev.channel === "object") {
        addChannel(ev.channel);
        renderSidebar();
        // The connection receives the channel from this event on; what was
        // posted between the join and now comes by catching up from the
        // latest_seq the event carries.
        S.rtm.enqueueCatchUp(ev.channel.id);
      }
      break;
    case "channel_left":
    case "group_left": {
      S.channels.delete(ev.channel);
      S.rtm.untrack(ev.channel);
      if (S.cur?.id === ev.channel) showEmpty();
      renderSidebar();
      break;
    }
    case "channel_topic":
    case "channel_purpose":
    case "group_topic":
    case "group_purpose":
    case "channel_archive":
    case "channel_unarchive":
    case "group_archive":
    case "group_unarchive":
      onChannelChanged(ev);
      break;
    case "member_joined_channel":
    case "member_left_channel": {
      const ch = S.channels.get(ev.channel);
      if (ch) {
        ch.numMembers += ev.type === "member_joined_channel" ? 1 : -1;
        // The line is the channel_join or channel_leave message that
        // comes with the change, stored in the history.
        if (S.cur?.id === ev.channel) renderHeader();
      }
      break;
    }
  }
}

// onEphemeral shows a chat.postEphemeral message, meant for this user
// only, in the open conversation (or its open thread), marked "Only
// visible to you". It is never kept: not in the conversation's messages,
// its latest or unread count, and gone once the conversation is left, as
// in Slack.
function onEphemeral(m) {
  const t = S.thread;
  let box = null;
  if (isReply(m)) {
    if (t && t.channel === m.channel && t.ts === m.thread_ts) box = $("thread-messages");
  } else if (S.cur?.id === m.channel) {
    box = $("messages");
  }
  if (!box) return;
  const e = messageEl(m, { inThread: box.id === "thread-messages", ephemeral: true });
  insertByTS(box, e, m.ts);
  regroup(e);
  const s = box.id === "thread-messages" ? $("thread-scroller") : $("scroller");
  s.scrollTop = s.scrollHeight;
}

function onMessage(m, source) {
  const ch = S.channels.get(m.channel);
  if (!ch) return;
  clearTyping(m.channel, m.user);
  if (m.client_msg_id && m.user === S.self.id) {
    S.pending.delete(m.client_msg_id);
    S.outbox.remove(m.client_msg_id);
  }
  if (isReply(m)) {
    upsertThreadMessage(m);
    const cur = S.cur;
    const parent = cur && cur.id === m.channel ? cur.msgs.get(m.thread_ts) : null;
    if (parent && source === "live") {
      upsertMessage({ ...parent, reply_count: (parent.reply_count || 0) + 1, latest_reply: m.ts });
    } else if (parent) {
      refreshParent(m.channel, m.thread_ts);
    }
    return;
  }
  noteLatest(m);
  const open = S.cur?.id === m.channel && S.cur.atEnd;
  if (open) {
    upsertMessage(m);
    subscribePresence();
    if (document.visibilityState === "visible") scheduleMark();
    else bumpUnread(ch, m);
  } else {
    bumpUnread(ch, m);
  }
}

function bumpUnread(ch, m) {
  if (m.user === S.self.id) return;
  ch.unread++;
  // A muted channel counts only a mention by name, as the server does; a
  // system line (a topic naming you) mentions no one.
  if (!SYSTEM[m.subtype] && mentionsMe(ch, m) && !(ch.muted && ch.kind === "channel" && !namesMe(m))) {
    ch.mentions++;
    notify(ch, m);
  }
  renderSidebar();
}

// ---------- notifications ----------

// The browser's notifications, for a mention or a DM that arrives while
// the tab is hidden or another conversation is open (bumpUnread). The
// permission is asked when the person clicks the sidebar's button, never
// on load. A muted conversation notifies only a mention by name.
function notificationsOffered() {
  const b = $("enable-notifications");
  b.hidden = !("Notification" in window) || Notification.permission !== "default";
  b.onclick = () => Notification.requestPermission().then(notificationsOffered, notificationsOffered);
}

async function notify(ch, m) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const t = m.text || "";
  if (ch.muted && !namesMe(m)) return;
  await namesOf(m);
  const from = displayName(m.user);
  const title = ch.kind === "channel" ? `${from} in ${prefix(ch)}${channelLabel(ch)}` : from;
  // The text as the message shows it, as plain text: names, not ids, and
  // no *markup*.
  const shown = document.createElement("div");
  renderText(shown, t, displayName, channelName);
  const body = shown.textContent.slice(0, 200);
  const n = new Notification(title, { body, tag: `${m.channel}/${m.ts}` });
  n.onclick = () => {
    window.focus();
    openChannel(m.channel, { at: m.thread_ts && m.thread_ts !== m.ts ? "" : m.ts });
    if (m.thread_ts && m.thread_ts !== m.ts) openThread(m.channel, m.thread_ts);
    n.close();
  };
}

// namesOf loads the people a message names, its poster and its <@U…>,
// when the client does not know them yet (it knows people one by one):
// a notification, shown once, shows their names, never "…".
function namesOf(m) {
  const ids = [m.user, ...[...(m.text || "").matchAll(/<@([UW][A-Z0-9]+)/g)].map((x) => x[1])];
  return Promise.all(ids.filter(Boolean).map((id) => (user(id), S.userFetches.get(id))));
}

// mentionsMe reports whether a new message counts as a mention of this
// user, as the server counts them: in a DM or group DM every message; else
// <@me> or a channel-wide mention in its text.
function mentionsMe(ch, m) {
  if (ch.kind !== "channel") return true;
  return namesMe(m) || /<!(channel|everyone|here)(\|[^>]*)?>/.test(m.text || "");
}

// setMentions takes a conversation's mention count from client.catchup.
function setMentions(id, n) {
  const ch = S.channels.get(id);
  if (ch && ch.mentions !== n) { ch.mentions = n; renderSidebar(); }
}

// namesMe reports whether a message mentions this user by name (<@me>).
function namesMe(m) {
  const t = m.text || "";
  return t.includes(`<@${S.self.id}>`) || t.includes(`<@${S.self.id}|`);
}

// refreshParent reloads a thread parent (its reply count) after a catch-up.
async function refreshParent(channel, ts) {
  try {
    const r = await S.api.call("conversations.history", { channel, latest: ts, inclusive: true, limit: 1 });
    const m = r.messages[0];
    if (m && m.ts === ts && S.cur?.id === channel && S.cur.msgs.has(ts)) upsertMessage({ ...m, channel });
  } catch { /* best effort */ }
}

// applyChange applies an edit, a delete or a reaction to the open
// conversation and thread. Each is idempotent: a change may arrive twice
// (our own answer, the live event, a catch-up).
function applyChange(ev) {
  const channel = ev.item?.channel || ev.channel;
  const cur = S.cur && S.cur.id === channel ? S.cur : null;
  if (cur && cur.replay && !cur.replaying) cur.replay.push(ev);
  const targets = [];
  if (cur) targets.push([cur.msgs, upsertMessage, removeMessage]);
  if (S.thread && S.thread.channel === channel) targets.push([S.thread.msgs, upsertThreadMessage, removeThreadMessage]);
  for (const [msgs, upsert, remove] of targets) {
    if (ev.subtype === "message_changed") {
      const m = ev.message;
      const known = msgs.get(m.ts);
      if (known) upsert({ ...known, text: m.text, edited: m.edited || known.edited, channel });
    } else if (ev.subtype === "message_deleted") {
      const ts = ev.deleted_ts || ev.ts;
      if (msgs.has(ts)) remove(ts);
    } else if (ev.type === "reaction_added" || ev.type === "reaction_removed") {
      const known = msgs.get(ev.item.ts);
      if (!known) continue;
      const reactions = (known.reactions || []).map((r) => ({ ...r, users: [...(r.users || [])] }));
      let r = reactions.find((x) => x.name === ev.reaction);
      if (ev.type === "reaction_added") {
        if (!r) reactions.push((r = { name: ev.reaction, count: 0, users: [] }));
        if (r.users.includes(ev.user)) continue;
        r.users.push(ev.user);
        r.count++;
      } else {
        if (!r || !r.users.includes(ev.user)) continue;
        r.users = r.users.filter((u) => u !== ev.user);
        r.count--;
      }
      upsert({ ...known, reactions: reactions.filter((x) => x.count > 0), channel });
    }
  }
}

function removeThreadMessage(ts) {
  const t = S.thread;
  const e = t.els.get(ts);
  t.msgs.delete(ts);
  t.els.delete(ts);
  if (ts === t.ts) closeThread();
  else if (e) e.remove();
}

// ---------- typing ----------

function onTyping(ev) {
  if (ev.user === S.self.id) return;
  let m = S.typing.get(ev.channel);
  if (!m) S.typing.set(ev.channel, (m = new Map()));
  clearTimeout(m.get(ev.user));
  m.set(ev.user, setTimeout(() => clearTyping(ev.channel, ev.user), TYPING_SHOW_MS));
  renderTyping();
}

function clearTyping(channel, userID) {
  const m = S.typing.get(channel);
  if (!m || !m.has(userID)) return;
  clearTimeout(m.get(userID));
  m.delete(userID);
  renderTyping();
}

// renderTyping names who is typing in the open conversation; someone whose
// name is still loading is "Someone" until it comes (refreshNames renders
// again), never their id.
function renderTyping() {
  const m = S.cur ? S.typing.get(S.cur.id) : null;
  const names = m ? [...m.keys()].map(knownName) : [];
  // A name is isolated (<bdi>): a right-to-left mark in it must not turn
  // the words after it around.
  const name = (n) => el("bdi", { text: n });
  $("typing").replaceChildren(...(names.length === 0 ? []
    : names.length === 1 ? (names[0] ? [name(names[0]), " is typing…"] : ["Someone is typing…"])
    : names.length === 2 && names.every((n) => n) ? [name(names[0]), " and ", name(names[1]), " are typing…"]
    : names.length === 2 ? ["Two people are typing…"]
    : ["Several people are typing…"]));
}

// ---------- read markers ----------

function scheduleMark() {
  clearTimeout(S.markTimer);
  S.markTimer = setTimeout(markRead, 300);
}

function markRead() {
  const cur = S.cur;
  // Away from the live end the newest message shown is not the newest.
  if (!cur || !cur.atEnd || document.visibilityState !== "visible") return;
  const ch = S.channels.get(cur.id);
  let newest = "";
  for (const ts of cur.msgs.keys()) if (!newest || compareTS(ts, newest) > 0) newest = ts;
  if (!newest || ch.markedTS === newest) {
    if (ch.unread || ch.mentions) { ch.unread = 0; ch.mentions = 0; renderSidebar(); }
    return;
  }
  ch.markedTS = newest;
  ch.lastRead = newest;
  ch.unread = 0;
  ch.mentions = 0;
  renderSidebar();
  S.api.call("conversations.mark", { channel: cur.id, ts: newest }).catch(() => { ch.markedTS = ""; });
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") markRead();
});

// ---------- dialogs ----------

function toast(text) {
  const t = el("div", { class: "toast", role: "status", text });
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}

function wireDialog(d) {
  for (const b of d.querySelectorAll(".cancel")) b.onclick = () => d.close();
}

function openCreate() {
  const d = $("dlg-create");
  $("create-name").value = "";
  $("create-private").checked = false;
  $("create-error").hidden = true;
  d.showModal();
  $("create-form").onsubmit = async (e) => {
    e.preventDefault();
    const name = $("create-name").value.trim().toLowerCase().replace(/\s+/g, "-");
    try {
      const r = await S.api.call("conversations.create", { name, is_private: $("create-private").checked });
      addChannel(r.channel);
      d.close();
      openChannel(r.channel.id);
    } catch (ex) {
      $("create-error").textContent = { name_taken: "A channel with that name already exists.", invalid_name: "Use lowercase letters, digits, '-' and '_' (no spaces or periods)." }[ex.code] || `Could not create it (${ex.code}).`;
      $("create-error").hidden = false;
    }
  };
}

async function openBrowse() {
  const d = $("dlg-browse");
  const list = $("browse-list");
  list.replaceChildren(el("li", { class: "hint", text: "Loading…" }));
  $("browse-filter").value = "";
  d.showModal();
  const all = [];
  let cursor = "";
  for (let i = 0; i < 20; i++) {
    try {
      const r = await S.api.call("conversations.list", { types: "public_channel", exclude_archived: true, limit: 500, cursor });
      all.push(...r.channels);
      cursor = r.response_metadata?.next_cursor || "";
      if (!cursor) break;
    } catch {
      break;
    }
  }
  const draw = () => {
    const q = $("browse-filter").value.trim().toLowerCase();
    list.replaceChildren(...all.filter((c) => c.name.includes(q)).sort((a, b) => a.name.localeCompare(b.name)).map((c) => {
      const member = S.channels.has(c.id);
      return el("li", { dataset: { channelId: c.id } },
        el("div", { class: "pick-main" }, el("strong", { text: `#${c.name}` }), el("span", { class: "hint", text: ` ${memberCount(c.num_members)}${c.purpose?.value ? " · " + c.purpose.value : ""}` })),
        el("button", {
          type: "button", class: member ? "" : "primary", text: member ? "Open" : "Join",
          onclick: async () => {
            try {
              if (!member) {
                const r = await S.api.call("conversations.join", { channel: c.id });
                addChannel(r.channel);
              }
              d.close();
              openChannel(c.id);
            } catch (ex) {
              toast(`Could not join (${ex.code}).`);
            }
          },
        }));
    }));
    if (!list.children.length) list.append(el("li", { class: "hint", text: "No channels match." }));
  };
  $("browse-filter").oninput = draw;
  draw();
}

function openNewDM() {
  const d = $("dlg-dm");
  const picked = new Set();
  $("dm-filter").value = "";
  $("dm-error").hidden = true;
  // What the client knows shows at once; users.search's answer for what
  // is typed comes first when it arrives.
  let found = { q: "", users: [] };
  const ask = searcher(S.api, rememberUser);
  const draw = () => {
    const q = $("dm-filter").value.trim().toLowerCase();
    const known = [...S.users.values()].filter((u) => !q || u.name.includes(q) || (u.real_name || "").toLowerCase().includes(q) || matches(u, q))
      .sort((a, b) => a.name.localeCompare(b.name));
    const users = merged(found.q === q ? found.users : [], known).filter((u) => u.id !== S.self.id && !u.deleted);
    if (!q) ask("");
    else if (found.q !== q) {
      ask(q, "", (us) => {
        found = { q, users: us };
        if ($("dm-filter").value.trim().toLowerCase() === q) draw();
      });
    }
    $("dm-list").replaceChildren(...users.slice(0, 200).map((u) =>
      el("li", { dataset: { userId: u.id } }, el("label", { class: "check" },
        el("input", { type: "checkbox", checked: picked.has(u.id), onchange: (e) => { if (e.target.checked) picked.add(u.id); else picked.delete(u.id); } }),
        el("span", { class: "presence small", dataset: { user: u.id, presence: S.presence.get(u.id) || "away" } }),
        el("span", { text: displayName(u.id) }), el("span", { class: "hint", text: ` @${u.name}` })))));
  };
  $("dm-filter").oninput = draw;
  draw();
  d.showModal();
  $("dm-form").onsubmit = async (e) => {
    e.preventDefault();
    if (picked.size === 0 || picked.size > 8) {
      $("dm-error").textContent = "Pick one to eight people.";
      $("dm-error").hidden = false;
      return;
    }
    try {
      const r = await S.api.call("conversations.open", { users: [...picked].join(",") });
      if (!S.channels.has(r.channel.id)) {
        const info = await S.api.call("conversations.info", { channel: r.channel.id });
        addChannel(info.channel);
      }
      d.close();
      openChannel(r.channel.id);
    } catch (ex) {
      $("dm-error").textContent = `Could not open it (${ex.code}).`;
      $("dm-error").hidden = false;
    }
  };
}

function openSwitcher() {
  const d = $("dlg-switcher");
  const input = $("switcher-input");
  const list = $("switcher-list");
  let sel = 0;
  let items = [];
  const draw = () => {
    const q = input.value.trim().toLowerCase();
    items = sortedChannels()
      .filter((c) => channelLabel(c).toLowerCase().includes(q))
      .sort((a, b) => (b.unread > 0) - (a.unread > 0) || b.starred - a.starred);
    sel = Math.min(sel, Math.max(items.length - 1, 0));
    list.replaceChildren(...items.slice(0, 50).map((c, i) => el("li", {
      role: "option", id: `sw-${c.id}`, "aria-selected": i === sel, dataset: { channelId: c.id },
      class: c.unread && !c.muted ? "unread" : "",
      onclick: () => { d.close(); openChannel(c.id); },
    }, el("span", { class: "chan-icon", text: prefix(c) || "@" }), el("span", { text: channelLabel(c) }))));
    input.setAttribute("aria-activedescendant", items[sel] ? `sw-${items[sel].id}` : "");
  };
  input.value = "";
  input.oninput = () => { sel = 0; draw(); };
  input.onkeydown = (e) => {
    if (e.key === "ArrowDown") { sel = Math.min(sel + 1, items.length - 1); draw(); e.preventDefault(); }
    if (e.key === "ArrowUp") { sel = Math.max(sel - 1, 0); draw(); e.preventDefault(); }
    if (e.key === "Enter" && items[sel]) { e.preventDefault(); d.close(); openChannel(items[sel].id); }
    // One Escape closes (a search field's own first Escape would only
    // clear what is typed).
    if (e.key === "Escape") { e.preventDefault(); d.close(); }
  };
  draw();
  d.showModal();
  input.focus();
}

// ---------- search ----------

// The search dialog sends the query as typed (its modifiers, from:@name
// in:#channel and the rest, are the server's to read: search.messages) and
// shows a page of results grouped by conversation, the matched words
// marked. Picking a result opens its conversation at it.
const SEARCH_PAGE = 20;
const SR = { query: "", page: 1, pages: 0, matches: [], sel: -1, timer: null, seq: 0 };

function openSearch() {
  const d = $("dlg-search");
  if (!d.open) d.showModal();
  const input = $("search-input");
  input.focus();
  input.select();
}

async function runSearch(page = 1) {
  const query = $("search-input").value.trim();
  clearTimeout(SR.timer);
  const seq = ++SR.seq;
  const status = $("search-status");
  if (!query) {
    SR.query = "";
    SR.matches = [];
    status.textContent = "";
    $("search-results").replaceChildren();
    $("search-pager").hidden = true;
    return;
  }
  status.textContent = "Searching…";
  let r;
  try {
    r = await S.api.call("search.messages", { query, count: SEARCH_PAGE, page, highlight: true });
  } catch (e) {
    if (seq !== SR.seq) return;
    status.textContent = e.code === "invalid_query" ? "That search cannot be read: check its quotes and modifiers."
      : `Could not search (${e.code}).`;
    return;
  }
  if (seq !== SR.seq) return; // a later search overtook this one
  const paging = r.messages?.paging || {};
  SR.query = query;
  SR.page = paging.page || page;
  SR.pages = paging.pages || 0;
  // Grouped by conversation, each group where its first result ranks; the
  // keyboard moves through them in the order shown.
  const groups = new Map();
  for (const m of r.messages?.matches || []) {
    const id = m.channel?.id || "";
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(m);
  }
  SR.matches = [...groups.values()].flat();
  SR.sel = SR.matches.length ? 0 : -1;
  const total = paging.total ?? r.messages?.total ?? SR.matches.length;
  // The server counts up to 10,000 matches and says 10,000 past that.
  status.textContent = total === 0 ? "No messages match." :
    total >= SEARCH_COUNT_CAP ? `${SEARCH_COUNT_CAP.toLocaleString("en")}+ results` :
    `${total} ${total === 1 ? "result" : "results"}`;
  renderSearch();
}

function searchPlace(m) {
  const c = m.channel || {};
  const ch = S.channels.get(c.id);
  if (ch) return `${prefix(ch)}${channelLabel(ch)}`;
  if (c.is_im) return displayName(c.user || c.name);
  if (c.is_mpim) return "Group message";
  return `${c.is_private ? "🔒\u2009" : "#"}${c.name || channelName(c.id) || "channel"}`;
}

function renderSearch() {
  const box = $("search-results");
  const groups = new Map(); // channel id → its results (SR.matches holds them grouped)
  SR.matches.forEach((m, i) => {
    const id = m.channel?.id || "";
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push([m, i]);
  });
  box.replaceChildren(...[...groups.values()].map((list) => {
    const place = searchPlace(list[0][0]);
    return el("section", { class: "search-group", role: "group", "aria-label": place },
      el("h3", { role: "presentation", text: place }), // a listbox holds groups of options only: the group is labelled
      ...list.map(([m, i]) => {
        const text = el("div", { class: "text" });
        renderHighlighted(text, m.text || "", displayName, channelName);
        const who = m.user ? displayName(m.user) : m.username || "unknown";
        return el("div", {
          class: "search-hit", role: "option", id: `search-hit-${i}`, "aria-selected": i === SR.sel ? "true" : "false",
          dataset: { channelId: m.channel?.id || "", ts: m.ts },
          onclick: () => openResult(m),
          onmousemove: () => { if (SR.sel !== i) selectResult(i); },
        }, avatar(m.user || ""), el("div", { class: "msg-body" },
          el("div", { class: "msg-head" },
            el("span", { class: "author", text: who, ...(m.user ? { dataset: { userName: m.user } } : {}) }),
            m.ts ? el("time", { class: "time", datetime: tsDate(m.ts).toISOString(), title: tsDate(m.ts).toLocaleString(), text: `${dayOf(m.ts)} ${timeOf(m.ts)}` }) : ""),
          text));
      }));
  }));
  // A result is an option, chosen from the search box (arrows, Enter),
  // and an option holds nothing interactive: the links of its text show
  // as text (they are links once the message is open).
  for (const a of box.querySelectorAll("a")) a.replaceWith(el("span", { class: a.className || "link", text: a.textContent }));
  $("search-input").setAttribute("aria-activedescendant", SR.sel >= 0 ? `search-hit-${SR.sel}` : "");
  box.dataset.query = SR.query;
  box.dataset.page = String(SR.page);
  $("search-pager").hidden = SR.pages <= 1;
  $("search-page").textContent = `Page ${SR.page} of ${SR.pages}`;
  $("search-prev").disabled = SR.page <= 1;
  $("search-next").disabled = SR.page >= SR.pages;
  box.scrollTop = 0;
}

function selectResult(i) {
  SR.sel = i;
  for (const e of $("search-results").querySelectorAll(".search-hit")) e.setAttribute("aria-selected", e.id === `search-hit-${i}` ? "true" : "false");
  const e = $(`search-hit-${i}`);
  if (e) e.scrollIntoView({ block: "nearest" });
  $("search-input").setAttribute("aria-activedescendant", e ? e.id : "");
}

// openResult opens a result's conversation at it; a thread reply opens
// its thread too, over its parent.
async function openResult(m) {
  const channel = m.channel?.id;
  if (!channel || !m.ts) return;
  $("dlg-search").close();
  let thread = m.thread_ts && m.thread_ts !== m.ts ? m.thread_ts : "";
  if (!thread && m.permalink) {
    try {
      const t = new URL(m.permalink, location.href).searchParams.get("thread_ts");
      if (t && t !== m.ts) thread = t;
    } catch { /* no thread */ }
  }
  if (await openAnywhere(channel, { at: thread || m.ts }) && thread) openThread(channel, thread);
}

function wireSearch() {
  const input = $("search-input");
  $("open-search").onclick = openSearch;
  $("search-form").onsubmit = (e) => { e.preventDefault(); runSearch(1); };
  input.addEventListener("input", () => {
    clearTimeout(SR.timer);
    SR.timer = setTimeout(() => runSearch(1), 300);
  });
  input.addEventListener("keydown", (e) => {
    const n = SR.matches.length;
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && n) {
      e.preventDefault();
      selectResult(((SR.sel < 0 ? 0 : SR.sel + (e.key === "ArrowDown" ? 1 : -1)) + n) % n);
    } else if (e.key === "Escape") {
      // Closes at once (a search field's own Escape would first clear it).
      e.preventDefault();
      $("dlg-search").close();
    } else if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      // Enter searches for what is typed; once its results are shown, it
      // opens the one selected.
      if (input.value.trim() === SR.query && SR.sel >= 0) openResult(SR.matches[SR.sel]);
      else runSearch(1);
    }
  });
  $("search-prev").onclick = () => runSearch(Math.max(SR.page - 1, 1));
  $("search-next").onclick = () => runSearch(SR.page + 1);
}

// ---------- topic, purpose and system lines ----------

// topicEditable reports whether this user may change ch's topic and
// purpose from the header: a channel they are in and that is not archived
// (a DM or group DM has none).
function topicEditable(ch) {
  return !!ch && ch.kind === "channel" && !ch.preview && !ch.archived;
}

// renderTopic fills the header's topic line: the topic, else the member
// count; on a channel one may edit, it is a button that edits it in place.
// The purpose is its tooltip and in "About this channel". An edit under
// way is left alone (a live change shows once it ends), unless another
// conversation is open now.
function renderTopic(ch) {
  const t = $("channel-topic");
  $("about-toggle").hidden = !ch || ch.kind !== "channel";
  if (t.classList.contains("editing")) {
    if (t.dataset.editing === ch?.id) return;
    t.classList.remove("editing");
  }
  const editable = topicEditable(ch);
  t.textContent = !ch ? "" : ch.topic || (ch.kind === "channel" && ch.numMembers ? memberCount(ch.numMembers) : "");
  t.classList.toggle("editable", editable);
  for (const [k, v] of Object.entries({ role: "button", tabindex: "0", "aria-label": `Topic: ${ch?.topic || "none"}. Edit the topic` })) {
    if (editable) t.setAttribute(k, v);
    else t.removeAttribute(k);
  }
  t.title = !ch ? "" : [editable ? "Click to edit the topic" : "", ch.purpose ? `Purpose: ${ch.purpose}` : ""].filter(Boolean).join("\n");
}

// editTopic turns the header's topic into an input: Enter saves it
// (conversations.setTopic), Escape or leaving it cancels; an error shows
// under it and keeps what was typed.
function editTopic() {
  const ch = S.channels.get(S.cur?.id);
  const t = $("channel-topic");
  if (!topicEditable(ch) || t.classList.contains("editing")) return;
  const input = el("input", { id: "topic-input", value: ch.topic, placeholder: "Add a topic", autocomplete: "off", "aria-label": `Topic of #${ch.name}`, "aria-describedby": "topic-error" });
  const err = el("span", { id: "topic-error", class: "error", role: "alert" });
  let saving = false;
  const done = () => {
    t.classList.remove("editing");
    renderHeader();
  };
  input.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      done();
      t.focus();
    } else if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      if (saving) return;
      saving = true;
      try {
        const r = await S.api.call("conversations.setTopic", { channel: ch.id, topic: input.value.trim() });
        ch.topic = r.channel?.topic?.value ?? input.value.trim();
        done();
        t.focus();
      } catch (ex) {
        err.textContent = textError(ex, "topic");
      } finally {
        saving = false;
      }
    }
  });
  input.addEventListener("blur", () => { if (!saving && t.contains(input)) done(); });
  t.classList.add("editing");
  t.dataset.editing = ch.id;
  for (const k of ["role", "tabindex", "aria-label", "title"]) t.removeAttribute(k);
  t.replaceChildren(input, err);
  input.focus();
  input.select();
}

// textError says why a topic or purpose was not saved.
function textError(ex, what) {
  return {
    too_long: `The ${what} can be at most 250 characters.`,
    is_archived: `This channel is archived: its ${what} cannot change.`,
    not_in_channel: `Join the channel to change its ${what}.`,
    channel_not_found: "This channel no longer exists.",
  }[ex.code] || (ex.code === "network" ? `Could not save the ${what}: no connection. Try again.` : `Could not save the ${what} (${ex.code}).`);
}

// openAbout shows "About this channel": its topic and purpose, which a
// member changes there (conversations.setTopic, .setPurpose).
function openAbout() {
  const ch = S.channels.get(S.cur?.id);
  if (!ch || ch.kind !== "channel") return;
  const d = $("dlg-about");
  const editable = topicEditable(ch);
  $("h-about").textContent = `About #${ch.name}`;
  $("about-topic").value = ch.topic;
  $("about-purpose").value = ch.purpose;
  $("about-topic").readOnly = $("about-purpose").readOnly = !editable;
  $("about-save").hidden = !editable;
  $("about-meta").textContent = [ch.numMembers ? memberCount(ch.numMembers) : "", ch.archived ? "Archived" : "", ch.preview ? "You are not in this channel" : ""].filter(Boolean).join(" · ");
  $("about-error").hidden = true;
  d.showModal();
  $("about-form").onsubmit = async (e) => {
    e.preventDefault();
    const topic = $("about-topic").value.trim();
    const purpose = $("about-purpose").value.trim();
    let what = "topic";
    try {
      if (topic !== ch.topic) {
        const r = await S.api.call("conversations.setTopic", { channel: ch.id, topic });
        ch.topic = r.channel?.topic?.value ?? topic;
      }
      what = "purpose";
      if (purpose !== ch.purpose) {
        const r = await S.api.call("conversations.setPurpose", { channel: ch.id, purpose });
        ch.purpose = r.channel?.purpose?.value ?? purpose;
      }
      d.close();
      if (S.cur?.id === ch.id) renderHeader();
    } catch (ex) {
      $("about-error").textContent = textError(ex, what);
      $("about-error").hidden = false;
    }
  };
}

// onChannelChanged takes a channel's new topic, purpose or archived flag
// from its event (each carries the current topic and purpose) and says
// what changed in the conversation.
function onChannelChanged(ev) {
  const ch = S.channels.get(ev.channel);
  if (!ch) return;
  const kind = ev.type.replace(/^group_/, "channel_");
  ch.topic = ev.topic || "";
  ch.purpose = ev.purpose || "";
  if (kind === "channel_archive") ch.archived = true;
  if (kind === "channel_unarchive") ch.archived = false;
  if (S.cur?.id === ev.channel) renderHeader();
  // A topic or purpose line is the channel_topic or channel_purpose
  // message that comes with the change, stored in the history.
  if (kind === "channel_archive" || kind === "channel_unarchive") systemLine({ subtype: kind, user: ev.user, channel: ev.channel });
}

// SYSTEM says, for each of Slack's subtypes of a message about the
// conversation itself, what happened.
const SYSTEM = {
  channel_join: (m, where) => `joined ${where}`,
  channel_leave: (m, where) => `left ${where}`,
  channel_topic: (m) => (m.topic ? `set the topic: ${m.topic}` : "cleared the topic"),
  channel_purpose: (m) => (m.purpose ? `set the purpose: ${m.purpose}` : "cleared the purpose"),
  channel_name: (m) => `renamed the channel to #${m.name || ""}`,
  channel_archive: (m, where) => `archived ${where}`,
  channel_unarchive: (m, where) => `unarchived ${where}`,
};

// systemEl is a compact line about the conversation ("alice joined
// #plaza"): no avatar, never grouped, no message actions.
function systemEl(m) {
  const ch = S.channels.get(m.channel || S.cur?.id);
  const where = ch ? `${prefix(ch)}${channelLabel(ch)}` : "the channel";
  const what = SYSTEM[m.subtype](m, where);
  const art = el("article", { class: "msg system", dataset: { user: "", subtype: m.subtype, ...(m.ts ? { ts: m.ts } : {}) } });
  const line = el("div", { class: "system-text" },
    el("span", { class: "author", dataset: { userName: m.user || "" }, text: displayName(m.user) }),
    ` ${what}`);
  if (m.ts) line.append(" ", el("time", { class: "time", datetime: tsDate(m.ts).toISOString(), title: tsDate(m.ts).toLocaleString(), text: timeOf(m.ts) }));
  art.append(line);
  return art;
}

// systemLine shows a change of the open conversation, told by an event
// rather than a message (an archive), as a system line at its live end.
// It is not kept: the server stores no message for it. Joins, leaves,
// topics and purposes are stored messages instead, drawn by systemEl.
function systemLine(m) {
  const cur = S.cur;
  if (!cur || cur.id !== m.channel || !cur.atEnd || !m.user) return;
  const box = $("messages");
  const last = [...box.querySelectorAll(":scope > [data-ts]")].pop()?.dataset.ts;
  let sec = Date.now() / 1000;
  if (last && Number(last) >= sec) sec = Number(last) + 0.000001;
  const ts = sec.toFixed(6);
  const stick = nearBottom($("scroller"));
  const e = systemEl({ ...m, ts });
  insertByTS(box, e, ts);
  regroup(e);
  if (e.nextElementSibling) regroup(e.nextElementSibling);
  if (stick) $("scroller").scrollTop = $("scroller").scrollHeight;
}

// typingIn reports whether e is a text field in which a key types.
function typingIn(e) {
  return e && (e.tagName === "TEXTAREA" || e.isContentEditable || (e.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(e.type)));
}

// ---------- your profile ----------

// The profile dialog (your name in the sidebar opens it) sets your display
// name and status (users.profile.set); everyone's clients follow through
// user_change. A status shows as its emoji beside your name, its text on
// hover.
function openProfile() {
  const d = $("dlg-profile");
  const p = S.users.get(S.self.id)?.profile || {};
  $("profile-display").value = p.display_name || "";
  $("profile-status-emoji").value = p.status_emoji || "";
  $("profile-status-text").value = p.status_text || "";
  $("profile-error").hidden = true;
  d.showModal();
  $("profile-form").onsubmit = async (e) => {
    e.preventDefault();
    const profile = {
      display_name: $("profile-display").value.trim(),
      status_emoji: $("profile-status-emoji").value.trim(),
      status_text: $("profile-status-text").value.trim(),
    };
    try {
      const r = await S.api.call("users.profile.set", { profile: JSON.stringify(profile) });
      const u = S.users.get(S.self.id) || S.self;
      S.users.set(S.self.id, { ...u, profile: { ...u.profile, ...r.profile } });
      refreshNames();
      d.close();
    } catch (ex) {
      $("profile-error").textContent = `Could not save (${ex.code || ex}).`;
      $("profile-error").hidden = false;
    }
  };
}

// statusOf fills a status element with a user's status emoji, its text as
// the element's title and label; empty when they have none.
function statusOf(e, id) {
  const p = S.users.get(id)?.profile || {};
  const name = (p.status_emoji || "").replace(/^:|:$/g, "");
  e.textContent = name ? emoji(name) : "";
  if (p.status_text || name) {
    e.title = p.status_text || `:${name}:`;
    e.setAttribute("aria-label", `status: ${p.status_text || name}`);
  } else {
    e.removeAttribute("title");
    e.removeAttribute("aria-label");
  }
}

// ---------- messages from the keyboard ----------

// A message list is one stop in the Tab order: one of its messages (the
// newest, or the one last moved to) is tabbable, the others are reached
// with the arrows (a roving tabindex). On a message, E edits it (yours),
// R reacts, T opens its thread, Delete deletes it (yours), Enter moves
// into its actions (Escape back), Escape goes to the message box.
function wireMessageKeys(list, boxID) {
  const rove = (records) => {
    // A message's own controls (its actions, reactions, replies, links)
    // are out of the Tab order until Enter opens them: the list is one
    // Tab stop, not four per message.
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1 || n.closest(".msg")?.dataset.open) continue;
        if (n.matches(MSG_CONTROLS)) n.tabIndex = -1;
        for (const c of n.querySelectorAll(MSG_CONTROLS)) c.tabIndex = -1;
      }
    }
    for (const m of list.querySelectorAll(".msg:not([tabindex])")) m.tabIndex = -1;
    const cur = list.querySelector('.msg[tabindex="0"]');
    if (cur && list.moved === cur) return; // the one the reader moved to stays
    const last = [...list.querySelectorAll(".msg")].pop();
    if (cur && cur !== last) cur.tabIndex = -1;
    if (last) last.tabIndex = 0;
  };
  new MutationObserver(rove).observe(list, { childList: true, subtree: true });
  // Focus leaving an opened message closes its controls again.
  list.addEventListener("focusout", (e) => {
    const art = e.target.closest?.(".msg");
    if (art?.dataset.open && !art.contains(e.relatedTarget)) {
      delete art.dataset.open;
      for (const c of art.querySelectorAll(MSG_CONTROLS)) c.tabIndex = -1;
    }
  });
  list.addEventListener("keydown", (e) => {
    const art = e.target.closest?.(".msg");
    if (!art || !list.contains(art) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target !== art) { // in the message's actions
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        focusMessage(list, art);
      }
      return;
    }
    const msgs = [...list.querySelectorAll(".msg")];
    const i = msgs.indexOf(art);
    const act = (name) => {
      const b = art.querySelector(`[data-action="${name}"]`);
      if (b) {
        e.preventDefault();
        b.click();
      }
    };
    switch (e.key) {
      case "ArrowUp": e.preventDefault(); if (i > 0) focusMessage(list, msgs[i - 1]); break;
      case "ArrowDown": e.preventDefault(); if (i < msgs.length - 1) focusMessage(list, msgs[i + 1]); break;
      case "Home": e.preventDefault(); focusMessage(list, msgs[0]); break;
      case "End": e.preventDefault(); focusMessage(list, msgs[msgs.length - 1]); break;
      case "e": act("edit"); break;
      case "r": act("react"); break;
      case "t": act("thread"); break;
      case "Delete": case "Backspace": act("delete"); break;
      case "Enter": {
        const b = art.querySelector(".msg-tools button, .thread-link, .reaction, a");
        if (b) {
          e.preventDefault();
          art.dataset.open = "1"; // Tab moves among its controls
          for (const c of art.querySelectorAll(MSG_CONTROLS)) c.tabIndex = 0;
          b.focus();
        }
        break;
      }
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        $(boxID).focus();
        break;
    }
  });
}

// MSG_CONTROLS are the focusable things inside a message.
const MSG_CONTROLS = "button, a[href], [tabindex]:not(.msg)";

function focusMessage(list, art) {
  for (const m of list.querySelectorAll('.msg[tabindex="0"]')) m.tabIndex = -1;
  art.tabIndex = 0;
  list.moved = art;
  art.focus();
  art.scrollIntoView({ block: "nearest" });
}

// ---------- wiring ----------

let wired = false;
function wireUI() {
  if (wired) return;
  wired = true;
  $("composer").onsubmit = (e) => { e.preventDefault(); submitComposer(); };
  notificationsOffered();
  $("composer-input").addEventListener("keydown", (e) => onMentionKey(e) || onComposerKey(e, submitComposer));
  $("composer-input").addEventListener("input", (e) => { saveDraft(e.target); autoGrow(e.target); updateMentionMenu(e.target); if (S.cur && e.target.value) sendTyping(S.cur.id); });
  $("thread-composer").onsubmit = (e) => { e.preventDefault(); submitThread(); };
  $("thread-input").addEventListener("keydown", (e) => onMentionKey(e) || onComposerKey(e, submitThread));
  $("thread-input").addEventListener("input", (e) => { saveDraft(e.target); autoGrow(e.target); updateMentionMenu(e.target); if (S.thread && e.target.value) sendTyping(S.thread.channel); });
  for (const id of ["composer-input", "thread-input"]) $(id).addEventListener("blur", () => { $("mention-menu").hidden = true; });
  for (const b of document.querySelectorAll("[data-emoji-for]")) b.addEventListener("click", () => openEmojiPicker(b, (name) => insertEmoji($(b.dataset.emojiFor), name)));
  $("thread-close").onclick = closeThread;
  wireMessageKeys($("messages"), "composer-input");
  wireMessageKeys($("thread-messages"), "thread-input");
  $("scroller").addEventListener("scroll", onScroll, { passive: true });
  $("conn-retry").onclick = () => S.rtm.retryNow();
  $("logout").onclick = logout;
  $("open-profile").onclick = openProfile;
  $("new-channel").onclick = openCreate;
  $("browse-channels").onclick = openBrowse;
  $("new-dm").onclick = openNewDM;
  $("open-switcher").onclick = openSwitcher;
  wireSearch();
  $("back").onclick = () => document.body.classList.remove("in-pane");
  for (const d of document.querySelectorAll("dialog")) wireDialog(d);
  $("star-toggle").onclick = () => togglePref("starred");
  $("mute-toggle").onclick = () => togglePref("muted");
  $("jump-latest").onclick = jumpToNewest;
  $("about-toggle").onclick = openAbout;
  $("channel-topic").addEventListener("click", (e) => { if (e.target === e.currentTarget) editTopic(); });
  $("channel-topic").addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target === e.currentTarget) { e.preventDefault(); editTopic(); }
  });
  window.addEventListener("hashchange", () => {
    const { id, at } = hashRoute();
    if (S.channels.has(id) || (id && at)) openAnywhere(id, { at });
  });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
      e.preventDefault();
      openSwitcher();
    } else if (!document.querySelector("dialog[open]") && (
      // Ctrl/Cmd+F searches the messages unless one is writing one (then
      // it is the browser's find); / does where it types nothing.
      ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "f" && !(typingIn(e.target) && e.target.value)) ||
      (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !typingIn(e.target)))) {
      e.preventDefault();
      openSearch();
    } else if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      e.preventDefault();
      const ids = [...document.querySelectorAll("#sidebar .chan")].map((a) => a.dataset.channelId);
      const i = ids.indexOf(S.cur?.id);
      const next = ids[(i + (e.key === "ArrowUp" ? -1 : 1) + ids.length) % ids.length];
      if (next) openChannel(next);
    } else if (e.key === "Escape" && S.thread && !document.querySelector("dialog[open]")) {
      closeThread();
      $("composer-input").focus();
    }
  });
}

async function togglePref(which) {
  const ch = S.channels.get(S.cur?.id);
  if (!ch) return;
  ch[which] = !ch[which];
  renderHeader();
  renderSidebar();
  try {
    await S.api.call("conversations.setPrefs", { channel: ch.id, [which === "starred" ? "is_starred" : "is_muted"]: ch[which] });
  } catch (e) {
    ch[which] = !ch[which];
    renderHeader();
    renderSidebar();
    toast(`Could not change it (${e.code}).`);
  }
}

// ---------- start ----------

fillIcons();
// ---------- theme ----------

// The theme follows the system (prefers-color-scheme: app.css picks each
// colour with light-dark()) unless the person picks light or dark with the
// switch beside Log out; the choice is kept in this browser.
const THEME_KEY = "confab.theme";
const THEMES = ["system", "light", "dark"];
const THEME_NAMES = { system: "as the system", light: "light", dark: "dark" };

function applyTheme() {
  const t = localStorage.getItem(THEME_KEY);
  const theme = THEMES.includes(t) ? t : "system";
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const b = $("theme-toggle");
  b.setAttribute("aria-label", `Theme: ${THEME_NAMES[theme]}`);
  b.title = `Theme: ${THEME_NAMES[theme]} (click to change)`;
  return theme;
}

function nextTheme() {
  const next = THEMES[(THEMES.indexOf(applyTheme()) + 1) % THEMES.length];
  if (next === "system") localStorage.removeItem(THEME_KEY);
  else localStorage.setItem(THEME_KEY, next);
  applyTheme();
  toast(`Theme: ${THEME_NAMES[next]}`);
}

applyTheme();
$("theme-toggle").onclick = nextTheme; // now, not once signed in: a click while the rest loads counts
window.addEventListener("storage", (e) => { if (e.key === THEME_KEY) applyTheme(); }); // another tab switched
const session = loadSession();
if (location.pathname === "/claim") showClaim(location.hash.slice(1));
else if (session && session.token) start(session.token);
else showAuth();
