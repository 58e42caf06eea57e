// One file's multipart upload from the browser: create, PUT the parts straight to their
// URLs (which may point at intake or at an S3 bucket: nothing here assumes same origin),
// several at once, each retried on failures a retry can fix, then complete. A transfer that
// failed or was cancelled can start again and sends only the parts not yet stored. A transfer
// belongs to one session: its API calls use that session's key, and when the session closes
// every part on its way is aborted and no pause or retry outlives it.

import { sleep } from './api.js';
import { contentTypeOf } from './kinds.js';
import { MAX_PARTS, MIN_PART_SIZE } from './limits.js';

const MIB = 1024 * 1024;
/** Parts are 8 MiB (every part but the last must be at least MIN_PART_SIZE), bigger for files past MAX_PARTS parts. */
const PART_SIZE = Math.max(8 * MIB, MIN_PART_SIZE);
/** Parts in flight at once, per file. */
const CONCURRENCY = 4;
/** Tries of one part before the transfer stops and offers a retry. */
const MAX_TRIES = 5;

/** How `size` bytes are cut: `{partSize, parts}`. */
export function planParts(size) {
  const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS));
  return { partSize, parts: Math.max(1, Math.ceil(size / partSize)) };
}

/** A transfer stopped by the person: not a failure. */
export class Cancelled extends Error {
  constructor() { super('cancelled'); }
}

/** A part that could not be stored. */
class PartError extends Error {
  constructor(message, { retry = false, refresh = false, waitMs = 0 } = {}) {
    super(message);
    Object.assign(this, { retry, refresh, waitMs });
  }
}

export class Transfer {
  /**
   * @param {File} file
   * @param {string} kind
   * @param {{api: object, signal: AbortSignal}} session the client to call and the signal that ends it all
   * @param {{onProgress?: (p: {sent: number, total: number, bytesPerSecond: number}) => void,
   *          onPhase?: (text: string) => void, onCreated?: (upload: object) => void}} hooks
   */
  constructor(file, kind, { api, signal }, hooks = {}) {
    this.api = api;
    this.signal = signal;
    signal.addEventListener('abort', () => this.cancel(), { once: true });
    this.file = file;
    this.kind = kind;
    this.hooks = hooks;
    this.upload = null;
    this.plan = planParts(file.size);
    this.done = new Set();
    this.inFlight = new Map(); // part number -> {xhr, loaded}
    this.cancelled = false;
    this.samples = [];
  }

  /** Bytes of parts stored plus bytes of parts on their way. */
  get sent() {
    let bytes = 0;
    for (const n of this.done) bytes += this.partBlob(n).size;
    for (const { loaded } of this.inFlight.values()) bytes += loaded;
    return bytes;
  }

  partBlob(number) {
    const start = (number - 1) * this.plan.partSize;
    return this.file.slice(start, Math.min(start + this.plan.partSize, this.file.size));
  }

  /** Runs (or resumes) the upload up to `complete`; resolves with the completed upload. */
  async start() {
    if (this.cancelled) throw new Cancelled();
    const phase = (t) => this.hooks.onPhase && this.hooks.onPhase(t);
    if (!this.upload) {
      phase('creating the upload…');
      this.upload = await this.api.create({
        fileName: this.file.name,
        contentType: contentTypeOf(this.file),
        fileSize: this.file.size,
        parts: this.plan.parts,
        kind: this.kind,
      });
      if (this.hooks.onCreated) this.hooks.onCreated(this.upload);
    } else if (this.upload.status === 'pending') {
      // Part URLs expire: take fresh ones.
      this.upload = await this.api.get(this.upload.id);
    }
    if (this.upload.status === 'pending') {
      phase('sending…');
      const waiting = [];
      for (let n = 1; n <= this.plan.parts; n += 1) if (!this.done.has(n)) waiting.push(n);
      const worker = async () => {
        while (waiting.length && !this.cancelled) await this.sendPart(waiting.shift());
      };
      const workers = Array.from({ length: Math.min(CONCURRENCY, waiting.length) }, worker);
      try {
        await Promise.all(workers);
      } catch (e) {
        this.abortAll();
        throw this.cancelled ? new Cancelled() : e;
      }
      if (this.cancelled) throw new Cancelled();
      phase('completing…');
      this.upload = await this.api.complete(this.upload.id);
    }
    return this.upload;
  }

  /** Clears a cancel, so that `start` runs again (not once the session has closed). */
  rearm() {
    this.cancelled = this.signal.aborted;
  }

  /** Stops every part on its way (or the start of a transfer still waiting for its turn);
   * `rearm` and `start` again resume with the parts not stored. */
  cancel() {
    this.cancelled = true;
    this.abortAll();
  }

  abortAll() {
    for (const { xhr } of this.inFlight.values()) xhr.abort();
    this.inFlight.clear();
  }

  async sendPart(number) {
    for (let attempt = 1; ; attempt += 1) {
      if (this.cancelled) throw new Cancelled();
      try {
        await this.putOnce(number);
        this.done.add(number);
        this.report();
        return;
      } catch (e) {
        if (this.cancelled) throw new Cancelled();
        if (!(e instanceof PartError) || attempt >= MAX_TRIES || !(e.retry || e.refresh)) {
          throw new Error(`part ${number} of ${this.plan.parts} could not be sent: ${e.message}`);
        }
        if (e.refresh) this.upload = await this.api.get(this.upload.id);
        const backoff = Math.min(Math.max(e.waitMs, 500 * 2 ** (attempt - 1)), 60000);
        await sleep(backoff, this.signal);
      }
    }
  }

  async putOnce(number) {
    const part = (this.upload.parts || []).find((p) => p.number === number);
    if (!part) throw new PartError(`the upload has no URL for part ${number}`);
    const blob = this.partBlob(number);
    const md5 = await contentMd5(blob);
    if (this.cancelled) throw new Cancelled();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const entry = { xhr, loaded: 0 };
      this.inFlight.set(number, entry);
      const settle = () => this.inFlight.delete(number);
      xhr.open('PUT', part.url);
      // The store refuses a part whose bytes differ from this digest, and keeps nothing of it.
      xhr.setRequestHeader('Content-MD5', md5);
      xhr.upload.onprogress = (event) => { entry.loaded = event.loaded; this.report(); };
      xhr.onload = () => {
        settle();
        const status = xhr.status;
        if (status >= 200 && status < 300) return resolve();
        let reason = `${status}`;
        try { reason = JSON.parse(xhr.responseText).reason || reason; } catch { /* S3 answers XML */ }
        const retryAfter = Number(xhr.getResponseHeader('retry-after')) * 1000 || 0;
        // 403: the URL expired (or a clock moved): fresh URLs come with the upload.
        reject(new PartError(reason, {
          retry: status === 408 || status === 429 || status >= 500,
          refresh: status === 403,
          waitMs: retryAfter,
        }));
      };
      xhr.onerror = () => { settle(); reject(new PartError('the connection failed', { retry: true })); };
      xhr.ontimeout = () => { settle(); reject(new PartError('the connection timed out', { retry: true })); };
      xhr.onabort = () => { settle(); reject(new Cancelled()); };
      xhr.send(blob);
    });
  }

  /** Progress and speed over the last three seconds. */
  report() {
    const now = performance.now();
    const sent = this.sent;
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const bytesPerSecond = now > t0 ? ((sent - b0) * 1000) / (now - t0) : 0;
    if (this.hooks.onProgress) this.hooks.onProgress({ sent, total: this.file.size, bytesPerSecond });
  }
}

/** Bytes of a part hashed at a time: memory stays at one slice, whatever the part size. */
const MD5_SLICE = 4 * 1024 * 1024;

/** The `Content-MD5` of `blob` (base64 of its MD5), read a slice at a time. */
export async function contentMd5(blob) {
  const md5 = new globalThis.SparkMD5.ArrayBuffer();
  for (let at = 0; at < blob.size; at += MD5_SLICE) {
    md5.append(await blob.slice(at, at + MD5_SLICE).arrayBuffer());
  }
  return btoa(md5.end(true));
}
