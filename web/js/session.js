// One signed-in stretch of the page, for one key and one project: everything that stretch
// starts hangs off it (an abort signal for every request, poll, pause and part upload; the
// object URLs it made; the answers it cached), so that `close` ends all of it at once when the
// person signs out or switches project, and nothing can carry over to the next key.

import { client, sleep } from './api.js';

/** Assets remembered for the recent list's thumbnails, at most. */
const MAX_CACHED_ASSETS = 500;

export class Session {
  /** @param {{key: string, secret: string, project: string}} creds */
  constructor(creds) {
    this.creds = Object.freeze({ ...creds });
    this.controller = new AbortController();
    /** Aborts when the session closes: pass it to every request and pause. */
    this.signal = this.controller.signal;
    /** The API as this key, in this project. */
    this.api = client(this.creds, this.signal);
    this.objectUrls = new Set();
    /** Asset id -> promise of the asset (or null), for thumbnails; dropped on close. */
    this.assets = new Map();
  }

  get closed() {
    return this.signal.aborted;
  }

  /** An object URL for `blob`, revoked when the session closes. */
  objectUrl(blob) {
    const url = URL.createObjectURL(blob);
    this.objectUrls.add(url);
    return url;
  }

  /** Revokes one object URL early (its image was dropped). */
  revoke(url) {
    if (this.objectUrls.delete(url)) URL.revokeObjectURL(url);
  }

  /** A pause that ends early (rejecting) when the session closes. */
  sleep(ms) {
    return sleep(ms, this.signal);
  }

  /** The asset `id`, read once per session (a failed read is forgotten, so it is tried again). */
  asset(id) {
    let known = this.assets.get(id);
    if (!known) {
      if (this.assets.size >= MAX_CACHED_ASSETS) this.assets.delete(this.assets.keys().next().value);
      known = this.api.asset(id).catch((e) => { this.assets.delete(id); throw e; });
      this.assets.set(id, known);
    }
    return known;
  }

  /** Ends the session: aborts every request, pause and upload, revokes its object URLs, drops its caches. */
  close() {
    this.controller.abort();
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls.clear();
    this.assets.clear();
  }
}
