// Port orders: contract §4.2 (list, filter by status) and 13 (reject).
import { fieldError, formErrors, h, messages, table, uid, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Port orders';
/** A wide table: the page may use more of a large window (app.js). */
export const wide = true;
const STATUSES = ['', 'pending', 'foc_confirmed', 'completed', 'cancelled', 'rejected', 'expired'];
const OPEN = new Set(['pending', 'foc_confirmed']);
const HEADERS = ['Order', 'Status', 'Numbers', 'Carrier', 'Source', 'PON', 'Created', 'Action'];
// The door a port-out came through (contract §15).
const SOURCES = { api: 'portguard API', bandwidth: 'Bandwidth', telnyx: 'Telnyx' };

/** The source in words and, under it, the upstream's id of the port-out. */
function source(o) {
  const name = SOURCES[o.source] || o.source || '—';
  return h('td', { class: 'narrow' }, h('span', { class: 'nobr' }, name),
    o.externalId ? h('span', { class: 'sub' }, h('span', { class: 'sr-only' }, ', id '), o.externalId) : null);
}

/** Several numbers one under the other, as a list; one as text. */
function numbers(list) {
  if (list.length < 2) return h('td', {}, list[0] || '—');
  return h('td', {}, h('ul', { class: 'plain' }, list.map((n) => h('li', {}, n))));
}

/** "2026-12-01 19:57 UTC" on two lines: the date, then the time. */
function created(t) {
  const [date, ...time] = when(t).split(' ');
  return h('td', {}, h('time', { datetime: t || null },
    h('span', { class: 'line' }, date), time.length ? ' ' : '', time.length ? h('span', { class: 'line' }, time.join(' ')) : ''));
}

export async function render(root) {
  const msgs = messages();
  const list = h('div', {});
  const filter = h('select', { id: 'po-status', name: 'status' },
    STATUSES.map((s) => h('option', { value: s }, s || 'All')));
  const pages = [null];
  let page = 0;
  const pager = h('div', { class: 'pager' });

  const rejectForm = (o, row, button) => {
    if (row.nextElementSibling && row.nextElementSibling.classList.contains('reject')) { row.nextElementSibling.querySelector('textarea').focus(); return; }
    const id = uid('po-reason');
    const reason = h('textarea', { id, rows: 2, maxlength: 500 });
    // A reason the API refuses (INVALID_REQUEST) is said under it; any other
    // refusal (the order closed meanwhile: INVALID_TRANSITION) in the form.
    const formMsgs = messages();
    const reasonError = fieldError(reason, { codes: ['INVALID_REQUEST'] });
    const errors = formErrors(formMsgs, reasonError);
    const form = h('form', { class: 'card', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: id }, `Why reject ${o.id}? (optional, up to 500 characters)`), reason, reasonError.el),
      h('div', { class: 'pager' },
        h('button', { type: 'submit', class: 'danger' }, 'Confirm rejection'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { extra.remove(); button.focus(); } }, 'Keep the order')),
      formMsgs.alert);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      errors.clear();
      try {
        const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
        const r = await api('POST', `/v1/port-outs/${encodeURIComponent(o.id)}/reject`, body);
        msgs.ok(`Order ${r.id} is ${r.status}.`);
        await load();
      } catch (e) { errors.report(e); }
    });
    const extra = h('tr', { class: 'reject' }, h('td', { colspan: HEADERS.length, class: 'wrap' }, form));
    row.after(extra);
    reason.focus();
  };

  const load = async () => {
    try {
      const r = await api('GET', `/v1/port-outs${qs({ status: filter.value, limit: 20, nextToken: pages[page] })}`);
      pages[page + 1] = r.nextToken;
      const rows = r.items.map((o) => {
        const row = h('tr', {},
          h('td', {}, o.id), h('td', {}, o.status), numbers(o.phoneNumbers || []),
          h('td', { class: 'narrow' }, o.carrierId), source(o), h('td', { class: 'narrow' }, o.pon || '—'),
          created(o.createdAt));
        row.append(h('td', { class: 'words' }, OPEN.has(o.status)
          ? h('button', { type: 'button', class: 'danger', 'aria-label': `Reject order ${o.id}`, onclick: (ev) => rejectForm(o, row, ev.currentTarget) }, 'Reject')
          : (o.closedBy ? `closed by ${o.closedBy.replace('_', ' ')}` : '—')));
        return row;
      });
      list.replaceChildren(table('Port orders, newest first', HEADERS, rows));
      pager.replaceChildren(
        page > 0 ? h('button', { type: 'button', class: 'secondary', onclick: () => { page -= 1; load(); } }, 'Newer orders') : '',
        r.nextToken ? h('button', { type: 'button', class: 'secondary', onclick: () => { page += 1; load(); } }, 'Older orders') : '');
    } catch (e) { list.replaceChildren(); msgs.error(e); }
  };
  filter.addEventListener('change', () => { pages.length = 1; page = 0; load(); });
  root.append(h('h1', {}, title),
    h('section', { class: 'card', 'aria-labelledby': 'po-h' },
      h('h2', { id: 'po-h' }, 'Port-out requests for your numbers'),
      h('p', { class: 'muted' }, 'Reject any port-out you did not ask for: its numbers stay with you and the carrier is told.'),
      h('div', { class: 'field' }, h('label', { for: 'po-status' }, 'Status'), filter),
      msgs.alert, msgs.status, list, pager));
  await load();
}
