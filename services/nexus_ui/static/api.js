// The session (token in memory only, never in storage) and authenticated fetches.
let session = null; // {token, expiresAt: Date, user}
let expiryTimer = null;
const listeners = new Set();

export function onSessionChange(fn) { listeners.add(fn); }
export function current() { return session; }

export async function signIn(user, ttlMinutes) {
  const res = await fetch("/auth", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, ttl_minutes: ttlMinutes }),
    credentials: "omit",
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || `sign-in failed (${res.status})`);
  session = { token: body.token, expiresAt: new Date(body.expires_at), user };
  clearTimeout(expiryTimer);
  const ms = Math.max(0, session.expiresAt.getTime() - Date.now());
  expiryTimer = setTimeout(() => signOut("session expired"), Math.min(ms, 2 ** 31 - 1));
  listeners.forEach((fn) => fn(session));
  return session;
}

export function signOut(reason) {
  session = null;
  clearTimeout(expiryTimer);
  listeners.forEach((fn) => fn(null, reason));
}

export async function api(path, options = {}) {
  if (!session) throw new Error("not signed in");
  const res = await fetch(path, {
    ...options,
    credentials: "omit",
    headers: { ...(options.headers || {}), authorization: `Bearer ${session.token}`, "content-type": "application/json" },
  });
  if (res.status === 401) { signOut("the API refused the session"); throw new Error("signed out"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || res.status));
  return body;
}
