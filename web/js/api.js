// The Uploads API from the browser: the stored credentials (this tab's session storage only),
// a client bound to one key, project and abort signal, and errors that carry the server's
// `reason` and trace id. Nothing here reads the stored credentials behind a caller's back: a
// request runs with the credentials its client was made with, and stops when its signal aborts.

const STORE = window.sessionStorage;
const STORED = ['intake.apiKey', 'intake.apiSecret', 'intake.project'];
/** Tries of a request the server rate-limited (429) before its error is shown. */
const MAX_RATE_LIMITED = 6;

/** An answer of the API that was not a success: `status` (0: no answer), `reason` and `traceId`. */
export class ApiError extends Error {
  constructor(status, reason, traceId) {
    super(reason);
    this.status = status;
    this.traceId = traceId;
  }
}

/** Is `error` the end of work its signal stopped (sign-out, a project switch)? */
export function isAborted(error) {
  return Boolean(error) && error.name === 'AbortError';
}

/** The stored credentials `{key, secret, project}`, or null. */
export function storedSession() {
  const key = STORE.getItem('intake.apiKey');
  const secret = STORE.getItem('intake.apiSecret');
  return key && secret ? { key, secret, project: STORE.getItem('intake.project') || '' } : null;
}

export function saveSession(key, secret) {
  STORE.setItem('intake.apiKey', key);
  STORE.setItem('intake.apiSecret', secret);
}

export function saveProject(project) {
  STORE.setItem('intake.project', project);
}

/** Forgets everything this page stored. */
export function forgetSession() {
  for (const name of STORED) STORE.removeItem(name);
}

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts (the timer cleared). */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(signal.reason); return; }
    const stop = () => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => { if (signal) signal.removeEventListener('abort', stop); resolve(); }, ms);
    if (signal) signal.addEventListener('abort', stop, { once: true });
  });
}

function basic(key, secret) {
  const bytes = new TextEncoder().encode(`${key}:${secret}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * An API client for one key (`creds = {key, secret, project}`) whose requests, and the pauses
 * between retries, stop when `signal` aborts. JSON in and out.
 */
export function client(creds, signal) {
  async function call(method, path, { body, query = {} } = {}) {
    const url = new URL(path, window.location.origin);
    if (creds.project) url.searchParams.set('projectId', creds.project);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '' && v !== null) url.searchParams.set(k, v);
    // x-requested-with: intake then answers a 401 without WWW-Authenticate, so the browser
    // opens no password dialog of its own and the page shows the reason.
    const headers = { accept: 'application/json', 'x-requested-with': 'intake-web', authorization: basic(creds.key, creds.secret) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    for (let attempt = 1; ; attempt += 1) {
      try {
        response = await fetch(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (e) {
        if (isAborted(e)) throw e;
        throw new ApiError(0, `intake did not answer (${e.message}); check that it is running`, null);
      }
      // 429: the key sent too many requests (many files at once); nothing was done, so the
      // same request is sent again after the pause the server asks for.
      if (response.status !== 429 || attempt >= MAX_RATE_LIMITED) break;
      const seconds = Math.min(Number(response.headers.get('retry-after')) || 1, 60);
      await sleep(seconds * 1000, signal);
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
    if (!response.ok) {
      const reason = (json && json.reason) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, reason, json && json.traceId);
    }
    return json;
  }

  const id = (value) => encodeURIComponent(value);
  return {
    // Project ids, the key's default first (the first 100: a page of project objects).
    projects: () => call('GET', '/v1/projects', { query: { pageSize: 100 } }).then((r) => r.projects.map((p) => p.id)),
    create: (body) => call('POST', '/v1/uploads', { body }).then((r) => r.upload),
    get: (uploadId) => call('GET', `/v1/uploads/${id(uploadId)}`).then((r) => r.upload),
    complete: (uploadId) => call('POST', `/v1/uploads/${id(uploadId)}/action`, { body: { action: 'complete' } })
      .then((r) => r.upload),
    list: (query) => call('GET', '/v1/uploads', { query }),
    asset: (assetId) => call('GET', `/v1/assets/${id(assetId)}`).then((r) => r.asset),
    model: (modelId) => call('GET', `/v1/models/${id(modelId)}`).then((r) => r.model),
  };
}

/**
 * Polls an upload until it is imported or failed, calling `onUpdate` with each state read.
 * Rejects with an AbortError when `signal` aborts, between polls or during one.
 */
export async function follow(api, uploadId, onUpdate, signal) {
  let delay = 250;
  for (;;) {
    const upload = await api.get(uploadId);
    if (signal && signal.aborted) throw signal.reason;
    onUpdate(upload);
    if (upload.status === 'imported' || upload.status === 'failed') return upload;
    await sleep(delay, signal);
    delay = Math.min(delay * 1.5, 2000);
  }
}
