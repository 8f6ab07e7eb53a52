// The notification endpoint: contract §14. The signing secret is shown
// only when it is created or rotated.
import { fieldError, formErrors, h, messages, shownOnce, when } from '../dom.js';
import { api } from '../api.js';

export const title = 'Notifications';

export async function render(root) {
  const msgs = messages();
  const info = h('div', {});
  const once = h('div', { 'aria-live': 'polite' });
  const url = h('input', { id: 'ne-url', type: 'url', placeholder: 'https://hooks.example.com/portguard', 'aria-describedby': 'ne-help' });
  const urlError = fieldError(url, { id: 'ne-url-error', codes: ['INVALID_URL', 'INVALID_REQUEST'] });
  const errors = formErrors(msgs, urlError);

  const showSecret = (ep) => {
    if (!ep.secret) return;
    once.replaceChildren(shownOnce({
      label: 'Signing secret', lead: 'Your endpoint checks each delivery with this Standard Webhooks secret:',
      secret: ep.secret, copyLabel: 'Copy secret', id: 'ne-secret',
    }));
  };
  const show = (ep) => {
    if (!ep) { info.replaceChildren(h('p', {}, 'No endpoint yet: portguard tells you nothing until you set one.')); return; }
    url.value = ep.url;
    info.replaceChildren(h('dl', { class: 'kv' },
      h('dt', {}, 'URL'), h('dd', {}, ep.url),
      h('dt', {}, 'Last delivery'), h('dd', {}, when(ep.lastDeliveryAt)),
      h('dt', {}, 'Last failure'), h('dd', {}, ep.lastFailureAt ? `${when(ep.lastFailureAt)}: ${ep.lastFailure || 'unknown'}` : '—'),
      h('dt', {}, 'Updated'), h('dd', {}, when(ep.updatedAt))));
  };
  const put = async (rotateSecret) => {
    once.replaceChildren();
    errors.clear();
    try {
      const ep = await api('PUT', '/v1/notification-endpoint', { url: url.value.trim(), rotateSecret });
      show(ep); showSecret(ep);
      msgs.ok(rotateSecret ? 'A new secret is in force.' : 'Endpoint saved.');
    } catch (e) { errors.report(e); }
  };
  const form = h('form', { class: 'card', 'aria-labelledby': 'ne-set', novalidate: true },
    h('h2', { id: 'ne-set' }, 'Endpoint'),
    h('div', { class: 'field' }, h('label', { for: 'ne-url' }, 'HTTPS URL'), url,
      h('span', { id: 'ne-help', class: 'muted' }, 'portguard POSTs every audit event here at once, signed (Standard Webhooks).'), urlError.el),
    h('div', { class: 'pager' },
      h('button', { type: 'submit' }, 'Save endpoint'),
      h('button', { type: 'button', class: 'secondary', onclick: () => put(true) }, 'Rotate secret'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        once.replaceChildren();
        errors.clear();
        try { await api('DELETE', '/v1/notification-endpoint'); url.value = ''; show(null); msgs.ok('Endpoint removed.'); } catch (e) { msgs.error(e); }
      } }, 'Remove endpoint')),
    msgs.alert, msgs.status, once);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); put(false); });
  root.append(h('h1', {}, title), h('section', { class: 'card', 'aria-labelledby': 'ne-state' },
    h('h2', { id: 'ne-state' }, 'Delivery'), info), form);
  try { show(await api('GET', '/v1/notification-endpoint')); } catch (e) {
    if (e.code === 'NOTIFICATION_ENDPOINT_NOT_FOUND') show(null); else { info.replaceChildren(); msgs.error(e); }
  }
}
