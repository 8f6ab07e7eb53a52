// Port-out protection: contract §11. Turning a setting on acts at once;
// turning it off takes effect later (disableAt), and turning it on again
// cancels that.
import { h, messages, onOff, table, when } from '../dom.js';
import { api, qs } from '../api.js';

export const title = 'Port-out protection';

const SETTINGS = [
  ['lock', 'Port-out lock', 'Refuses every port-out of your account, whatever PIN comes with it.'],
  ['transferPinRequired', 'Transfer PIN required', 'Only a one-time transfer PIN opens a port-out; your account PIN no longer does.'],
];

function state(s) {
  if (!s) return h('span', {}, '—');
  return h('span', {}, onOff(s.enabled), s.disableAt ? ` turns off at ${when(s.disableAt)}` : '');
}

export async function render(root) {
  const msgs = messages();
  const settings = h('div', {}, h('p', {}, 'Loading…'));
  const numbers = h('div', {}, h('p', {}, 'Loading…'));
  const numMsgs = messages();
  let next = null;

  const patch = async (body) => {
    try {
      show(await api('PATCH', '/v1/port-out-protection', body));
      msgs.ok('Saved.');
    } catch (e) { msgs.error(e); }
  };
  const show = (p) => {
    settings.replaceChildren(h('dl', { class: 'kv' },
      SETTINGS.flatMap(([key, label, help]) => {
        const s = p[key];
        const on = s && s.enabled && !s.disableAt;
        return [h('dt', {}, label), h('dd', {},
          state(s), ' ',
          h('button', { type: 'button', class: on ? 'secondary' : '', onclick: () => patch({ [key]: !on }) },
            `${on ? 'Turn off' : 'Turn on'} ${label[0].toLowerCase()}${label.slice(1)}`),
          h('div', { class: 'muted' }, help))];
      })),
    h('p', { class: 'muted' }, `${p.updatedAt ? `Last changed ${when(p.updatedAt)}` : 'Never changed'}. A turn-off takes effect a day later, so a stolen session cannot unlock and port at once.`));
  };
  const lockNumber = async (n, lock) => {
    try {
      await api('PATCH', `/v1/numbers/${encodeURIComponent(n)}`, { lock });
      numMsgs.ok(lock ? `${n} is locked.` : `${n} will unlock after the delay.`);
      await loadNumbers(true);
    } catch (e) { numMsgs.error(e); }
  };
  const rows = [];
  const loadNumbers = async (reset) => {
    if (reset) { rows.length = 0; next = null; }
    try {
      const r = await api('GET', `/v1/numbers${qs({ limit: 50, nextToken: next })}`);
      next = r.nextToken;
      for (const n of r.items) {
        const on = n.lock && n.lock.enabled && !n.lock.disableAt;
        rows.push(h('tr', {},
          h('td', {}, n.phoneNumber), h('td', {}, state(n.lock)), h('td', {}, n.portOutId || '—'),
          h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `${on ? 'Unlock' : 'Lock'} ${n.phoneNumber}`, onclick: () => lockNumber(n.phoneNumber, !on) },
            on ? 'Unlock' : 'Lock'))));
      }
      numbers.replaceChildren(table('Your numbers', ['Number', 'Lock', 'Open port-out', 'Action'], rows),
        next ? h('div', { class: 'pager' }, h('button', { type: 'button', class: 'secondary', onclick: () => loadNumbers(false) }, 'More numbers')) : '');
    } catch (e) { numbers.replaceChildren(); numMsgs.error(e); }
  };
  root.append(h('h1', {}, title),
    h('section', { class: 'card', 'aria-labelledby': 'prot-acc' }, h('h2', { id: 'prot-acc' }, 'Your account'), settings, msgs.alert, msgs.status),
    h('section', { class: 'card', 'aria-labelledby': 'prot-num' }, h('h2', { id: 'prot-num' }, 'Number locks'), numbers, numMsgs.alert, numMsgs.status));
  try { show(await api('GET', '/v1/port-out-protection')); } catch (e) { settings.replaceChildren(); msgs.error(e); }
  await loadNumbers(true);
}
