// What an imported upload became, shown in the page: image, video and audio players, a 3D
// viewer for glb/gltf (the vendored <model-viewer>, loaded only when first needed), an
// asset's properties or a model's metadata under labels with units, and the raw JSON one
// click away.

import { isAborted } from './api.js';
import { el } from './dom.js';
import { modelRows, propertyRows } from './words.js';

let viewerLoaded = null;

/** A <dl> of [label, text] pairs. */
function details(rows) {
  const dl = el('dl', { class: 'details' });
  for (const [label, value] of rows) dl.append(el('dt', {}, label), el('dd', {}, value));
  return dl;
}

/** The answer as the API gave it, behind a disclosure. */
function rawJson(value) {
  const more = el('details', { class: 'raw' });
  // Focusable, so that a keyboard can scroll it.
  more.append(el('summary', {}, 'Raw JSON'), el('pre', { tabindex: '0' }, JSON.stringify(value, null, 2)));
  return more;
}

function isGltf(asset, name) {
  const mime = asset.mimeType || '';
  return mime.startsWith('model/gltf') || /\.(glb|gltf)$/i.test(name);
}

function media(asset, label) {
  const kind = asset.kind;
  const mime = asset.mimeType || '';
  if (kind === 'image' || mime.startsWith('image/')) {
    return el('img', { src: asset.url, alt: `Preview of ${label}`, class: 'media' });
  }
  if (kind === 'video' || mime.startsWith('video/')) {
    return el('video', { src: asset.url, controls: '', preload: 'metadata', class: 'media', 'aria-label': `Video ${label}` });
  }
  if (kind === 'audio' || mime.startsWith('audio/')) {
    return el('audio', { src: asset.url, controls: '', preload: 'metadata', 'aria-label': `Audio ${label}` });
  }
  if (kind === '3d' && isGltf(asset, label)) {
    viewerLoaded = viewerLoaded || import('/web/vendor/model-viewer.min.js');
    const viewer = el('model-viewer', {
      src: asset.url, alt: `3D model ${label}`, 'camera-controls': '', 'auto-rotate': '', class: 'media viewer',
    });
    viewerLoaded.catch(() => viewer.replaceWith(el('p', { class: 'error' }, 'The 3D viewer could not load.')));
    return viewer;
  }
  return null;
}

/**
 * Fills `container` with what `upload` became (imported), or why it failed, read with `api`.
 * Resolves once the entity was read; rejects with an AbortError if the session closed meanwhile.
 */
export async function renderPreview(container, upload, api) {
  container.replaceChildren();
  const label = upload.originalFileName || upload.fileName;
  if (upload.status === 'failed') {
    container.append(el('p', { class: 'error' }, upload.errorMessage || 'The upload failed.'));
    return;
  }
  if (upload.status !== 'imported' || !upload.entityId) {
    container.append(el('p', { class: 'muted' }, `${label} is ${upload.status}; the preview comes once it is imported.`));
    return;
  }
  try {
    if (upload.kind === 'model') {
      const model = await api.model(upload.entityId);
      const body = el('div', { class: 'preview-body' });
      body.append(el('h3', {}, model.name || label), details(modelRows(model)), rawJson(model));
      container.append(body);
      return;
    }
    const asset = await api.asset(upload.entityId);
    const shown = media(asset, label);
    const figure = el('figure', { class: 'preview' });
    if (shown) figure.append(shown);
    figure.append(el('figcaption', { class: 'visually-hidden' }, label));
    const body = el('div', { class: 'preview-body' });
    body.append(
      details([['Type', asset.mimeType], ...propertyRows(asset.properties), ['Asset ID', asset.id]]),
      el('a', { href: asset.url, download: label, class: 'download' }, `Download ${label}`),
      rawJson(asset),
    );
    container.append(figure, body);
    container.classList.toggle('has-media', Boolean(shown));
  } catch (e) {
    if (isAborted(e)) throw e;
    container.append(el('p', { class: 'error' }, `Could not read the result: ${e.message}`));
  }
}
