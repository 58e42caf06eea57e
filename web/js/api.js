// The Uploads API from the browser: credentials (this tab's session storage only), the
// chosen project, and errors that carry the server's `reason`.

const STORE = window.sessionStorage;
/** Tries of a request the server rate-limited (429) before its error is shown. */
const MAX_RATE_LIMITED = 6;

/** An answer of the API that was not a success: `status`, `reason` and `traceId`. */
export class ApiError extends Error {
  constructor(status, reason, traceId) {
    super(reason);
    this.status = status;
    this.traceId = traceId;
  }
}

/** The signed-in key, or null. */
export function session() {
  const key = STORE.getItem('intake.apiKey');
  const secret = STORE.getItem('intake.apiSecret');
  return key && secret ? { key, secret, project: STORE.getItem('intake.project') || '' } : null;
}

export function saveSession(key, secret) {
  STORE.setItem('intake.apiKey', key);
  STORE.setItem('intake.apiSecret', secret);
}

export function setProject(project) {
  STORE.setItem('intake.project', project);
}

export function signOut() {
  for (const name of ['intake.apiKey', 'intake.apiSecret', 'intake.project']) STORE.removeItem(name);
}

function basic(key, secret) {
  const bytes = new TextEncoder().encode(`${key}:${secret}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** `fetch` of an API path (`/v1/...`) as the signed-in key in the chosen project; JSON in and out. */
export async function call(method, path, { body, query = {}, creds = session() } = {}) {
  const url = new URL(path, window.location.origin);
  if (creds && creds.project) url.searchParams.set('projectId', creds.project);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  // x-requested-with: intake then answers a 401 without WWW-Authenticate, so the browser
  // opens no password dialog of its own and the page shows the reason.
  const headers = { accept: 'application/json', 'x-requested-with': 'intake-web' };
  if (creds) headers.authorization = basic(creds.key, creds.secret);
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  for (let attempt = 1; ; attempt += 1) {
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, `intake did not answer (${e.message}); check that it is running`, null);
    }
    // 429: the key sent too many requests (many files at once); nothing was done, so the
    // same request is sent again after the pause the server asks for.
    if (response.status !== 429 || attempt >= MAX_RATE_LIMITED) break;
    const seconds = Number(response.headers.get('retry-after')) || 1;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
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

export const api = {
  projects: (creds) => call('GET', '/v1/projects', { creds }).then((r) => r.projects),
  create: (body) => call('POST', '/v1/uploads', { body }).then((r) => r.upload),
  get: (id) => call('GET', `/v1/uploads/${encodeURIComponent(id)}`).then((r) => r.upload),
  complete: (id) => call('POST', `/v1/uploads/${encodeURIComponent(id)}/action`, { body: { action: 'complete' } })
    .then((r) => r.upload),
  list: (query) => call('GET', '/v1/uploads', { query }),
  asset: (id) => call('GET', `/v1/assets/${encodeURIComponent(id)}`).then((r) => r.asset),
  model: (id) => call('GET', `/v1/models/${encodeURIComponent(id)}`).then((r) => r.model),
};

/** Polls an upload until it is imported or failed, calling `onUpdate` with each state read. */
export async function follow(id, onUpdate, { signal } = {}) {
  let delay = 250;
  for (;;) {
    if (signal && signal.aborted) return null;
    const upload = await api.get(id);
    onUpdate(upload);
    if (upload.status === 'imported' || upload.status === 'failed') return upload;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 2000);
  }
}
