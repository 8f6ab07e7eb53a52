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
  } catch {
    msgs.ok('Select the text and copy it (the browser refused clipboard access).');
  }
}

export const onOff = (on) => h('span', { class: `badge ${on ? 'on' : 'off'}` }, on ? 'On' : 'Off');
