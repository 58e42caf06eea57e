// The upload page: sign in, pick a project, drop files (kind guessed, changeable), watch
// each upload to imported or failed and preview it, import by URL / Hugging Face / Civitai,
// and browse recent uploads with filters. This module wires the page together and owns its
// one rule about state: everything a signed-in key sees lives in a Session, and signing out
// or switching project closes it and empties the page, so the next key starts from nothing.

import { ApiError, client, forgetSession, isAborted, saveProject, saveSession, storedSession } from './api.js';
import { $, announce, showError, stopMedia } from './dom.js';
import { KINDS, STATUSES, fillSelect } from './kinds.js';
import { RecentList } from './recent.js';
import { Session } from './session.js';
import { TransferList } from './transfers.js';
import { signInMessage } from './words.js';

/** The signed-in session and the two lists it feeds; all null when signed out. */
let session = null;
let transfers = null;
let recent = null;
/** Counts sign-ins: a sign-out (or a newer sign-in) while one reads its projects makes it give up. */
let entering = 0;

/** The tab's title says where the person is: signing in, their project, uploads under way. */
function syncTitle() {
  if (!session) { document.title = 'Sign in · intake'; return; }
  const project = session.creds.project || 'uploads';
  const active = transfers ? transfers.active : 0;
  document.title = active ? `Uploading ${active} ${active === 1 ? 'file' : 'files'} · ${project} · intake`
    : `${project} · intake`;
}

function syncQueue() {
  const waiting = transfers ? transfers.waiting.size : 0;
  $('start-all').hidden = waiting < 1;
  $('queue-hint').hidden = waiting < 1;
  syncTitle();
}

// ---- the clean slate --------------------------------------------------------------------

/** Ends the session: every request, poll, timer and part aborted; every list, preview, object URL and answer dropped. */
function closeSession() {
  if (session) session.close();
  session = null;
  transfers = null;
  recent = null;
  const workspace = $('workspace');
  stopMedia(workspace);
  $('queue').replaceChildren();
  $('recent').tBodies[0].replaceChildren();
  $('recent').hidden = true; // until the next session's first page: the table or the empty state
  $('preview').replaceChildren();
  $('preview-panel').hidden = true;
  $('preview-title').textContent = 'Preview';
  for (const id of ['import-error', 'recent-error', 'recent-empty']) $(id).replaceChildren();
  for (const id of ['recent-empty', 'load-more', 'start-all', 'queue-hint']) $(id).hidden = true;
  $('import-form').reset();
  $('filters').reset();
  syncImportForm();
  $('project').replaceChildren();
  $('whoami').textContent = '';
  $('live').textContent = '';
}

/** Opens a session for `creds` in its project: the workspace, empty, then the project's uploads. */
function openSession(creds) {
  session = new Session(creds);
  transfers = new TransferList(session, $('queue'), {
    onChange: syncQueue,
    onImported: () => recent && recent.refresh(),
  });
  recent = new RecentList(session);
  syncTitle();
  recent.refresh();
}

// ---- signing in and out -------------------------------------------------------------------

function showSignIn() {
  $('workspace').hidden = true;
  $('session').hidden = true;
  $('sign-in').hidden = false;
  syncTitle();
}

/**
 * Shows the workspace for stored credentials: their projects (`projects`, or read now), then
 * the chosen one's uploads.
 */
async function enter(creds, projects = null) {
  $('sign-in').hidden = true;
  const mine = ++entering;
  let unread = null;
  if (!projects) {
    try {
      projects = await client({ ...creds, project: '' }).projects();
    } catch (e) {
      if (mine !== entering) return;
      if (e instanceof ApiError && e.status === 401) {
        leave();
        showError($('sign-in-error'), signInMessage(e), e);
        return;
      }
      projects = creds.project ? [creds.project] : [];
      unread = e;
    }
  }
  if (mine !== entering) return;
  $('workspace').hidden = false;
  $('session').hidden = false;
  $('whoami').textContent = `key ${creds.key}`;
  const select = $('project');
  select.replaceChildren();
  fillSelect(select, projects.map((p, i) => [p, i === 0 ? `${p} (default)` : p]));
  const project = projects.includes(creds.project) ? creds.project : projects[0] || '';
  select.value = project;
  saveProject(project);
  openSession({ ...creds, project });
  if (unread) showError($('recent-error'), `Could not read your projects: ${unread.message}`, unread);
}

/** Signs out: the session closed, the page emptied, the stored credentials forgotten. */
function leave() {
  entering += 1;
  closeSession();
  forgetSession();
  $('sign-in-form').reset();
  $('sign-in-error').replaceChildren();
  showSignIn();
  $('api-key').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  const secret = $('api-secret').value;
  const submit = event.submitter || $('sign-in-form').querySelector('button[type=submit]');
  $('sign-in-error').replaceChildren();
  submit.disabled = true;
  document.title = 'Signing in… · intake';
  let projects;
  try {
    projects = await client({ key, secret, project: '' }).projects();
  } catch (e) {
    submit.disabled = false;
    document.title = 'Sign-in failed · intake';
    showError($('sign-in-error'), signInMessage(e), e);
    return;
  }
  submit.disabled = false;
  $('api-secret').value = '';
  saveSession(key, secret);
  closeSession();
  await enter(storedSession(), projects);
  announce(`Signed in. Project ${$('project').value}.`);
  $('choose-files').focus();
});

$('sign-out').addEventListener('click', () => {
  leave();
  announce('Signed out. Everything this key showed is gone from the page.');
});

// Switching project is a clean slate too: what the page shows and does is the new project's only.
$('project').addEventListener('change', () => {
  const project = $('project').value;
  const projects = [...$('project').options].map((o) => [o.value, o.textContent]);
  const creds = { ...session.creds, project };
  closeSession();
  fillSelect($('project'), projects);
  $('project').value = project;
  $('whoami').textContent = `key ${creds.key}`;
  saveProject(project);
  openSession(creds);
  announce(`Project ${project}. Uploads of the other project on this page were stopped.`);
});

// ---- uploads from files --------------------------------------------------------------

function addFiles(files) {
  if (!transfers) return;
  let refused = 0;
  for (const file of files) if (!transfers.addFile(file)) refused += 1;
  const added = files.length - refused;
  if (added) announce(`${added} ${added === 1 ? 'file' : 'files'} ready: check the kind, then upload.`);
  if (refused) announce(`${refused} ${refused === 1 ? 'file was' : 'files were'} not added: the page holds 200 at most. Remove some first.`);
}

$('choose-files').addEventListener('click', () => $('file-input').click());
$('file-input').addEventListener('change', (event) => {
  addFiles([...event.target.files]);
  event.target.value = '';
});

$('start-all').addEventListener('click', () => transfers && transfers.startAll());

const zone = $('drop-zone');
zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  zone.classList.remove('over');
  addFiles([...event.dataTransfer.files]);
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
  if (!session) return;
  const mine = session;
  const source = $('import-source').value;
  const value = $('import-value').value.trim();
  const body = source === 'url' ? { url: value, kind: $('import-kind').value }
    : source === 'huggingface' ? { huggingFaceModelName: value } : { civitaiModelUrl: value };
  $('import-error').replaceChildren();
  try {
    const upload = await mine.api.create(body);
    if (mine.closed) return;
    $('import-value').value = '';
    recent.refresh();
    announce(`Importing ${upload.fileName || value}`);
    transfers.followImport(upload, value);
  } catch (e) {
    if (isAborted(e) || mine.closed) return;
    showError($('import-error'), `Could not import that: ${e.message}`, e);
  }
});

// ---- recent uploads ---------------------------------------------------------------------

$('filters').addEventListener('submit', (event) => { event.preventDefault(); if (recent) recent.refresh(); });
$('filter-status').addEventListener('change', () => recent && recent.refresh());
$('filter-kind').addEventListener('change', () => recent && recent.refresh());
$('load-more').addEventListener('click', () => recent && recent.refresh(true));

// ---- start ------------------------------------------------------------------------------

fillSelect($('filter-status'), STATUSES.map((s) => [s, s]));
fillSelect($('filter-kind'), KINDS);
fillSelect($('import-kind'), KINDS);
syncImportForm();
const stored = storedSession();
if (stored) enter(stored); else { showSignIn(); $('api-key').focus(); }
