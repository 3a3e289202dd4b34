// text.js — turns message text into DOM nodes. Text is only ever set with
// textContent or text nodes: no HTML is parsed. Links become <a> elements
// whose href is an http(s) URL and that open in a new tab without an
// opener. Slack's <@U…>, <#C…|name>, <url> and <url|label> forms are
// understood.

const TOKEN = /<(@[UW][A-Z0-9]+|#[CDG][A-Z0-9]+(?:\|[^>]*)?|https?:\/\/[^>|\s]+(?:\|[^>]*)?|!(?:here|channel|everyone))>|\bhttps?:\/\/[^\s<>"]+/gi;

// safeURL returns the normalised URL when it is http or https, else null.
export function safeURL(raw) {
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function link(url, label) {
  const href = safeURL(url);
  if (!href) return document.createTextNode(label ?? url);
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  a.textContent = label ?? url;
  return a;
}

// renderText appends the nodes of text to parent. userName maps a user id
// to a display name; channelName a conversation id to its name, or null
// when it is not known (yet); its second argument says whether to load an
// unknown one (a link that carries its label need not).
export function renderText(parent, text, userName = (id) => id, channelName = () => null) {
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    let whole = m[0];
    let end = m.index + whole.length;
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[1] === undefined) {
      // A bare URL: trailing punctuation belongs to the sentence.
      const trimmed = whole.replace(/[.,;:!?)\]'"]+$/, "");
      end = m.index + trimmed.length;
      parent.append(link(trimmed));
    } else if (m[1].startsWith("@")) {
      const span = document.createElement("span");
      span.className = "mention";
      span.dataset.userName = m[1].slice(1);
      span.textContent = "@" + userName(m[1].slice(1));
      parent.append(span);
    } else if (m[1].startsWith("#")) {
      // A link that opens the conversation, named by its current name, or
      // the name the text gives: never by its id.
      const [id, label] = m[1].slice(1).split("|");
      const a = document.createElement("a");
      a.className = "mention channel-link";
      a.href = `#${id}`;
      a.dataset.channelLink = id;
      if (label) a.dataset.label = label;
      a.textContent = "#" + (channelName(id, !label) || label || "channel");
      parent.append(a);
    } else if (m[1].startsWith("!")) {
      const span = document.createElement("span");
      span.className = "mention";
      span.textContent = "@" + m[1].slice(1);
      parent.append(span);
    } else {
      const bar = m[1].indexOf("|");
      parent.append(bar < 0 ? link(m[1]) : link(m[1].slice(0, bar), m[1].slice(bar + 1)));
    }
    last = end;
  }
  if (last < text.length) parent.append(text.slice(last));
}

const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", thumbsdown: "👎", heart: "❤️", joy: "😂",
  tada: "🎉", eyes: "👀", white_check_mark: "✅", rocket: "🚀", pray: "🙏", fire: "🔥",
  smile: "😄", slightly_smiling_face: "🙂", thinking_face: "🤔", clap: "👏", wave: "👋",
  raised_hands: "🙌", ok_hand: "👌", 100: "💯",
};
// renderHighlighted appends the nodes of a search result's text, in which
// the server marks each matched word with U+E000 … U+E001: the marked parts
// are <mark>s. A mark inside Slack's markup or a link (which the server
// does not send, but a text could hold) covers the whole of it, so that
// the markup is still read as one.
export function renderHighlighted(parent, text, userName, channelName) {
  text = text.replace(/<[^>]*>|\bhttps?:\/\/[^\s<>"]+/g, (tok) =>
    /[\uE000\uE001]/.test(tok) ? "\uE000" + tok.replace(/[\uE000\uE001]/g, "") + "\uE001" : tok);
  for (const [i, part] of text.split("\uE000").entries()) {
    const end = part.indexOf("\uE001");
    const marked = i > 0 && end >= 0 ? part.slice(0, end) : "";
    const rest = (i > 0 && end >= 0 ? part.slice(end + 1) : part).replace(/\uE001/g, "");
    if (marked) {
      const mark = document.createElement("mark");
      renderText(mark, marked, userName, channelName);
      parent.append(mark);
    }
    if (rest) renderText(parent, rest, userName, channelName);
  }
}

export const PICKER = ["+1", "heart", "joy", "tada", "eyes", "white_check_mark", "rocket", "pray"];

export function emoji(name) {
  return EMOJI[name] ?? `:${name}:`;
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
