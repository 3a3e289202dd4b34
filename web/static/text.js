// text.js — turns message text into DOM nodes. Text is only ever set with
// textContent or text nodes, and every element is one made here: no HTML
// is parsed. Slack's mrkdwn is understood as Slack's clients show it:
// *bold*, _italic_, ~strike~, `code`, ```code blocks```, > and >>> quotes,
// bulleted and numbered lines, <url|label>, bare http(s):// and www. links,
// :emoji:, and the references <@U…>, <#C…|name> and <!here>. Links open
// http(s) and mailto URLs only, in a new tab without an opener; any other
// URL stays text.

import { emojiChar } from "./emoji.js";

// safeURL returns the normalised URL when it is http, https or mailto,
// else null.
export function safeURL(raw) {
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u.href : null;
  } catch {
    return null;
  }
}

// unescape undoes the only escaping Slack does in message text: &amp;,
// &lt; and &gt; (in one pass, so "&amp;lt;" is "&lt;").
function unescape(s) {
  return s.includes("&") ? s.replace(/&(amp|lt|gt);/g, (_, e) => (e === "amp" ? "&" : e === "lt" ? "<" : ">")) : s;
}

function link(url, label) {
  const href = safeURL(unescape(url));
  if (!href) return document.createTextNode(unescape(label ?? url));
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  a.textContent = unescape(label ?? url);
  return a;
}

function elem(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Search results carry U+E000 … U+E001 around matched words (see
// renderHighlighted): formatting looks through them.
const isMark = (c) => c === "\uE000" || c === "\uE001";
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;

function before(s, i) {
  while (i > 0 && isMark(s[i - 1])) i--;
  return i > 0 ? s[i - 1] : "";
}

function after(s, i) {
  while (i < s.length && isMark(s[i])) i++;
  return i < s.length ? s[i] : "";
}

// An atom is a run of a line that is one thing, in which no formatting
// applies: code, a <…> reference or link, a bare link, an emoji. atomAt
// returns its end and a maker of its node, or null.
const REF = /<(@[UW][A-Z0-9]+|#[CDG][A-Z0-9]+(?:\|[^>]*)?|(?:https?:\/\/|mailto:)[^>|\s]+(?:\|[^>]*)?|!(?:here|channel|everyone))>/iy;
const CODE = /`([^`]+)`/y;
const BARE = /(?:https?:\/\/|www\.)[^\s<>"`]+/iy;
const EMOJI_RE = /:([a-z0-9_+-]+):(?::(skin-tone-[2-6]):)?/y;
const ATOM_START = new Set("<`:hHwW");

function atomAt(s, i, to, ctx) {
  let m, make, end;
  const c = s[i];
  if (c === "`") {
    CODE.lastIndex = i;
    if ((m = CODE.exec(s))) make = () => elem("code", "inline-code", unescape(m[1]));
  } else if (c === "<") {
    REF.lastIndex = i;
    if ((m = REF.exec(s))) make = () => reference(m[1], ctx);
  } else if (c === ":") {
    EMOJI_RE.lastIndex = i;
    const ch = (m = EMOJI_RE.exec(s)) && emojiChar(m[2] ? `${m[1]}::${m[2]}` : m[1]);
    if (ch) make = () => { const e = elem("span", "emoji", ch); e.title = `:${m[1]}:`; return e; };
  } else if (!WORD.test(before(s, i)) && !/[/.@-]/.test(before(s, i))) {
    BARE.lastIndex = i;
    if ((m = BARE.exec(s))) {
      // Trailing punctuation belongs to the sentence.
      const url = m[0].replace(/[.,;:!?)\]'"*_~\uE000\uE001]+$/, "");
      if (/^(?:https?:\/\/|www\.)[^/?#]*\w/i.test(url)) {
        end = i + url.length;
        make = () => link(/^www\./i.test(url) ? "https://" + url : url, url);
      }
    }
  }
  if (!make) return null;
  end ??= i + m[0].length;
  return end <= to ? { end, make } : null;
}

function reference(ref, ctx) {
  if (ref.startsWith("@")) {
    const span = elem("span", "mention");
    span.dataset.userName = ref.slice(1);
    span.textContent = "@" + ctx.userName(ref.slice(1));
    return span;
  }
  if (ref.startsWith("#")) {
    // A link that opens the conversation, named by its current name, or
    // the name the text gives: never by its id.
    const [id, label] = ref.slice(1).split("|");
    const a = elem("a", "mention channel-link");
    a.href = `#${id}`;
    a.dataset.channelLink = id;
    if (label) a.dataset.label = label;
    a.textContent = "#" + (ctx.channelName(id, !label) || label || "channel");
    return a;
  }
  if (ref.startsWith("!")) return elem("span", "mention", "@" + ref.slice(1));
  const bar = ref.indexOf("|");
  // A label is shown as it is written: no formatting inside a link.
  return bar < 0 ? link(ref) : link(ref.slice(0, bar), ref.slice(bar + 1));
}

// Slack's rules for *, _ and ~: an opening one starts the text or follows
// a character that is not a letter or digit, and is followed by one that
// is not a space; a closing one follows a character that is not a space,
// and ends the text or is followed by one that is not a letter or digit.
// Formatting never crosses a line (a line is all inline() is given).
const TAGS = { "*": "strong", _: "em", "~": "del" };

function opens(s, i, d) {
  const b = before(s, i);
  const n = after(s, i + 1);
  return !WORD.test(b) && b !== d && n !== "" && !SPACE.test(n) && n !== d;
}

function closes(s, j, d) {
  const b = before(s, j);
  const n = after(s, j + 1);
  return b !== "" && !SPACE.test(b) && b !== d && !WORD.test(n);
}

// closer finds where the d opened at i closes, skipping atoms, or -1.
// A search that failed is remembered for the line: a later opener of d
// cannot close either, which keeps a line of many openers linear.
function closer(s, i, to, d, ctx) {
  const failed = ctx.failed[d];
  if (failed && i >= failed[0] && to <= failed[1]) return -1;
  for (let j = i + 1; j < to; ) {
    if (ATOM_START.has(s[j])) {
      const a = atomAt(s, j, to, ctx);
      if (a) {
        j = a.end;
        continue;
      }
    }
    if (s[j] === d && j > i + 1 && closes(s, j, d)) return j;
    j++;
  }
  ctx.failed[d] = [i, to];
  return -1;
}

// inline appends the nodes of s[from:to], one line's text. open lists
// the formatting already applied: *bold* inside *bold* is left as text.
function inline(parent, s, from, to, ctx, open = "") {
  let text = from;
  const flush = (i) => {
    if (i > text) parent.append(unescape(s.slice(text, i)));
  };
  for (let i = from; i < to; ) {
    const c = s[i];
    const a = ATOM_START.has(c) ? atomAt(s, i, to, ctx) : null;
    if (a) {
      flush(i);
      parent.append(a.make());
      i = text = a.end;
      continue;
    }
    if (TAGS[c] && !open.includes(c) && opens(s, i, c)) {
      const j = closer(s, i, to, c, ctx);
      if (j > 0) {
        flush(i);
        const e = document.createElement(TAGS[c]);
        inline(e, s, i + 1, j, ctx, open + c);
        parent.append(e);
        i = text = j + 1;
        continue;
      }
    }
    i++;
  }
  flush(to);
}

// The forms of a line. The text arrives escaped (&gt;), but this client
// and some apps send a bare >.
const QUOTE_ALL = /^(?:&gt;|>){3} ?/;
const QUOTE = /^(?:&gt;|>) ?/;
const BULLET = /^\s*[•◦▪*-] +(?=\S)/;
const NUMBERED = /^\s*(\d{1,9})[.)] +(?=\S)/;

// blocks appends the nodes of text that holds no code block: lines, of
// which > lines make a quote (>>> quotes the rest), bulleted lines a list
// and numbered lines a numbered list that keeps the numbers written.
function blocks(parent, text, ctx, quoted = false) {
  const lines = text.split("\n");
  let inlineBefore = false; // a line of text was just added: a newline separates the next
  const line = (s) => {
    if (inlineBefore) parent.append("\n");
    inline(parent, s, 0, s.length, { ...ctx, failed: {} });
    inlineBefore = true;
  };
  for (let k = 0; k < lines.length; ) {
    const l = lines[k];
    let m;
    if (!quoted && (m = QUOTE_ALL.exec(l))) {
      const rest = [l.slice(m[0].length), ...lines.slice(k + 1)];
      if (rest[0] === "" && rest.length > 1) rest.shift();
      const q = elem("blockquote", "quote");
      blocks(q, rest.join("\n"), ctx, true);
      parent.append(q);
      return;
    }
    if (!quoted && QUOTE.test(l)) {
      const q = elem("blockquote", "quote");
      const body = [];
      for (; k < lines.length && (m = QUOTE.exec(lines[k])); k++) body.push(lines[k].slice(m[0].length));
      blocks(q, body.join("\n"), ctx, true);
      parent.append(q);
      inlineBefore = false;
      continue;
    }
    const kind = BULLET.test(l) ? BULLET : NUMBERED.test(l) ? NUMBERED : null;
    if (kind) {
      const list = elem(kind === BULLET ? "ul" : "ol", "list");
      for (; k < lines.length && (m = kind.exec(lines[k])); k++) {
        const li = elem("li");
        if (kind === NUMBERED) li.value = Number(m[1]);
        const s = lines[k].slice(m[0].length);
        inline(li, s, 0, s.length, { ...ctx, failed: {} });
        list.append(li);
      }
      parent.append(list);
      inlineBefore = false;
      continue;
    }
    line(l);
    k++;
  }
}

// renderText appends the nodes of text to parent. userName maps a user id
// to a display name; channelName a conversation id to its name, or null
// when it is not known (yet); its second argument says whether to load an
// unknown one (a link that carries its label need not). Code blocks
// (```…```, on one line or several) keep their text as written: no
// formatting, no links; a ``` without its pair is text.
export function renderText(parent, text, userName = (id) => id, channelName = () => null) {
  const ctx = { userName, channelName };
  let last = 0;
  for (const m of text.matchAll(/```([\s\S]*?)```/g)) {
    // The newlines around a block are its edges, not blank lines.
    const head = text.slice(last, m.index).replace(/\n$/, "");
    if (head) blocks(parent, head, ctx);
    const pre = elem("pre", "code-block");
    pre.append(elem("code", "", unescape(m[1].replace(/^\n/, "").replace(/\n$/, ""))));
    parent.append(pre);
    last = m.index + m[0].length;
    if (text[last] === "\n") last++;
  }
  if (last < text.length || last === 0) blocks(parent, text.slice(last), ctx);
}

// renderHighlighted appends the nodes of a search result's text, in which
// the server marks each matched word with U+E000 … U+E001: the marked parts
// are <mark>s. The text is rendered whole, marks and all (formatting looks
// through them), and the text between each pair is then wrapped, piece by
// piece where it spans elements. A mark inside Slack's markup or a link
// (which the server does not send, but a text could hold) covers the whole
// of it, so that the markup is still read as one.
export function renderHighlighted(parent, text, userName, channelName) {
  text = text.replace(/<[^>]*>|\b(?:https?:\/\/|www\.)[^\s<>"]+/g, (tok) =>
    /[\uE000\uE001]/.test(tok) ? "\uE000" + tok.replace(/[\uE000\uE001]/g, "") + "\uE001" : tok);
  renderText(parent, text, userName, channelName);
  const walk = document.createTreeWalker(parent, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walk.nextNode()) nodes.push(walk.currentNode);
  let on = false;
  for (const n of nodes) {
    if (!on && !/[\uE000\uE001]/.test(n.data)) continue;
    const parts = [];
    for (const p of n.data.split(/([\uE000\uE001])/)) {
      if (p === "\uE000" || p === "\uE001") on = p === "\uE000";
      else if (p) parts.push(on ? elem("mark", "", p) : p);
    }
    n.replaceWith(...parts);
  }
}

export function emoji(name) {
  return emojiChar(name) ?? `:${name}:`;
}

// compareTS orders Slack timestamps ("<seconds>.<6 digits>") without
// losing the microseconds to floating point.
export function compareTS(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export function tsDate(ts) {
  return new Date(Number(ts.split(".")[0]) * 1000);
}

// The formats are made once: toLocale…String with options makes a new
// one at each call, which costs a page of 50 messages tens of milliseconds.
const TIME = new Intl.DateTimeFormat([], { hour: "numeric", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat([], { weekday: "long", month: "long", day: "numeric" });

export function timeOf(ts) {
  return TIME.format(tsDate(ts));
}

export function dayOf(ts) {
  const d = tsDate(ts);
  const today = new Date();
  const yesterday = new Date(Date.now() - 864e5);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
  return DAY.format(d);
}

// uuid is crypto.randomUUID where the page is a secure context, else the
// same format from getRandomValues (plain-http deployments).
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
