// picker.js — the emoji picker, for a message's reactions and for the
// composers: a search field, "Recently used" first (kept in this browser),
// then emoji.js's groups, and a skin tone applied to the emoji that take
// one. It follows the combobox pattern: the focus stays in the search
// field, the arrows move through the options (aria-activedescendant),
// Enter picks, Escape closes and gives the focus back.

import { GROUPS, emojiChar, takesTone, withTone } from "./emoji.js";

const RECENT_KEY = "confab.emoji.recent";
const TONE_KEY = "confab.emoji.tone";
const MAX_RECENT = 24;
const MAX_FOUND = 180;
const TONES = ["Default", "Light", "Medium-light", "Medium", "Medium-dark", "Dark"];

let entries; // [{ ch, names, group }], parsed on the first open
let open = null; // { box, input, back, onPick, opts, at, off }

function all() {
  entries ??= GROUPS.flatMap(([group, list]) => list.split("|").map((e) => {
    const [ch, ...names] = e.split(" ");
    return { ch, names, group };
  }));
  return entries;
}

function load(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function save(key, v) {
  try {
    localStorage.setItem(key, JSON.stringify(v));
  } catch { /* private mode or full: the picker still works */ }
}

// recent lists the names last picked, most recent first; a name keeps its
// tone ("+1::skin-tone-3").
export function recent() {
  const r = load(RECENT_KEY, []);
  return Array.isArray(r) ? r.filter((n) => typeof n === "string" && emojiChar(n)).slice(0, MAX_RECENT) : [];
}

function remember(name) {
  save(RECENT_KEY, [name, ...recent().filter((n) => n !== name)].slice(0, MAX_RECENT));
}

function tone() {
  const t = load(TONE_KEY, 0);
  return Number.isInteger(t) && t >= 0 && t <= 5 ? t : 0;
}

// search finds the emoji one of whose names contains q: the one so
// named first, then those with a name that starts with q.
function search(q) {
  const exact = [], starts = [], contains = [];
  for (const e of all()) {
    if (e.names.includes(q)) exact.push(e);
    else if (e.names.some((n) => n.startsWith(q))) starts.push(e);
    else if (e.names.some((n) => n.includes(q))) contains.push(e);
  }
  return exact.concat(starts, contains).slice(0, MAX_FOUND);
}

// nameOf is what picking e sends: its first name, as Slack's, with the
// chosen skin tone when it takes one ("+1::skin-tone-3").
function nameOf(e, t) {
  return t && takesTone(e.ch) ? `${e.names[0]}::skin-tone-${t + 1}` : e.names[0];
}

function option(name, ch) {
  const b = document.createElement("button");
  b.type = "button";
  b.tabIndex = -1;
  b.id = `emoji-${open.opts.length}`;
  b.setAttribute("role", "option");
  b.setAttribute("aria-selected", "false");
  b.setAttribute("aria-label", name.replaceAll("_", " "));
  b.title = `:${name}:`;
  b.dataset.reaction = name;
  b.textContent = ch;
  open.opts.push(b);
  return b;
}

function group(label, items) {
  const g = document.createElement("div");
  g.className = "emoji-group";
  g.setAttribute("role", "group");
  g.setAttribute("aria-label", label);
  g.dataset.label = label;
  g.append(...items);
  return g;
}

function render() {
  const { list, input, empty } = open;
  const q = input.value.trim().toLowerCase().replace(/^:|:$/g, "");
  const t = tone();
  open.opts = [];
  const groups = [];
  if (q) {
    const found = search(q);
    if (found.length) groups.push(group("Search results", found.map((e) => option(nameOf(e, t), withTone(e.ch, t)))));
  } else {
    const r = recent();
    if (r.length) groups.push(group("Recently used", r.map((n) => option(n, emojiChar(n)))));
    let cur = null, items = [];
    for (const e of all()) {
      if (e.group !== cur) {
        if (items.length) groups.push(group(cur, items));
        cur = e.group;
        items = [];
      }
      items.push(option(nameOf(e, t), withTone(e.ch, t)));
    }
    if (items.length) groups.push(group(cur, items));
  }
  list.replaceChildren(...groups);
  empty.hidden = open.opts.length > 0;
  open.at = -1;
  select(0);
}

function select(i) {
  const { opts, input } = open;
  if (!opts.length) {
    input.removeAttribute("aria-activedescendant");
    return;
  }
  i = Math.max(0, Math.min(opts.length - 1, i));
  opts[open.at]?.setAttribute("aria-selected", "false");
  open.at = i;
  opts[i].setAttribute("aria-selected", "true");
  input.setAttribute("aria-activedescendant", opts[i].id);
  if (open.list.scrollTop || i) opts[i].scrollIntoView({ block: "nearest" });
}

// vertical moves to the option in the next row up or down (groups'
// rows do not line up, so by position) nearest to the current column.
function vertical(dir) {
  const { opts, at } = open;
  const cur = opts[at].getBoundingClientRect();
  let best = -1, bestD = Infinity;
  for (let i = at + dir; i >= 0 && i < opts.length; i += dir) {
    const r = opts[i].getBoundingClientRect();
    const dy = (r.top - cur.top) * dir;
    if (dy < 4) continue;
    if (best >= 0 && dy * 1000 > bestD) break;
    const d = dy * 1000 + Math.abs(r.left - cur.left);
    if (d < bestD) [best, bestD] = [i, d];
  }
  if (best >= 0) select(best);
}

function pick(b) {
  const { onPick } = open;
  const name = b.dataset.reaction;
  remember(name);
  closeEmojiPicker(true);
  onPick(name);
}

function onKey(e) {
  const keys = { ArrowLeft: -1, ArrowRight: 1 };
  if (e.key === "Escape") {
    e.preventDefault();
    e.stopPropagation();
    closeEmojiPicker(true);
  } else if (e.target !== open.input) {
    return;
  } else if (e.key in keys) {
    e.preventDefault();
    if (open.opts.length) select(open.at + keys[e.key]);
  } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    if (open.opts.length) vertical(e.key === "ArrowDown" ? 1 : -1);
  } else if (e.key === "Enter") {
    e.preventDefault();
    if (open.opts[open.at]) pick(open.opts[open.at]);
  }
}

// openEmojiPicker shows the picker by anchor; onPick gets the name picked
// (without colons). The focus goes back where it was when it closes.
export function openEmojiPicker(anchor, onPick) {
  const again = open?.anchor === anchor;
  closeEmojiPicker(again);
  if (again) return; // its button again: a toggle
  const box = document.getElementById("reaction-picker");
  const input = Object.assign(document.createElement("input"), {
    type: "search", placeholder: "Search emoji", autocomplete: "off", spellcheck: false,
  });
  for (const [k, v] of Object.entries({ role: "combobox", "aria-label": "Search emoji", "aria-controls": "emoji-list", "aria-expanded": "true", "aria-autocomplete": "list" })) input.setAttribute(k, v);
  const tones = document.createElement("select");
  tones.setAttribute("aria-label", "Skin tone");
  tones.append(...TONES.map((label, i) => new Option(`${withTone("✋", i)} ${label}`, String(i))));
  tones.value = String(tone());
  const list = document.createElement("div");
  list.id = "emoji-list";
  list.className = "emoji-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Emoji");
  const empty = Object.assign(document.createElement("p"), { className: "emoji-empty", textContent: "No emoji found.", hidden: true });
  const head = document.createElement("div");
  head.className = "emoji-head";
  head.append(input, tones);
  box.replaceChildren(head, list, empty);

  const off = (e) => { if (!box.contains(e.target) && !anchor.contains(e.target)) closeEmojiPicker(false); };
  open = { anchor, box, input, list, empty, back: document.activeElement, onPick, opts: [], at: -1, off };
  input.addEventListener("input", render);
  tones.addEventListener("change", () => { save(TONE_KEY, Number(tones.value)); render(); });
  list.addEventListener("click", (e) => { const b = e.target.closest("[role=option]"); if (b) pick(b); });
  box.onkeydown = onKey;
  document.addEventListener("pointerdown", off, true);
  render();

  // While open, its button says so (and keeps a message's tools shown).
  anchor.setAttribute("aria-haspopup", "dialog");
  anchor.setAttribute("aria-expanded", "true");
  box.hidden = false;
  const r = anchor.getBoundingClientRect();
  const h = box.offsetHeight, w = box.offsetWidth;
  box.style.top = `${r.top - h - 4 >= 8 ? r.top - h - 4 : Math.max(8, Math.min(window.innerHeight - h - 8, r.bottom + 4))}px`;
  box.style.left = `${Math.max(8, Math.min(window.innerWidth - w - 8, r.right - w))}px`;
  input.focus();
}

// closeEmojiPicker hides the picker; refocus gives the focus back to where
// it came from.
export function closeEmojiPicker(refocus) {
  if (!open) return;
  const { anchor, box, back, off } = open;
  open = null;
  document.removeEventListener("pointerdown", off, true);
  box.hidden = true;
  box.replaceChildren();
  if (refocus && back?.isConnected) back.focus();
  anchor.setAttribute("aria-expanded", "false");
}
