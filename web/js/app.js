// The upload page: sign in, pick a project, drop files (kind guessed, changeable), watch
// each upload to imported or failed and preview it, import by URL / Hugging Face / Civitai,
// and browse recent uploads with filters.

import { api, ApiError, follow, saveSession, session, setProject, signOut } from './api.js';
import { KINDS, STATUSES, fillSelect, guessKind } from './kinds.js';
import { renderPreview } from './preview.js';
import { Cancelled, Transfer } from './upload.js';

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function announce(text) {
  $('live').textContent = text;
}

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

function explain(e) {
  return e instanceof ApiError && e.traceId ? `${e.message} (trace ${e.traceId})` : e.message;
}

// ---- signing in ------------------------------------------------------------------------

async function enter() {
  const creds = session();
  $('sign-in').hidden = true;
  $('workspace').hidden = false;
  $('session').hidden = false;
  $('whoami').textContent = `key ${creds.key}`;
  const select = $('project');
  select.replaceChildren();
  try {
    const projects = await api.projects(creds);
    fillSelect(select, projects.map((p, i) => [p, i === 0 ? `${p} (default)` : p]));
    select.value = projects.includes(creds.project) ? creds.project : projects[0];
    setProject(select.value);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { leave(); $('sign-in-error').textContent = e.message; return; }
    $('recent-error').textContent = explain(e);
  }
  refreshRecent();
}

function leave() {
  signOut();
  $('workspace').hidden = true;
  $('session').hidden = true;
  $('sign-in').hidden = false;
  $('api-secret').value = '';
  $('api-key').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  const secret = $('api-secret').value;
  $('sign-in-error').textContent = '';
  try {
    await api.projects({ key, secret, project: '' });
  } catch (e) {
    $('sign-in-error').textContent = explain(e);
    return;
  }
  saveSession(key, secret);
  await enter();
  announce('Signed in');
});

$('sign-out').addEventListener('click', leave);

$('project').addEventListener('change', () => {
  setProject($('project').value);
  refreshRecent();
  announce(`Project ${$('project').value}`);
});

// ---- uploads from files --------------------------------------------------------------

/** One row of the page's uploads list, for a file or an import. */
function transferRow(name) {
  const li = el('li', { class: 'transfer' });
  const title = el('div', { class: 'transfer-head' });
  const nameEl = el('strong', { class: 'name' }, name);
  title.append(nameEl);
  const status = el('span', { class: 'status', role: 'status' });
  title.append(status);
  const progress = el('progress', { max: '1', value: '0', 'aria-label': `Progress of ${name}` });
  const stats = el('span', { class: 'muted stats' });
  const controls = el('div', { class: 'row controls' });
  const message = el('p', { class: 'message' });
  const preview = el('div', { class: 'inline-preview' });
  li.append(title, progress, stats, controls, message, preview);
  $('queue').append(li);
  return { li, name: nameEl, status, progress, stats, controls, message, preview };
}

function setStatus(row, text, tone = '') {
  row.status.textContent = text;
  row.status.className = `status ${tone}`;
  row.li.dataset.status = text;
}

/** Follows an upload that is on the server until it ends, then shows what it became. */
async function watch(row, id) {
  row.progress.removeAttribute('value'); // indeterminate while the server works
  try {
    const final = await follow(id, (u) => {
      // An import learns its file's name once the download starts.
      row.name.textContent = u.originalFileName || u.fileName || row.name.textContent;
      setStatus(row, u.status, u.status === 'failed' ? 'bad' : '');
      const c = u.config || {};
      if (u.status === 'pending' && c.bytesReceived !== undefined) {
        row.stats.textContent = c.bytesTotal ? `${bytes(c.bytesReceived)} of ${bytes(c.bytesTotal)}` : bytes(c.bytesReceived);
      }
    });
    row.progress.value = 1;
    setStatus(row, final.status, final.status === 'imported' ? 'good' : 'bad');
    if (final.fileSize !== undefined && final.source !== 'multipart') row.stats.textContent = bytes(final.fileSize);
    announce(`${row.name.textContent}: ${final.status}`);
    if (final.status === 'failed') row.message.textContent = final.errorMessage || 'failed';
    else await renderPreview(row.preview, final);
    refreshRecent();
  } catch (e) {
    row.message.textContent = `Lost track of the upload: ${explain(e)}`;
  }
}

function button(text, onClick, label) {
  const b = el('button', { type: 'button' }, text);
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

const waiting = new Set();

function addFile(file) {
  const row = transferRow(file.name);
  row.li.dataset.file = file.name;
  setStatus(row, 'ready');
  row.stats.textContent = bytes(file.size);
  const kindId = `kind-${Math.random().toString(36).slice(2)}`;
  const label = el('label', { for: kindId }, 'Kind');
  const kind = el('select', { id: kindId, class: 'kind' });
  fillSelect(kind, KINDS);
  kind.value = guessKind(file);
  const item = { file, row, kind };
  const start = button('Upload', () => run(item), `Upload ${file.name}`);
  const remove = button('Remove', () => { waiting.delete(item); row.li.remove(); syncQueueButtons(); },
    `Remove ${file.name}`);
  row.controls.append(label, kind, start, remove);
  waiting.add(item);
  syncQueueButtons();
}

function syncQueueButtons() {
  $('start-all').hidden = waiting.size < 1;
  $('queue-hint').hidden = waiting.size < 1;
}

/** Files sending at once (each sends up to four parts at once). */
const FILES_AT_ONCE = 3;
let sending = 0;
const turns = [];

/** Waits for one of the FILES_AT_ONCE places; the returned function gives it back. */
async function takeTurn() {
  if (sending >= FILES_AT_ONCE) await new Promise((resolve) => turns.push(resolve));
  sending += 1;
  return () => { sending -= 1; const next = turns.shift(); if (next) next(); };
}

async function run(item) {
  waiting.delete(item);
  syncQueueButtons();
  const { file, row, kind } = item;
  const transfer = new Transfer(file, kind.value, {
    onPhase: (text) => setStatus(row, text),
    onCreated: () => refreshRecent(),
    onProgress: ({ sent, total, bytesPerSecond }) => {
      row.progress.value = total ? sent / total : 1;
      row.stats.textContent = `${bytes(sent)} of ${bytes(total)} · ${bytes(bytesPerSecond)}/s`;
    },
  });
  kind.disabled = true;
  const attempt = async () => {
    row.message.textContent = '';
    transfer.rearm();
    row.controls.replaceChildren(
      button('Cancel', () => transfer.cancel(), `Cancel ${file.name}`),
    );
    if (sending >= FILES_AT_ONCE) setStatus(row, 'waiting for a turn…');
    const done = await takeTurn();
    let upload;
    try {
      upload = await transfer.start();
    } catch (e) {
      done();
      const cancelled = e instanceof Cancelled;
      setStatus(row, cancelled ? 'cancelled' : 'failed to send', 'bad');
      row.message.textContent = cancelled ? 'Cancelled. Resume to send the remaining parts.' : explain(e);
      const again = cancelled ? 'Resume' : 'Retry';
      row.controls.replaceChildren(button(again, attempt, `${again} ${file.name}`));
      return;
    }
    done();
    row.controls.replaceChildren();
    row.stats.textContent = `${bytes(file.size)} sent`;
    await watch(row, upload.id);
  };
  await attempt();
}

$('file-input').addEventListener('change', (event) => {
  for (const file of event.target.files) addFile(file);
  event.target.value = '';
});

$('start-all').addEventListener('click', () => {
  for (const item of [...waiting]) run(item);
});

const zone = $('drop-zone');
zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  zone.classList.remove('over');
  for (const file of event.dataTransfer.files) addFile(file);
});
// Files dropped outside the zone must not navigate away from the page.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

// ---- imports --------------------------------------------------------------------------

const IMPORT_FIELDS = {
  url: ['URL', 'https://example.com/cat.png'],
  huggingface: ['Hugging Face model (owner/name, optionally @revision)', 'owner/some-lora'],
  civitai: ['Civitai model URL', 'https://civitai.com/models/370194?modelVersionId=413806'],
};

function syncImportForm() {
  const source = $('import-source').value;
  const [label, placeholder] = IMPORT_FIELDS[source];
  $('import-value-label').textContent = label;
  $('import-value').placeholder = placeholder;
  $('import-kind-field').hidden = source !== 'url';
}

$('import-source').addEventListener('change', syncImportForm);

$('import-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const source = $('import-source').value;
  const value = $('import-value').value.trim();
  const body = source === 'url' ? { url: value, kind: $('import-kind').value }
    : source === 'huggingface' ? { huggingFaceModelName: value } : { civitaiModelUrl: value };
  $('import-error').textContent = '';
  try {
    const upload = await api.create(body);
    refreshRecent();
    $('import-value').value = '';
    const row = transferRow(upload.fileName || value);
    setStatus(row, upload.status);
    watch(row, upload.id);
  } catch (e) {
    $('import-error').textContent = explain(e);
  }
});

// ---- recent uploads ---------------------------------------------------------------------

let nextToken = null;
/** Counts list reads: only the latest one's answer is shown. */
let listing = 0;

async function refreshRecent(append = false) {
  if (!session()) return;
  const body = $('recent').tBodies[0];
  const mine = ++listing;
  $('recent-error').textContent = '';
  try {
    const page = await api.list({
      pageSize: 20,
      status: $('filter-status').value,
      kind: $('filter-kind').value,
      paginationToken: append ? nextToken : undefined,
    });
    if (mine !== listing) return;
    if (!append) body.replaceChildren();
    for (const u of page.uploads) body.append(recentRow(u));
    nextToken = page.nextPaginationToken || null;
    $('load-more').hidden = !nextToken;
    $('recent-empty').hidden = body.rows.length > 0;
  } catch (e) {
    $('recent-error').textContent = explain(e);
  }
}

function recentRow(u) {
  const tr = el('tr');
  const name = u.originalFileName || u.fileName;
  tr.append(el('td', {}, name), el('td', {}, u.kind));
  const status = el('td', { class: `status ${u.status === 'failed' ? 'bad' : u.status === 'imported' ? 'good' : ''}` },
    u.status);
  if (u.errorMessage) status.title = u.errorMessage;
  tr.append(status, el('td', {}, new Date(u.createdAt).toLocaleString()));
  const actions = el('td');
  actions.append(button(u.status === 'failed' ? 'Why' : 'Preview', () => showPreview(u.id), `Show ${name}`));
  tr.append(actions);
  return tr;
}

async function showPreview(id) {
  const panel = $('preview-panel');
  panel.hidden = false;
  const container = $('preview');
  container.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    const upload = await api.get(id);
    $('preview-title').textContent = `Preview: ${upload.originalFileName || upload.fileName}`;
    await renderPreview(container, upload);
  } catch (e) {
    container.replaceChildren(el('p', { class: 'error' }, explain(e)));
  }
  panel.focus();
}

$('filters').addEventListener('submit', (event) => { event.preventDefault(); refreshRecent(); });
$('filter-status').addEventListener('change', () => refreshRecent());
$('filter-kind').addEventListener('change', () => refreshRecent());
$('load-more').addEventListener('click', () => refreshRecent(true));

// ---- start ------------------------------------------------------------------------------

fillSelect($('filter-status'), STATUSES.map((s) => [s, s]));
fillSelect($('filter-kind'), KINDS);
fillSelect($('import-kind'), KINDS);
syncImportForm();
if (session()) enter(); else $('api-key').focus();
