// Sign-in. In AWS: OpenID Connect authorization code with PKCE against the
// issuer the API's JWT authorizer trusts. In `make dev`: the local API's
// development sign-in (POST /_dev/token), which picks a demo tenant.
// The access token lives in sessionStorage: gone when the tab closes.

const KEY = 'portguard.token';
const PKCE = 'portguard.pkce';

export const token = () => sessionStorage.getItem(KEY);

export function signOut() {
  sessionStorage.removeItem(KEY);
  if (location.hash !== '#/sign-in') location.hash = '#/sign-in';
}

/** The token's claims (not verified here: the API verifies every call). */
export function claims() {
  const t = token();
  if (!t) return null;
  try {
    const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const c = JSON.parse(atob(part));
    if (c.exp && c.exp * 1000 < Date.now()) { sessionStorage.removeItem(KEY); return null; }
    return c;
  } catch {
    // A token that is not a readable JWT is no sign-in: dropped, and the
    // sign-in page shown (nothing is lost: the API would refuse it anyway).
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export async function devSignIn(tenantId) {
  const res = await fetch('/_dev/token', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenantId }),
  });
  if (!res.ok) throw new Error(`The development sign-in failed (HTTP ${res.status}). Is this \`make dev\`?`);
  sessionStorage.setItem(KEY, (await res.json()).token);
}

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function discover(issuer) {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`Cannot read the sign-in provider's configuration (HTTP ${res.status}).`);
  return res.json();
}

const redirectUri = () => `${location.origin}${location.pathname}`;

/** Sends the browser to the issuer's authorization endpoint. */
export async function oidcSignIn(cfg) {
  const meta = await discover(cfg.issuer);
  const verifier = random(48);
  const state = random(24);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectUri(),
    scope: cfg.scope || 'openid portguard/admin', state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(`${meta.authorization_endpoint}?${q}`);
}

/** On the way back from the issuer: trades ?code for a token. True when signed in. */
export async function oidcCallback(cfg) {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return false;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || '{}');
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, '', redirectUri() + location.hash);
  if (q.has('error')) throw new Error(`Sign-in was refused: ${q.get('error_description') || q.get('error')}`);
  if (!saved.state || q.get('state') !== saved.state) throw new Error('The sign-in answer does not match this tab; sign in again.');
  const meta = await discover(cfg.issuer);
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectUri(),
      client_id: cfg.clientId, code_verifier: saved.verifier,
    }),
  });
  if (!res.ok) throw new Error(`The sign-in provider refused the code (HTTP ${res.status}).`);
  const body = await res.json();
  sessionStorage.setItem(KEY, body.access_token);
  return true;
}
