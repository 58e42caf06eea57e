// The page's own list of uploads ("Upload files"): a row per chosen file or started import,
// its kind picker, Upload / Cancel / Resume / Remove buttons (focus stays on the row's
// controls when they change, for keyboard use), progress, and what the upload became.
// A list belongs to one session: once the session closes, nothing here touches the page.

import { follow, isAborted } from './api.js';
import { announce, button, el, kindIcon } from './dom.js';
import { KINDS, fillSelect, guessKind } from './kinds.js';
import { renderPreview } from './preview.js';
import { Cancelled, Transfer } from './upload.js';
import { bytes, speed, statusTone } from './words.js';

/** Files sending at once (each sends up to four parts at once). */
const FILES_AT_ONCE = 3;
/** Files on the page at once: more are refused with a message, so the page stays usable. */
const MAX_ROWS = 200;
/** Images shown from the local file before upload only up to this size (decoding is the browser's work). */
const MAX_LOCAL_PREVIEW = 20 * 1000 * 1000;

export class TransferList {
  /**
   * @param {import('./session.js').Session} session
   * @param {HTMLUListElement} list the <ul> the rows go in
   * @param {{onChange: () => void, onImported: () => void}} hooks called when the waiting or
   *   active counts change, and when an upload reaches the server or ends there
   */
  constructor(session, list, hooks) {
    this.session = session;
    this.list = list;
    this.hooks = hooks;
    /** Rows whose file waits for its Upload button. */
    this.waiting = new Set();
    /** Uploads sending or being followed. */
    this.active = 0;
    this.sending = 0;
    this.turns = [];
    session.signal.addEventListener('abort', () => { for (const wake of this.turns.splice(0)) wake(); }, { once: true });
  }

  get live() {
    return !this.session.closed;
  }

  changed() {
    if (this.live) this.hooks.onChange();
  }

  /** Adds a row for a chosen or dropped file, ready to upload; false if the page is full. */
  addFile(file) {
    if (this.list.children.length >= MAX_ROWS) return false;
    const row = this.row(file.name, guessKind(file));
    row.li.dataset.file = file.name;
    this.setStatus(row, 'ready');
    row.progress.hidden = true; // until it goes
    row.stats.textContent = bytes(file.size);
    if (file.type.startsWith('image/') && file.size <= MAX_LOCAL_PREVIEW) {
      const url = this.session.objectUrl(file);
      const thumb = el('img', { src: url, alt: '', class: 'thumb' });
      thumb.addEventListener('error', () => { thumb.replaceWith(kindIcon('image')); this.session.revoke(url); });
      row.badge.replaceWith(thumb);
      row.badge = thumb;
    }
    const kindId = `kind-${Math.random().toString(36).slice(2)}`;
    const label = el('label', { for: kindId }, 'Kind');
    const kind = el('select', { id: kindId, class: 'kind' });
    fillSelect(kind, KINDS);
    kind.value = guessKind(file);
    kind.addEventListener('change', () => {
      if (!row.li.contains(row.badge) || row.badge.classList.contains('thumb')) return;
      const icon = kindIcon(kind.value);
      row.badge.replaceWith(icon);
      row.badge = icon;
    });
    const item = { file, row, kind };
    const start = button('Upload', () => this.run(item), `Upload ${file.name}`);
    const remove = button('Remove', () => this.remove(item), `Remove ${file.name}`, 'secondary');
    row.controls.append(label, kind, start, remove);
    this.waiting.add(item);
    this.changed();
    return true;
  }

  /** Starts every file still waiting. */
  startAll() {
    for (const item of [...this.waiting]) this.run(item);
  }

  /** Follows an upload the server already has (an import) in a new row. */
  followImport(upload, label) {
    const row = this.row(upload.fileName || label, upload.kind);
    this.setStatus(row, upload.status);
    this.active += 1;
    this.changed();
    this.watch(row, upload.id).finally(() => { this.active -= 1; this.changed(); });
  }

  remove(item) {
    const { row } = item;
    this.waiting.delete(item);
    const next = row.li.nextElementSibling || row.li.previousElementSibling;
    if (row.badge.classList.contains('thumb')) this.session.revoke(row.badge.src);
    row.li.remove();
    const target = next && next.querySelector('button, select');
    (target || document.getElementById('choose-files')).focus();
    announce(`${item.file.name} removed`);
    this.changed();
  }

  /** One row of the list, for a file or an import. */
  row(name, kind) {
    const li = el('li', { class: 'transfer', tabindex: '-1' });
    const head = el('div', { class: 'transfer-head' });
    const badge = kindIcon(kind);
    const nameEl = el('strong', { class: 'name' }, name);
    const status = el('span', { class: 'status' });
    head.append(badge, nameEl, status);
    const progress = el('progress', { max: '1', value: '0', 'aria-label': `Progress of ${name}` });
    const stats = el('span', { class: 'muted stats' });
    const controls = el('div', { class: 'row controls' });
    const message = el('p', { class: 'message' });
    const preview = el('div', { class: 'inline-preview' });
    li.append(head, progress, stats, controls, message, preview);
    this.list.append(li);
    return { li, badge, name: nameEl, status, progress, stats, controls, message, preview };
  }

  setStatus(row, text, tone = statusTone(text)) {
    row.status.textContent = text;
    row.status.className = `status ${tone}`;
    row.li.dataset.status = text;
  }

  /** Replaces a row's buttons; if the focus was on one of them, it moves to the first new one (or the row). */
  setControls(row, ...buttons) {
    const hadFocus = row.controls.contains(document.activeElement);
    row.controls.replaceChildren(...buttons);
    if (hadFocus) (buttons[0] || row.li).focus();
  }

  setMessage(row, text, tone = '') {
    row.message.textContent = text;
    row.message.className = `message ${tone}`;
  }

  /** Waits for one of the FILES_AT_ONCE places; the returned function gives it back. */
  async takeTurn() {
    while (this.sending >= FILES_AT_ONCE && this.live) await new Promise((wake) => this.turns.push(wake));
    if (!this.live) throw this.session.signal.reason;
    this.sending += 1;
    return () => { this.sending -= 1; const next = this.turns.shift(); if (next) next(); };
  }

  async run(item) {
    this.waiting.delete(item);
    const { file, row, kind } = item;
    const transfer = new Transfer(file, kind.value, this.session, {
      onPhase: (text) => { if (this.live) this.setStatus(row, text); },
      onCreated: () => this.hooks.onImported(),
      onProgress: ({ sent, total, bytesPerSecond }) => {
        if (!this.live) return;
        row.progress.value = total ? sent / total : 1;
        row.stats.textContent = `${bytes(sent)} of ${bytes(total)} · ${speed(bytesPerSecond)}`;
      },
    });
    kind.disabled = true;
    row.progress.hidden = false;
    this.active += 1;
    this.changed();
    const attempt = async () => {
      this.setMessage(row, '');
      transfer.rearm();
      this.setControls(row, button('Cancel', () => transfer.cancel(), `Cancel ${file.name}`, 'secondary'));
      if (this.sending >= FILES_AT_ONCE) this.setStatus(row, 'waiting for a turn…');
      announce(`${file.name}: sending`);
      let upload;
      let done = null;
      try {
        done = await this.takeTurn();
        upload = await transfer.start();
      } catch (e) {
        if (done) done();
        if (!this.live) return;
        const cancelled = e instanceof Cancelled;
        this.setStatus(row, cancelled ? 'cancelled' : 'failed to send');
        this.setMessage(row, cancelled ? 'You cancelled this upload. Resume sends the parts not sent yet.'
          : `Could not send: ${e.message}`, cancelled ? 'neutral' : 'bad');
        announce(cancelled ? `${file.name}: cancelled` : `${file.name}: failed to send, ${e.message}`);
        const again = cancelled ? 'Resume' : 'Retry';
        this.setControls(row, button(again, () => { this.active += 1; this.changed(); attempt(); }, `${again} ${file.name}`));
        this.active -= 1;
        this.changed();
        return;
      }
      done();
      this.setControls(row);
      row.stats.textContent = `${bytes(file.size)} sent`;
      await this.watch(row, upload.id);
      this.active -= 1;
      this.changed();
    };
    await attempt();
  }

  /** Follows an upload that is on the server until it ends, then shows what it became. */
  async watch(row, id) {
    row.progress.removeAttribute('value'); // indeterminate while the server works
    const { api, signal } = this.session;
    try {
      const final = await follow(api, id, (u) => {
        // An import learns its file's name once the download starts.
        row.name.textContent = u.originalFileName || u.fileName || row.name.textContent;
        if (row.status.textContent !== u.status) announce(`${row.name.textContent}: ${u.status}`);
        this.setStatus(row, u.status);
        const c = u.config || {};
        if (u.status === 'pending' && c.bytesReceived !== undefined) {
          row.stats.textContent = c.bytesTotal ? `${bytes(c.bytesReceived)} of ${bytes(c.bytesTotal)} downloaded`
            : `${bytes(c.bytesReceived)} downloaded`;
        }
      }, signal);
      row.progress.value = 1;
      row.progress.hidden = true; // ended: the status says it all
      this.setStatus(row, final.status);
      if (final.fileSize !== undefined && final.source !== 'multipart') row.stats.textContent = bytes(final.fileSize);
      if (final.status === 'failed') {
        this.setMessage(row, final.errorMessage || 'The upload failed.', 'bad');
        announce(`${row.name.textContent}: failed. ${final.errorMessage || ''}`);
      } else {
        announce(`${row.name.textContent}: imported`);
        await renderPreview(row.preview, final, api);
      }
      this.hooks.onImported();
    } catch (e) {
      if (isAborted(e) || !this.live) return;
      this.setMessage(row, `Lost track of the upload: ${e.message}. Refresh the recent uploads to see where it is.`, 'bad');
    }
  }
}
