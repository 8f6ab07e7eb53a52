// "Set or change your port out PIN": contract §3.
import { fieldError, formErrors, h, messages, when } from '../dom.js';
import { api } from '../api.js';

export const title = 'Port out PIN';

// Locks are per carrier (contract §4.1): each carrier that guessed wrong
// too often is named, with when its lock ends.
function lockOf(s) {
  const carriers = s.lockedCarriers || [];
  if (!s.locked || carriers.length === 0) return 'Not locked';
  return h('ul', { id: 'pin-locked-carriers' }, ...carriers.map((c) => h('li', {},
    c.until ? `${c.carrierId}: locked after failed attempts until ${when(c.until)}`
      : `${c.carrierId}: locked until a new PIN is set`)));
}

function statusOf(s) {
  return h('dl', { class: 'kv', id: 'pin-status' },
    h('dt', {}, 'PIN'), h('dd', {}, s.pinSet ? 'Set' : 'Not set'),
    h('dt', {}, 'Last changed'), h('dd', {}, when(s.updatedAt)),
    h('dt', {}, 'Lock'), h('dd', {}, lockOf(s)));
}

export async function render(root) {
  const msgs = messages();
  const status = h('div', {}, h('p', {}, 'Loading…'));
  const load = async () => {
    try { status.replaceChildren(statusOf(await api('GET', '/v1/pin'))); } catch (e) { status.replaceChildren(); msgs.error(e); }
  };
  const input = h('input', {
    id: 'pin', name: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password',
    'aria-describedby': 'pin-rules pin-error', maxlength: 64, spellcheck: 'false',
  });
  // The PIN's own faults go under it; any other (not eligible, unavailable) below the form.
  const pinError = fieldError(input, { id: 'pin-error', codes: ['PIN_REQUIRED', 'INVALID_PIN_FORMAT', 'WEAK_PIN', 'PIN_UNCHANGED', 'INVALID_REQUEST'] });
  const errors = formErrors(msgs, pinError);
  const show = h('input', { type: 'checkbox', id: 'pin-show' });
  show.addEventListener('change', () => { input.type = show.checked ? 'text' : 'password'; });
  const save = h('button', { type: 'submit', id: 'pin-save' }, 'Save');
  const form = h('form', { class: 'card', 'aria-labelledby': 'pin-form-title' },
    h('h2', { id: 'pin-form-title' }, 'Set or change your port out PIN'),
    h('div', { class: 'row' },
      h('div', {},
        h('div', { class: 'field' }, h('label', { for: 'pin' }, 'New PIN'), input, pinError.el),
        h('label', { class: 'check', for: 'pin-show' }, show, 'Show the PIN while typing'),
        h('p', {}, save)),
      h('div', {},
        h('p', { id: 'pin-rules-title' }, h('strong', {}, 'The PIN must be')),
        h('ul', { class: 'rules', id: 'pin-rules', 'aria-labelledby': 'pin-rules-title' },
          h('li', {}, '6 to 10 digits (0–9 only, no spaces or signs)'),
          h('li', {}, 'not one digit repeated (000000)'),
          h('li', {}, 'not a sequence up or down (123456, 987654)'),
          h('li', {}, 'not a short block repeated (121212, 123123)'),
          h('li', {}, 'not part of your account number or phone numbers')),
        h('p', { class: 'muted' }, 'Gaining carriers must quote this PIN to move your numbers. It cannot be removed once set; portguard never shows it again.'))),
    msgs.alert, msgs.status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    errors.clear();
    try {
      const s = await api('PUT', '/v1/pin', { pin: input.value });
      input.value = '';
      status.replaceChildren(statusOf(s));
      msgs.ok('Your port out PIN is saved.');
    } catch (e) { errors.report(e); } finally { save.disabled = false; }
  });
  root.append(h('h1', {}, title), h('section', { class: 'card', 'aria-labelledby': 'pin-status-title' },
    h('h2', { id: 'pin-status-title' }, 'Status'), status), form);
  await load();
}
