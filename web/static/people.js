// people.js — finding people by name without the workspace's whole list:
// what the client knows matches at once (matches), and users.search is
// asked as one types (searcher), its answers remembered by the caller.

// nameKey is a name or query as users.search compares it: its words (runs
// of letters and digits), lowercased, joined by one space.
export const nameKey = (s) => (s || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).join(" ");

// matches reports whether users.search would find u for query: the start
// of its handle, real name or display name, or of a word of them.
export function matches(u, query) {
  const q = nameKey(query);
  if (!q) return false;
  return [u.name, u.real_name, u.profile?.display_name].some((n) => {
    const k = nameKey(n);
    return k.startsWith(q) || k.includes(" " + q);
  });
}

// searcher returns ask(query, channel, done): after wait ms without
// another ask, users.search for query (channel's members first, when
// given) and done(users), unless a later ask came meanwhile: the last
// answer wins, and one for a query no longer asked is dropped. An empty
// query only cancels. Each found user is given to remember.
export function searcher(api, remember, wait = 100) {
  let timer = 0, asked = 0;
  return (query, channel, done) => {
    clearTimeout(timer);
    const mine = ++asked;
    if (!nameKey(query)) return;
    timer = setTimeout(async () => {
      let r;
      try {
        r = await api.call("users.search", { query, count: 20, ...(channel ? { channel } : {}) }, { retries: 0 });
      } catch {
        return; // what is known stays shown
      }
      if (mine !== asked) return;
      r.members.forEach(remember);
      done(r.members);
    }, wait);
  };
}

// merged is found's users, then known's not among them: the server's
// order first, what only the client knew after.
export function merged(found, known) {
  const ids = new Set(found.map((u) => u.id));
  return [...found, ...known.filter((u) => !ids.has(u.id))];
}
