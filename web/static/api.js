// api.js — the Web API over HTTP: every call is a POST of JSON with the
// token as a Bearer header. Errors are ApiError with Slack's error code.

export class ApiError extends Error {
  constructor(code, status) {
    super(code);
    this.code = code;     // Slack error string, or "network" / "http_<status>"
    this.status = status; // HTTP status, 0 for a network failure
  }
  // transient errors are worth retrying with the same arguments.
  get transient() {
    return this.code === "network" || this.code === "ratelimited" || this.status >= 500;
  }
}

export class Api {
  constructor(token = "") {
    this.token = token;
    this.onAuthFailure = () => {};
  }

  async call(method, args = {}, { retries = 2 } = {}) {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(`/api/${method}`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
          },
          body: JSON.stringify(args),
          cache: "no-store",
          credentials: "omit",
        });
      } catch {
        throw new ApiError("network", 0);
      }
      if (res.status === 429 && attempt < retries) {
        const wait = Math.min(Number(res.headers.get("Retry-After")) || 1, 10);
        await new Promise((r) => setTimeout(r, wait * 1000));
        continue;
      }
      let body;
      try {
        body = await res.json();
      } catch {
        throw new ApiError(`http_${res.status}`, res.status);
      }
      if (body.ok) return body;
      const code = body.error || `http_${res.status}`;
      if (code === "invalid_auth" || code === "not_authed" || code === "account_inactive" || code === "token_revoked") {
        this.onAuthFailure(code);
      }
      throw new ApiError(code, res.status);
    }
  }
}
