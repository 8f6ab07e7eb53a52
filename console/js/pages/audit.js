// The audit trail: contract §7 (and §17's alert contacts), newest first,
// paginated. Each event is said in words; its raw type stays under it.
import { h, messages, table, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Audit trail';

/**
 * Every audit event type, grouped, with a short name for each (the alert
 * contacts page offers these as choices, in this order).
 */
export const EVENT_GROUPS = [
  ['Port-out PIN', [
    ['pin.set', 'Port-out PIN set'],
    ['pin.changed', 'Port-out PIN changed'],
    ['pin.locked', 'Port-outs locked after repeated wrong PINs'],
  ]],
  ['Port-out requests', [
    ['port_out.requested', 'Port-out request accepted'],
    ['port_out.rejected', 'Port-out request refused'],
    ['port_out.status_changed', 'Port-out status changed'],
  ]],
  ['Protection', [
    ['protection.enabled', 'Port-out protection turned on'],
    ['protection.disable_requested', 'Turning off port-out protection requested'],
  ]],
  ['Transfer PINs', [
    ['transfer_pin.created', 'Transfer PIN created'],
    ['transfer_pin.revoked', 'Transfer PIN revoked'],
  ]],
  ['Notifications and alerts', [
    ['notification_endpoint.changed', 'Notification endpoint changed'],
    ['alert_contact.added', 'Alert contact added'],
    ['alert_contact.confirmed', 'Alert contact confirmed'],
    ['alert_contact.removed', 'Alert contact removed'],
  ]],
];
/** Every type, in the trail's order. */
export const EVENT_TYPES = EVENT_GROUPS.flatMap(([, types]) => types.map(([t]) => t));
const NAMES = Object.fromEntries(EVENT_GROUPS.flatMap(([, types]) => types));
/** The short name of a type ("Transfer PIN created"), or the type itself. */
export const typeName = (t) => NAMES[t] || t;

const STATUS_WORDS = {
  pending: 'pending', foc_confirmed: 'confirmed for a port date', completed: 'completed',
  cancelled: 'cancelled', rejected: 'rejected', expired: 'expired',
};
/** A setting in words: a lock of numbers (`[n]`) or of the whole account (`null`). */
function settingWords(e) {
  if (e.setting === 'lock') return e.phoneNumbers && e.phoneNumbers.length ? `number lock (${numbers(e)})` : 'lock of the whole account';
  if (e.setting === 'transferPinRequired') return 'transfer PIN required';
  return 'protection';
}

function numbers(e) {
  const n = (e.phoneNumbers || []).length;
  return n === 1 ? '1 number' : `${n} numbers`;
}

/** What happened, as a sentence ("Port-out request accepted for 2 numbers"). */
export function sentence(e) {
  const setting = settingWords(e);
  const email = e.email || 'an address';
  switch (e.type) {
    case 'port_out.requested': return `Port-out request accepted for ${numbers(e)}`;
    case 'port_out.rejected':
      if (e.code === 'PIN_MISMATCH') return `Port-out request with a wrong PIN refused for ${numbers(e)}`;
      if (e.code === 'PORT_OUT_LOCKED') return `Port-out request for locked numbers refused (${numbers(e)})`;
      return `Port-out request refused for ${numbers(e)}`;
    case 'port_out.status_changed': return `Port-out ${STATUS_WORDS[e.status] || 'changed'} for ${numbers(e)}`;
    case 'protection.enabled': return `Port-out protection turned on: ${setting}`;
    case 'protection.disable_requested': return `Turning off port-out protection requested: ${setting}`;
    case 'transfer_pin.created': return `Transfer PIN created for ${numbers(e)}`;
    case 'alert_contact.added': return `Alert contact added: ${email}`;
    case 'alert_contact.confirmed': return `Alert contact confirmed: ${email}`;
    case 'alert_contact.removed': return `Alert contact removed: ${email}`;
    default: return typeName(e.type);
  }
}

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

/** The sentence, and under it the raw type (as the API and the emails name it). */
function event(e) {
  return h('td', { class: 'words event' }, h('span', { class: 'line' }, sentence(e)),
    h('span', { class: 'sub' }, h('span', { class: 'sr-only' }, 'type '), h('code', {}, e.type)));
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
          h('td', {}, when(e.time)), event(e), h('td', {}, actor(e.actor)),
          h('td', {}, e.sourceIp || '—'), h('td', { class: 'wrap' }, details(e))))));
      pager.replaceChildren(
        page > 0 ? h('button', { type: 'button', class: 'secondary', onclick: () => { page -= 1; load(); } }, 'Newer events') : '',
        r.nextToken ? h('button', { type: 'button', class: 'secondary', onclick: () => { page += 1; load(); } }, 'Older events') : '');
    } catch (e) { list.replaceChildren(); msgs.error(e); }
  };
  root.append(h('h1', {}, title),
    h('p', { class: 'muted' }, 'Every PIN change, port-out attempt, lock, protection change, transfer PIN, order transition and alert contact change on your account. PINs are never recorded.'),
    msgs.alert, list, pager);
  await load();
}
