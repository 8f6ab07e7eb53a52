// The API client: bearer token, JSON, and the contract's error envelope
// ({"error": {"code", "message", "details"}}) or API Gateway's ({"message"}).
import { token, signOut } from './auth.js';

let base = '';
export function setBase(url) { base = (url || '').replace(/\/$/, ''); }

export class ApiError extends Error {
  constructor(status, body) {
    const env = body && body.error;
    const msg = env && env.message ? env.message : (body && body.message) || `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.code = env ? env.code : null;
    this.details = env ? env.details || null : null;
    this.apiMessage = env ? msg : `${msg} (HTTP ${status})`;
  }
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    // fetch rejects only when no answer came (offline, DNS, CORS, a reset).
    throw Object.assign(new Error('The API did not answer. Check your connection and try again.', { cause }), { status: 0 });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (cause) {
    // An error status is still reported below, by its HTTP status (a proxy's
    // HTML page has nothing more to say); a success must be JSON.
    if (res.ok) throw Object.assign(new Error(`The API's answer was not JSON (HTTP ${res.status}).`, { cause }), { status: res.status });
  }
  if (res.status === 401) { signOut(); }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** "?a=1&b=2" from an object, leaving out empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
