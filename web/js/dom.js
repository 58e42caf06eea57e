// Small DOM helpers the page's modules share: elements, buttons, the file-type icons, the
// one live region that announces what happened, and errors shown as a sentence with the
// technical details one click away.

import { errorDetail } from './words.js';

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element with attributes and, optionally, text. */
export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A button; `label` names it for assistive technology when its text alone is ambiguous. */
export function button(text, onClick, label, className) {
  const b = el('button', { type: 'button' }, text);
  if (label) b.setAttribute('aria-label', label);
  if (className) b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

const ICON_KINDS = new Set(['image', 'video', 'audio', '3d', 'model', 'text', 'avatar', 'asset']);

/** The file-type icon of an upload kind (decorative: the kind is written next to it). */
export function kindIcon(kind) {
  const name = ICON_KINDS.has(kind) ? kind : 'asset';
  return el('img', { src: `/web/vendor/icons/${name}.svg`, alt: '', class: 'icon', width: '24', height: '24' });
}

/** Says `text` to screen readers (the page's polite live region). */
export function announce(text) {
  $('live').textContent = text;
}

/**
 * Fills `container` with a sentence for people and, when `error` carries any, the technical
 * details (HTTP status, the server's reason, the trace id) in a closed disclosure.
 */
export function showError(container, sentence, error) {
  container.replaceChildren(el('p', { class: 'error-text' }, sentence));
  const detail = errorDetail(error);
  if (detail) {
    const more = el('details', { class: 'trace' });
    more.append(el('summary', {}, 'Details'), el('p', {}, detail));
    container.append(more);
  }
}

/** Stops every audio and video player under `root` from loading more, before it is dropped. */
export function stopMedia(root) {
  for (const player of root.querySelectorAll('video, audio')) {
    player.pause();
    player.removeAttribute('src');
    player.load();
  }
}
