// One-time transfer PINs: contract §12. The PIN is shown once, at creation.
import { copy, h, messages, table, uid, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Transfer PINs';

export async function render(root) {
  const msgs = messages();
  const listMsgs = messages();
  const once = h('div', { 'aria-live': 'polite' });
  const picker = h('div', {}, h('p', {}, 'Loading your numbers…'));
  const list = h('div', {});
  const filter = h('select', { id: 'tp-status' },
    [['active', 'Active'], ['', 'All'], ['used', 'Used'], ['revoked', 'Revoked'], ['expired', 'Expired']]
      .map(([v, t]) => h('option', { value: v }, t)));
  let chosen = () => [];

  try {
    const r = await api('GET', `/v1/numbers${qs({ limit: 100 })}`);
    const boxes = r.items.map((n) => {
      const id = uid('tp-n');
      return h('label', { class: 'check', for: id }, h('input', { type: 'checkbox', id, value: n.phoneNumber }), n.phoneNumber);
    });
    picker.replaceChildren(h('fieldset', {}, h('legend', {}, 'Numbers this PIN may move'), boxes));
    chosen = () => [...picker.querySelectorAll('input:checked')].map((b) => b.value);
  } catch {
    // Without the numbers route, type them.
    const ta = h('textarea', { id: 'tp-numbers', rows: 2, 'aria-describedby': 'tp-numbers-help' });
    picker.replaceChildren(h('div', { class: 'field' }, h('label', { for: 'tp-numbers' }, 'Numbers this PIN may move'), ta,
      h('span', { id: 'tp-numbers-help', class: 'muted' }, 'One or more numbers, separated by commas or new lines.')));
    chosen = () => ta.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  }

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

  const form = h('form', { class: 'card', 'aria-labelledby': 'tp-new' },
    h('h2', { id: 'tp-new' }, 'New transfer PIN'),
    h('p', { class: 'muted' }, 'A single-use PIN for a port-out you asked for: give it to the gaining carrier. It moves only the numbers you pick and expires after a few days.'),
    picker, h('button', { type: 'submit' }, 'Create transfer PIN'), msgs.alert, msgs.status, once);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    once.replaceChildren();
    try {
      const t = await api('POST', '/v1/transfer-pins', { phoneNumbers: chosen() });
      msgs.clear();
      const copyMsgs = messages();
      once.replaceChildren(h('div', { class: 'once' },
        h('p', {}, h('strong', {}, 'Shown only now. '), `Transfer PIN ${t.id} for ${t.phoneNumbers.join(', ')}, valid until ${when(t.expiresAt)}:`),
        h('p', { class: 'secret', id: 'tp-secret' }, t.pin),
        h('button', { type: 'button', onclick: () => copy(t.pin, copyMsgs) }, 'Copy PIN'), copyMsgs.status));
      await load();
    } catch (e) { msgs.error(e); }
  });
  root.append(h('h1', {}, title), form,
    h('section', { class: 'card', 'aria-labelledby': 'tp-list' }, h('h2', { id: 'tp-list' }, 'Your transfer PINs'),
      h('div', { class: 'field' }, h('label', { for: 'tp-status' }, 'Show'), filter), list, listMsgs.alert, listMsgs.status));
  await load();
}
