// "Recent uploads": the project's uploads, newest first, filtered by status and kind, a page
// at a time; a file-type icon per row, or the asset's thumbnail once the server makes them
// (`asset.thumbnail.url`); an empty state that says what to do first; and the preview panel a
// row's button opens. One list per session: once the session closes, nothing here touches
// the page.

import { isAborted } from './api.js';
import { $, announce, button, el, kindIcon, showError } from './dom.js';
import { renderPreview } from './preview.js';
import { kindLabel, statusTone, when } from './words.js';

const PAGE_SIZE = 20;
/** Rows the list holds at most (Load more stops there): the page stays light. */
const MAX_ROWS = 500;
/** Asset reads for thumbnails at once. */
const THUMBNAIL_READS = 3;
/** Kinds whose asset is an image, so its thumbnail is worth showing. */
const PICTURE_KINDS = new Set(['image', 'avatar', 'video', '3d']);

export class RecentList {
  /** @param {import('./session.js').Session} session */
  constructor(session) {
    this.session = session;
    this.body = $('recent').tBodies[0];
    this.nextToken = null;
    /** Counts list reads: only the latest one's answer is shown. */
    this.reads = 0;
    this.thumbnailQueue = [];
    this.thumbnailReaders = 0;
  }

  get live() {
    return !this.session.closed;
  }

  filters() {
    return { status: $('filter-status').value, kind: $('filter-kind').value };
  }

  /** Reads the first page again (or, with `append`, the next one) and shows it. */
  async refresh(append = false) {
    if (!this.live) return;
    const mine = ++this.reads;
    const error = $('recent-error');
    try {
      const page = await this.session.api.list({
        pageSize: PAGE_SIZE,
        ...this.filters(),
        paginationToken: append ? this.nextToken : undefined,
      });
      if (mine !== this.reads || !this.live) return;
      error.replaceChildren();
      if (!append) this.body.replaceChildren();
      for (const upload of page.uploads) {
        if (this.body.rows.length >= MAX_ROWS) break;
        this.body.append(this.row(upload));
      }
      for (let i = 0; i < THUMBNAIL_READS; i += 1) this.readThumbnails();
      this.nextToken = this.body.rows.length < MAX_ROWS ? page.nextPaginationToken || null : null;
      $('load-more').hidden = !this.nextToken;
      this.showEmptyState();
    } catch (e) {
      if (isAborted(e) || !this.live || mine !== this.reads) return;
      showError(error, `Could not load the recent uploads: ${e.message}`, e);
    }
  }

  /** With no rows: what to do first, or, with filters on, a way back to everything. */
  showEmptyState() {
    const empty = this.body.rows.length === 0;
    $('recent').hidden = empty;
    const box = $('recent-empty');
    box.hidden = !empty;
    if (!empty) return;
    const { status, kind } = this.filters();
    if (status || kind) {
      box.replaceChildren(
        el('p', {}, 'No uploads match these filters.'),
        button('Show all uploads', () => {
          $('filter-status').value = '';
          $('filter-kind').value = '';
          this.refresh();
        }, undefined, 'secondary'),
      );
    } else {
      box.replaceChildren(
        el('p', { class: 'empty-title' }, 'No uploads in this project yet.'),
        el('p', {}, 'Drop files on the box under "Upload files", or use Choose files, to send your first one. '
          + 'To bring a file from another site, paste its address under "Import from the web".'),
      );
    }
  }

  row(upload) {
    const tr = el('tr');
    const name = upload.originalFileName || upload.fileName;
    const file = el('td', { class: 'file' });
    const cell = el('div', { class: 'file-cell' });
    const badge = kindIcon(upload.kind);
    cell.append(badge, el('span', { class: 'file-name' }, name));
    file.append(cell);
    tr.append(file, el('td', { 'data-label': 'Kind' }, kindLabel(upload.kind)));
    const status = el('td', { 'data-label': 'Status' });
    status.append(el('span', { class: `status ${statusTone(upload.status)}` }, upload.status));
    if (upload.status === 'failed' && upload.errorMessage) {
      status.append(el('span', { class: 'reason' }, upload.errorMessage));
    }
    tr.append(status, el('td', { 'data-label': 'Created' }, when(upload.createdAt)));
    const actions = el('td', { class: 'actions' });
    const open = () => this.showPreview(upload.id);
    actions.append(upload.status === 'failed'
      ? button('Why', open, `Show ${name}: why it failed`, 'secondary')
      : button('Preview', open, `Preview ${name}`, 'secondary'));
    tr.append(actions);
    if (upload.status === 'imported' && upload.entityId && PICTURE_KINDS.has(upload.kind)) {
      this.thumbnailQueue.push({ badge, assetId: upload.entityId });
    }
    return tr;
  }

  /** Reads the queued rows' assets (one reader per call, THUMBNAIL_READS at most), and shows each thumbnail the server made. */
  async readThumbnails() {
    if (this.thumbnailReaders >= THUMBNAIL_READS) return;
    this.thumbnailReaders += 1;
    try {
      while (this.live && this.thumbnailQueue.length) {
        const { badge, assetId } = this.thumbnailQueue.shift();
        if (!badge.isConnected) continue;
        let asset;
        try { asset = await this.session.asset(assetId); } catch { continue; }
        const url = asset && asset.thumbnail && asset.thumbnail.url;
        if (!url || !this.live || !badge.isConnected) continue;
        const thumb = el('img', { src: url, alt: '', class: 'thumb' });
        thumb.addEventListener('error', () => {
          badge.dataset.thumbnail = 'unreadable';
          thumb.replaceWith(badge);
        });
        badge.replaceWith(thumb);
      }
    } finally {
      this.thumbnailReaders -= 1;
    }
  }

  /** Opens the preview panel on one upload, and moves the focus there. */
  async showPreview(id) {
    const panel = $('preview-panel');
    const container = $('preview');
    panel.hidden = false;
    container.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const upload = await this.session.api.get(id);
      if (!this.live) return;
      const name = upload.originalFileName || upload.fileName;
      $('preview-title').textContent = upload.status === 'failed' ? `Why ${name} failed` : `Preview: ${name}`;
      await renderPreview(container, upload, this.session.api);
      announce(`Showing ${name}`);
    } catch (e) {
      if (isAborted(e) || !this.live) return;
      container.replaceChildren();
      showError(container, `Could not show that upload: ${e.message}`, e);
    }
    panel.focus();
  }
}
