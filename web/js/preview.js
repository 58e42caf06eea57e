// What an imported upload became, shown in the page: image, video and audio players, a 3D
// viewer for glb/gltf (the vendored <model-viewer>, loaded only when first needed), and the
// metadata of an asset or a model.

import { api } from './api.js';

let viewerLoaded = null;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A <dl> of the defined, non-object values of `fields` ([label, value] pairs). */
function details(fields) {
  const dl = el('dl', { class: 'details' });
  for (const [label, value] of fields) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(el('dt', {}, label), el('dd', {}, typeof value === 'object' ? JSON.stringify(value) : String(value)));
  }
  return dl;
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
    return el('video', { src: asset.url, controls: '', class: 'media', 'aria-label': `Video ${label}` });
  }
  if (kind === 'audio' || mime.startsWith('audio/')) {
    return el('audio', { src: asset.url, controls: '', 'aria-label': `Audio ${label}` });
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
 * Fills `container` with what `upload` became (imported), or why it failed. Resolves once
 * the entity was read.
 */
export async function renderPreview(container, upload) {
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
      container.append(
        el('h3', {}, model.name || label),
        details([['Model', model.id], ['Type', model.type], ['Source', model.source], ['Status', model.status],
          ['Capabilities', model.capabilities.join(', ') || 'none'], ['Created', model.createdAt]]),
      );
      return;
    }
    const asset = await api.asset(upload.entityId);
    const shown = media(asset, label);
    const figure = el('figure', { class: 'preview' });
    if (shown) figure.append(shown);
    figure.append(el('figcaption', {}, label));
    const props = asset.properties || {};
    container.append(
      figure,
      details([['Asset', asset.id], ['Kind', asset.kind], ['Type', asset.mimeType],
        ...Object.entries(props).map(([k, v]) => [k, v])]),
    );
    const link = el('a', { href: asset.url, download: label }, `Download ${label}`);
    container.append(link);
  } catch (e) {
    container.append(el('p', { class: 'error' }, `Could not read the result: ${e.message}`));
  }
}
