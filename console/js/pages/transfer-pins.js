// One-time transfer PINs: contract §12. The PIN is shown once, at creation.
import { fieldError, formErrors, h, messages, shownOnce, table, uid, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Transfer PINs';

/** The numbers route is not there at all (a deployment without it): not an error of this tenant. */
const routeAbsent = (e) => e.status === 405 || (e.status === 404 && (!e.code || e.code === 'NOT_FOUND'));

// The errors that name the numbers (contract §12): not valid, not on the
// account, none or over 50.
const NUMBER_CODES = ['INVALID_PHONE_NUMBER', 'NUMBER_NOT_ON_ACCOUNT', 'DUPLICATE_PHONE_NUMBER', 'INVALID_REQUEST'];

export async function render(root) {
  const msgs = messages();
  const listMsgs = messages();
  const once = h('div', { 'aria-live': 'polite' });
  const picker = h('div', {}, h('p', {}, 'Loading your numbers…'));
  const list = h('div', {});
  const create = h('button', { type: 'submit', id: 'tp-create', disabled: true }, 'Create transfer PIN');
  const filter = h('select', { id: 'tp-status' },
    [['active', 'Active'], ['', 'All'], ['used', 'Used'], ['revoked', 'Revoked'], ['expired', 'Expired']]
      .map(([v, t]) => h('option', { value: v }, t)));
  let chosen = () => [];
  let errors = formErrors(msgs);

  const loadNumbers = async () => {
    picker.replaceChildren(h('p', {}, 'Loading your numbers…'));
    create.disabled = true;
    try {
      const r = await api('GET', `/v1/numbers${qs({ limit: 100 })}`);
      const boxes = r.items.map((n) => {
        const id = uid('tp-n');
        return h('label', { class: 'check', for: id }, h('input', { type: 'checkbox', id, value: n.phoneNumber }), n.phoneNumber);
      });
      const set = h('fieldset', { id: 'tp-numbers' }, h('legend', {}, 'Numbers this PIN may move'), boxes);
      const first = set.querySelector('input') || set;
      const error = fieldError(set, { id: 'tp-numbers-error', codes: NUMBER_CODES, focus: first });
      errors = formErrors(msgs, error);
      picker.replaceChildren(set, error.el);
      chosen = () => [...set.querySelectorAll('input:checked')].map((b) => b.value);
    } catch (e) {
      if (!routeAbsent(e)) {
        // A 401, a 503...: said, with a way to try again; nothing to choose from meanwhile.
        msgs.error(e);
        picker.replaceChildren(h('p', {}, h('button', { type: 'button', class: 'secondary', id: 'tp-numbers-retry', onclick: () => { msgs.clear(); loadNumbers(); } },
          'Load your numbers again')));
        return;
      }
      // Without the numbers route, type them.
      const ta = h('textarea', { id: 'tp-numbers', rows: 2, 'aria-describedby': 'tp-numbers-help' });
      const error = fieldError(ta, { id: 'tp-numbers-error', codes: NUMBER_CODES });
      errors = formErrors(msgs, error);
      picker.replaceChildren(h('div', { class: 'field' }, h('label', { for: 'tp-numbers' }, 'Numbers this PIN may move'), ta,
        h('span', { id: 'tp-numbers-help', class: 'muted' }, 'One or more numbers, separated by commas or new lines.'), error.el));
      chosen = () => ta.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    }
    create.disabled = false;
  };

  const revoke = async (id) => {
    try { await api('DELETE', `/v1/transfer-pins/${encodeURIComponent(id)}`); listMsgs.ok(`${id} is revoked.`); await load(); } catch (e) { listMsgs.error(e); }
  };
  const load = async () => {
    try {
      const r = await api('GET', `/v1/transfer-pins${qs({ status: filter.value, limit: 50 })}`);
      list.replaceChildren(table('Transfer PINs', ['Id', 'Status', 'Numbers', 'Created', 'Expires', 'Order', 'Action'],
        r.items.map((t) => h('tr', {},
          h('td', {}, t.id), h('td', {}, t.status), h('td', { class: 'wrap' }, (t.phoneNumbers || []).join(', ')),
          h('td', {}, when(t.createdAt)), h('td', {}, when(t.expiresAt)), h('td', {}, t.portOutId || '—'),
          h('td', {}, t.status === 'active'
            ? h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke transfer PIN ${t.id}`, onclick: () => revoke(t.id) }, 'Revoke') : '—')))));
    } catch (e) { list.replaceChildren(); listMsgs.error(e); }
  };
  filter.addEventListener('change', load);

  const form = h('form', { class: 'card', 'aria-labelledby': 'tp-new', novalidate: true },
    h('h2', { id: 'tp-new' }, 'New transfer PIN'),
    h('p', { class: 'muted' }, 'A single-use PIN for a port-out you asked for: give it to the gaining carrier. It moves only the numbers you pick and expires after a few days.'),
    picker, create, msgs.alert, msgs.status, once);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    once.replaceChildren();
    errors.clear();
    try {
      const t = await api('POST', '/v1/transfer-pins', { phoneNumbers: chosen() });
      once.replaceChildren(shownOnce({
        label: `Transfer PIN ${t.id}`,
        lead: `Transfer PIN ${t.id} for ${t.phoneNumbers.join(', ')}, valid until ${when(t.expiresAt)}:`,
        secret: t.pin, copyLabel: 'Copy PIN', id: 'tp-secret',
      }));
      await load();
    } catch (e) { errors.report(e); }
  });
  root.append(h('h1', {}, title), form,
    h('section', { class: 'card', 'aria-labelledby': 'tp-list' }, h('h2', { id: 'tp-list' }, 'Your transfer PINs'),
      h('div', { class: 'field' }, h('label', { for: 'tp-status' }, 'Show'), filter), list, listMsgs.alert, listMsgs.status));
  await Promise.all([loadNumbers(), load()]);
}
