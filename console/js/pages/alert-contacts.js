// Alert contacts: contract §17. Addresses told of the audit trail by email,
// the kinds of event each chose; a new one is sent a 6-digit code and gets
// nothing else until the code is entered here.
import { errorText, fieldError, formErrors, h, messages, when } from '../dom.js';
import { api } from '../api.js';
import { EVENT_GROUPS, EVENT_TYPES, typeName } from './audit.js';

export const title = 'Alert contacts';
const MAX = 5;

/** The chosen kinds of event in words. */
function typesInWords(types) {
  const set = new Set(types || []);
  if (EVENT_TYPES.every((t) => set.has(t))) return 'Every event';
  const names = EVENT_TYPES.filter((t) => set.has(t)).map(typeName);
  return `${names.length} of ${EVENT_TYPES.length}: ${names.join(', ')}`;
}

/**
 * The event types as checkboxes in labelled groups, "every event" above
 * them (checked, partly checked or not). `prefix` makes the ids unique.
 */
function typePicker(prefix, legend, chosen) {
  const helpId = `${prefix}-types-help`;
  const all = h('input', { type: 'checkbox', id: `${prefix}-all` });
  const boxes = [];
  const groups = EVENT_GROUPS.map(([name, types]) => h('fieldset', { class: 'group' }, h('legend', {}, name),
    types.map(([t, label]) => {
      const id = `${prefix}-t-${t.replace(/[^a-z]/g, '-')}`;
      const box = h('input', { type: 'checkbox', id, name: 'types', value: t, checked: chosen.includes(t) });
      boxes.push(box);
      return h('label', { class: 'check', for: id }, box, label);
    })));
  const sync = () => {
    const n = boxes.filter((b) => b.checked).length;
    all.checked = n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
  };
  all.addEventListener('change', () => { for (const b of boxes) b.checked = all.checked; sync(); });
  for (const b of boxes) b.addEventListener('change', sync);
  sync();
  const el = h('fieldset', { class: 'types', 'aria-describedby': helpId },
    h('legend', {}, legend),
    h('p', { id: helpId, class: 'muted' }, 'One email at once for each event of these kinds, at most 30 an hour.'),
    h('label', { class: 'check', for: all.id }, all, h('strong', {}, 'Every event (recommended)')),
    h('div', { class: 'groups' }, groups));
  // A bad `types` is INVALID_REQUEST naming them (contract §17).
  const error = fieldError(el, { id: `${prefix}-types-error`, focus: all,
    codes: (e) => e.code === 'INVALID_REQUEST' && /type/.test(errorText(e)) });
  el.append(error.el);
  return {
    el,
    error,
    first: all,
    value: () => boxes.filter((b) => b.checked).map((b) => b.value),
    every: () => boxes.every((b) => b.checked),
    reset() { for (const b of boxes) b.checked = true; sync(); },
  };
}

export async function render(root) {
  const msgs = messages();
  const listMsgs = messages();
  const list = h('div', {});
  const count = h('p', { class: 'muted', id: 'ac-count' });
  const listHeading = h('h2', { id: 'ac-list-h', tabindex: -1 }, 'Your contacts');

  /** After the list is drawn again: the focus to the element of this id. */
  const focus = (id) => { const el = document.getElementById(id); if (el) el.focus(); };

  /** Says what became of a contact just added (or added again), and moves the focus on. */
  const added = (c) => {
    if (c.lastFailure) {
      listMsgs.error(new Error(`${c.email} is added, but its code was not sent (${c.lastFailure}). Remove it and add it again for a new code.`));
      focus(`ac-${c.id}-h`);
    } else {
      listMsgs.ok(`${c.email} is added and was emailed a 6-digit code. Enter the code below: it gets no alerts until then.`);
      focus(`ac-${c.id}-code`);
    }
  };

  const readd = async (c) => {
    try {
      await api('DELETE', `/v1/alert-contacts/${encodeURIComponent(c.id)}`);
      const again = await api('POST', '/v1/alert-contacts', { email: c.email, types: c.types });
      await load();
      added(again);
    } catch (e) { listMsgs.error(e); await load(); }
  };

  const confirmForm = (c, base) => {
    const codeId = `${base}-code`;
    const helpId = `${base}-code-help`;
    const fix = h('div', {});
    const input = h('input', {
      id: codeId, name: 'code', type: 'text', class: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
      maxlength: 7, spellcheck: 'false', 'aria-describedby': helpId,
    });
    // The submit below says each refusal of the code under it.
    const error = fieldError(input);
    const form = h('form', { class: 'confirm', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: codeId }, `Code sent to ${c.email}`), input,
        h('span', { id: helpId, class: 'muted' }, '6 digits, valid for 24 hours; 5 wrong tries end it.'),
        error.el),
      h('button', { type: 'submit', 'aria-label': `Confirm ${c.email}` }, 'Confirm'), fix);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fix.replaceChildren();
      error.clear();
      const code = input.value.replace(/\s/g, '');
      if (!/^[0-9]{6}$/.test(code)) {
        error.show(`Enter the 6 digits of the code emailed to ${c.email}.`);
        return;
      }
      try {
        await api('POST', `/v1/alert-contacts/${encodeURIComponent(c.id)}/confirm`, { code });
        await load();
        listMsgs.ok(`${c.email} is confirmed: it now gets the alerts it was chosen for.`);
        focus(`${base}-h`);
      } catch (e) {
        if (e.code === 'INVALID_CONFIRMATION_CODE') {
          const left = e.details && Number.isInteger(e.details.attemptsLeft) ? e.details.attemptsLeft : null;
          const tries = left === null ? '' : ` ${left} ${left === 1 ? 'try' : 'tries'} left.`;
          const m = errorText(e);
          error.show(`${m}${/[.!]$/.test(m) ? '' : '.'}${tries}`);
        } else if (e.code === 'CONFIRMATION_EXPIRED') {
          error.show(e);
          fix.replaceChildren(h('button', { type: 'button', class: 'secondary', onclick: () => readd(c) },
            `Remove and add ${c.email} again`));
        } else if (e.code === 'ALERT_CONTACT_NOT_FOUND') {
          listMsgs.error(e); await load(); listHeading.focus();
        } else {
          error.show(e);
        }
      }
    });
    return form;
  };

  const card = (c) => {
    const base = `ac-${c.id}`;
    const confirmed = c.status === 'confirmed';
    const edit = h('div', { id: `${base}-types`, hidden: true });
    const ask = h('div', {});
    const editBtn = h('button', { type: 'button', class: 'secondary', id: `${base}-edit`, 'aria-expanded': 'false',
      'aria-controls': edit.id, 'aria-label': `Choose alerts for ${c.email}` }, 'Choose alerts');
    const removeBtn = h('button', { type: 'button', class: 'danger', id: `${base}-remove`, 'aria-label': `Remove ${c.email}` }, 'Remove');

    const closeEdit = () => { edit.hidden = true; edit.replaceChildren(); editBtn.setAttribute('aria-expanded', 'false'); };
    editBtn.addEventListener('click', () => {
      if (!edit.hidden) { closeEdit(); return; }
      const picker = typePicker(base, `Alerts for ${c.email}`, c.types || []);
      const form = h('form', { novalidate: true }, picker.el,
        h('div', { class: 'pager' },
          h('button', { type: 'submit' }, 'Save alerts'),
          h('button', { type: 'button', class: 'secondary', onclick: () => { closeEdit(); editBtn.focus(); } }, 'Cancel')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        picker.error.clear();
        const types = picker.value();
        if (!types.length) { picker.error.show('Choose at least one kind of event: to stop every alert, remove the contact.'); return; }
        try {
          const saved = await api('PATCH', `/v1/alert-contacts/${encodeURIComponent(c.id)}`, { types });
          await load();
          listMsgs.ok(`Alerts for ${c.email} saved: ${typesInWords(saved.types)}.`);
          focus(`${base}-edit`);
        } catch (e) {
          if (e.code === 'ALERT_CONTACT_NOT_FOUND') { listMsgs.error(e); await load(); listHeading.focus(); } else picker.error.show(e);
        }
      });
      edit.replaceChildren(form);
      edit.hidden = false;
      editBtn.setAttribute('aria-expanded', 'true');
      picker.first.focus();
    });

    removeBtn.addEventListener('click', () => {
      const q = h('p', { id: `${base}-ask`, tabindex: -1 },
        `Remove ${c.email}? It gets no more alerts; to add it again, it must confirm a new code.`);
      const keep = () => { ask.replaceChildren(); removeBtn.focus(); };
      ask.replaceChildren(h('div', { class: 'once', role: 'group', 'aria-labelledby': q.id }, q,
        h('div', { class: 'pager' },
          h('button', { type: 'button', class: 'danger', id: `${base}-remove-yes`, onclick: async () => {
            try {
              await api('DELETE', `/v1/alert-contacts/${encodeURIComponent(c.id)}`);
              await load();
              listMsgs.ok(`${c.email} is removed: it gets no more alerts.`);
            } catch (e) { listMsgs.error(e); await load(); }
            listHeading.focus();
          } }, 'Remove contact'),
          h('button', { type: 'button', class: 'secondary', onclick: keep }, 'Keep contact'))));
      q.focus();
    });

    const failure = c.lastFailure && !confirmed
      ? h('div', { class: 'once' }, h('p', {}, h('strong', {}, 'The code was not sent. '),
        'Remove this contact and add it again for a new code.'),
      h('button', { type: 'button', class: 'secondary', onclick: () => readd(c) }, `Remove and add ${c.email} again`))
      : null;

    return h('li', { class: 'card contact', id: base },
      h('h3', { id: `${base}-h`, tabindex: -1 }, c.email),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Status'), h('dd', {}, confirmed
          ? h('span', { class: 'badge on' }, 'Confirmed')
          : h('span', { class: 'badge off' }, 'Waiting for its code')),
        h('dt', {}, 'Alerts'), h('dd', {}, typesInWords(c.types)),
        h('dt', {}, 'Added'), h('dd', {}, when(c.createdAt)),
        confirmed ? [h('dt', {}, 'Confirmed'), h('dd', {}, when(c.confirmedAt))] : null,
        h('dt', {}, 'Last alert sent'), h('dd', {}, when(c.lastDeliveryAt)),
        h('dt', {}, 'Last failure'), h('dd', {}, c.lastFailure || '—')),
      failure,
      confirmed ? null : confirmForm(c, base),
      h('div', { class: 'pager' }, editBtn, removeBtn),
      edit, ask);
  };

  const load = async () => {
    try {
      const r = await api('GET', '/v1/alert-contacts');
      const items = r.items || [];
      count.textContent = items.length >= MAX
        ? `${items.length} of ${MAX} contacts, the most an account may have: remove one to add another.`
        : `${items.length} of ${MAX} contacts.`;
      list.replaceChildren(items.length
        ? h('ul', { class: 'plain contacts', 'aria-labelledby': 'ac-list-h' }, items.map(card))
        : h('p', {}, 'No contacts yet: nobody hears of port-out attempts by email until you add one.'));
    } catch (e) { list.replaceChildren(); count.textContent = ''; listMsgs.error(e); }
  };

  // Adding a contact.
  const email = h('input', {
    id: 'ac-email', name: 'email', type: 'email', autocomplete: 'email', spellcheck: 'false', maxlength: 254,
    'aria-describedby': 'ac-email-help',
  });
  const emailError = fieldError(email, { codes: ['INVALID_EMAIL', 'ALERT_CONTACT_EXISTS'] });
  const picker = typePicker('ac-new', 'Alerts it gets', EVENT_TYPES);
  const errors = formErrors(msgs, emailError, picker.error);
  const add = h('button', { type: 'submit', id: 'ac-add' }, 'Add contact');
  const form = h('form', { class: 'card', 'aria-labelledby': 'ac-add-h', novalidate: true },
    h('h2', { id: 'ac-add-h' }, 'Add a contact'),
    h('div', { class: 'field' }, h('label', { for: 'ac-email' }, 'Email address'), email,
      h('span', { id: 'ac-email-help', class: 'muted' }, 'A person or a shared mailbox read at once, such as ops@example.com.'),
      emailError.el),
    picker.el, add, msgs.alert, msgs.status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    const address = email.value.trim();
    if (!address) { emailError.show('Enter the email address to alert, such as ops@example.com.'); return; }
    const types = picker.value();
    if (!types.length) { picker.error.show('Choose at least one kind of event.'); return; }
    add.disabled = true;
    try {
      const c = await api('POST', '/v1/alert-contacts', picker.every() ? { email: address } : { email: address, types });
      email.value = '';
      picker.reset();
      await load();
      added(c);
    } catch (e) { errors.report(e); } finally { add.disabled = false; }
  });

  root.append(h('h1', {}, title),
    h('p', { class: 'muted' }, 'portguard emails these addresses at once about the events of your audit trail each one chose: a port-out attempt reaches a person within minutes, with no server of yours to run.'),
    h('section', { class: 'card', 'aria-labelledby': 'ac-list-h' }, listHeading, count, listMsgs.alert, listMsgs.status, list),
    form);
  await load();
}
