// The console: configuration, sign-in, and a hash router over the pages.
import { h, messages } from './dom.js';
import { setBase } from './api.js';
import { claims, devSignIn, oidcCallback, oidcSignIn, signOut, token } from './auth.js';
import * as pin from './pages/pin.js';
import * as protection from './pages/protection.js';
import * as transferPins from './pages/transfer-pins.js';
import * as orders from './pages/orders.js';
import * as audit from './pages/audit.js';
import * as notifications from './pages/notifications.js';
import * as alertContacts from './pages/alert-contacts.js';

const PAGES = {
  '#/pin': pin, '#/protection': protection, '#/transfer-pins': transferPins,
  '#/orders': orders, '#/audit': audit, '#/notifications': notifications,
  '#/alert-contacts': alertContacts,
};
const DEMO_TENANTS = [
  ['t-100', 'Demo Tenant (US, ACC-1001)'],
  ['t-200', 'Demo Tenant (GB, ACC-2001: not eligible for a PIN)'],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let config = { mode: 'dev', apiUrl: '' };

/**
 * config.json beside the page. None (404) means the defaults: development.
 * One that cannot be read is an error: guessing "development" would offer
 * a deployed console's users a sign-in that cannot work.
 */
async function loadConfig() {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (res.ok) config = { ...config, ...(await res.json()) };
  else if (res.status !== 404) throw new Error(`The console's configuration (config.json) could not be read (HTTP ${res.status}). Reload the page.`);
  setBase(config.apiUrl);
}

function signInPage() {
  const msgs = messages();
  main.replaceChildren();
  main.classList.remove('wide');
  document.title = 'Sign in · portguard console';
  if (config.mode === 'dev') {
    const sel = h('select', { id: 'tenant', name: 'tenant' },
      DEMO_TENANTS.map(([id, name]) => h('option', { value: id }, `${id} — ${name}`)));
    const form = h('form', { class: 'card' },
      h('p', {}, 'Development sign-in: this console runs against ', h('code', {}, 'make dev'),
        '. Pick a demo tenant; you act as its admin.'),
      h('div', { class: 'field' }, h('label', { for: 'tenant' }, 'Demo tenant'), sel),
      h('button', { type: 'submit' }, 'Sign in'), msgs.alert);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try { await devSignIn(sel.value); go('#/pin'); } catch (e) { msgs.error(e); }
    });
    main.append(h('h1', {}, 'Sign in'), form);
  } else {
    const btn = h('button', { type: 'button' }, 'Sign in with your organisation');
    btn.addEventListener('click', async () => { try { await oidcSignIn(config); } catch (e) { msgs.error(e); } });
    main.append(h('h1', {}, 'Sign in'), h('section', { class: 'card' },
      h('p', {}, 'Tenant admins sign in with their organisation account.'), btn, msgs.alert));
  }
  main.focus();
}

function header() {
  const c = claims();
  nav.hidden = !c;
  who.replaceChildren();
  if (!c) return;
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', () => { signOut(); route(); });
  who.append(h('span', {}, 'Tenant ', h('strong', {}, c.tenant_id || '?')), out);
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === location.hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Navigations can overlap (a page still loading when the next is asked for):
// each has a number, and only the latest may put its page in <main>.
let navigation = 0;

/** Shows `hash`: through the hashchange listener, or at once if already there. */
function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

async function route() {
  const mine = ++navigation;
  if (!token() || !claims()) {
    header();
    if (location.hash !== '#/sign-in') history.replaceState(null, '', '#/sign-in');
    return signInPage();
  }
  if (!PAGES[location.hash]) { history.replaceState(null, '', '#/pin'); }
  header();
  const page = PAGES[location.hash];
  main.replaceChildren(h('p', {}, 'Loading…'));
  document.title = `${page.title} · portguard console`;
  const root = h('div');
  try {
    await page.render(root, { tenantId: claims().tenant_id });
  } catch (e) {
    const m = messages(); m.error(e); root.replaceChildren(h('h1', {}, page.title), m.alert);
  }
  if (mine !== navigation) return; // a later navigation owns <main> now
  main.classList.toggle('wide', Boolean(page.wide));
  main.replaceChildren(root);
  main.focus();
}

window.addEventListener('hashchange', route);
(async () => {
  try { await loadConfig(); } catch (e) {
    const m = messages();
    m.error(e.name === 'SyntaxError' || e.name === 'TypeError'
      ? new Error(`The console's configuration (config.json) could not be read (${e.message}). Reload the page.`) : e);
    main.replaceChildren(m.alert);
    return;
  }
  if (config.mode !== 'dev') {
    try { await oidcCallback(config); } catch (e) { const m = messages(); m.error(e); main.replaceChildren(m.alert); return; }
  }
  route();
})();
