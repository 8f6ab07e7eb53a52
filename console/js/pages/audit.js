// The audit trail: contract §7, newest first, paginated.
import { h, messages, table, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Audit trail';

function actor(a) {
  if (!a) return '—';
  const kind = { tenant_admin: 'admin', carrier: 'carrier', scheduler: 'scheduler' }[a.kind] || a.kind;
  return a.id ? `${kind} ${a.id}` : kind;
}

function details(e) {
  const parts = [];
  if (e.code) parts.push(`code ${e.code}`);
  if (e.status) parts.push(`status ${e.status}`);
  if (e.portOutId) parts.push(`order ${e.portOutId}`);
  if (e.setting) parts.push(`setting ${e.setting}`);
  if (e.transferPinId) parts.push(`transfer PIN ${e.transferPinId}`);
  if (e.phoneNumbers && e.phoneNumbers.length) parts.push(e.phoneNumbers.join(', '));
  if (e.until) parts.push(`until ${when(e.until)}`);
  return parts.join(' · ') || '—';
}

export async function render(root) {
  const msgs = messages();
  const list = h('div', {});
  const pager = h('div', { class: 'pager' });
  const pages = [null];
  let page = 0;
  const load = async () => {
    try {
      const r = await api('GET', `/v1/audit-events${qs({ limit: 25, nextToken: pages[page] })}`);
      pages[page + 1] = r.nextToken;
      list.replaceChildren(table(`Audit events, newest first (page ${page + 1})`, ['Time', 'Event', 'By', 'Source IP', 'Details'],
        r.items.map((e) => h('tr', {},
          h('td', {}, when(e.time)), h('td', {}, e.type), h('td', {}, actor(e.actor)),
          h('td', {}, e.sourceIp || '—'), h('td', { class: 'wrap' }, details(e))))));
      pager.replaceChildren(
        page > 0 ? h('button', { type: 'button', class: 'secondary', onclick: () => { page -= 1; load(); } }, 'Newer events') : '',
        r.nextToken ? h('button', { type: 'button', class: 'secondary', onclick: () => { page += 1; load(); } }, 'Older events') : '');
    } catch (e) { list.replaceChildren(); msgs.error(e); }
  };
  root.append(h('h1', {}, title),
    h('p', { class: 'muted' }, 'Every PIN change, port-out attempt, lock, protection change, transfer PIN and order transition on your account. PINs are never recorded.'),
    msgs.alert, list, pager);
  await load();
}
