// Small DOM helpers. Text goes in as text nodes, never as HTML.

/** h('button', {class: 'x', onclick: f}, 'Save') */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let ids = 0;
/** A fresh element id with a readable prefix. */
export const uid = (p) => `${p}-${++ids}`;

/** "2026-12-01 10:00 UTC" for an RFC 3339 time, or "—". */
export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** An alert region (errors) and a status region (success), announced by screen readers. */
export function messages() {
  const alert = h('div', { class: 'alert', role: 'alert' });
  const status = h('div', { class: 'status', role: 'status' });
  return {
    alert, status,
    error(e) { status.textContent = ''; alert.textContent = e ? errorText(e) : ''; },
    ok(msg) { alert.textContent = ''; status.textContent = msg; },
    clear() { alert.textContent = ''; status.textContent = ''; },
  };
}

/** The contract's own message for an API error (or API Gateway's). */
export function errorText(e) {
  if (e && e.apiMessage) return e.apiMessage;
  return (e && e.message) || 'Something went wrong.';
}

/** A table in a focusable scroll region (tables scroll sideways on a phone). */
export function table(caption, headers, rows) {
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing yet.')))));
}

/** Copies text, announcing the result through `msgs`. */
export async function copy(text, msgs) {
  try {
    await navigator.clipboard.writeText(text);
    msgs.ok('Copied to the clipboard.');
  } catch (e) {
    // Said, not thrown: the text is on screen to copy by hand (a click
    // selects all of it), and the browser's reason is kept for the console.
    console.warn('clipboard refused:', e);
    msgs.ok('Select the text and copy it (the browser refused clipboard access).');
  }
}

/**
 * An error tied to its field: an alert element to put under the field,
 * which the field's aria-describedby names. `field` is an input, a textarea
 * or a fieldset of checkboxes (`focus` is then the box to focus). `codes`
 * are the API error codes that name this field, or a test of the error.
 *   show(e or message): the message under the field, the field marked
 *     aria-invalid="true" and focused;
 *   clear(): neither (each submit, and typing in the field, clear it).
 */
export function fieldError(field, { id = `${field.id}-error`, codes = [], focus = field } = {}) {
  const el = h('div', { class: 'alert', role: 'alert', id });
  const described = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  if (!described.includes(id)) field.setAttribute('aria-describedby', [...described, id].join(' '));
  const names = typeof codes === 'function' ? codes : (e) => Boolean(e && e.code && codes.includes(e.code));
  const clear = () => { el.textContent = ''; field.removeAttribute('aria-invalid'); };
  field.addEventListener('input', clear);
  return {
    el, names, clear,
    show(e) {
      el.textContent = typeof e === 'string' ? e : errorText(e);
      field.setAttribute('aria-invalid', 'true');
      focus.focus();
    },
  };
}

/**
 * A form's errors: an API error that names one of `fields` (fieldError) goes
 * under it; any other is said in the form's messages. clear() at each submit.
 */
export function formErrors(msgs, ...fields) {
  return {
    clear() { msgs.clear(); for (const f of fields) f.clear(); },
    /** Shows `e` where it belongs; the field it named, or null. */
    report(e) {
      const f = fields.find((x) => x.names(e)) || null;
      if (f) { msgs.clear(); f.show(e); } else msgs.error(e);
      return f;
    },
  };
}

/**
 * A secret shown once (a transfer PIN, a webhook signing secret): what it is
 * (`lead`), the secret in large type, and a button that copies it and says
 * whether it could. A group named `label`; put it in an aria-live region so
 * it is read out when it appears. `id` names the secret's element.
 */
export function shownOnce({ lead, label, secret, copyLabel, id = null }) {
  const copyMsgs = messages();
  return h('div', { class: 'once', role: 'group', 'aria-label': label },
    h('p', {}, h('strong', {}, 'Shown only now. '), lead),
    h('p', { class: 'secret', id }, secret),
    h('button', { type: 'button', onclick: () => copy(secret, copyMsgs) }, copyLabel), copyMsgs.status);
}

export const onOff = (on) => h('span', { class: `badge ${on ? 'on' : 'off'}` }, on ? 'On' : 'Off');
