// Words a person reads: sizes, durations and rates with their units, an asset's properties
// under labels, and what to do when signing in fails. Pure functions of their input (no DOM),
// so node's test runner checks them directly (tests/web/words.test.mjs).

import { KINDS } from './kinds.js';

const NUMBER = new Intl.NumberFormat('en-US');

/** Trims a number to at most `digits` decimals, without trailing zeros: 2.40 -> "2.4". */
function decimals(n, digits) {
  return String(Number(n.toFixed(digits)));
}

/** A byte count in decimal units: 8200000 -> "8.2 MB", 6297 -> "6.3 kB", 12 -> "12 B". */
export function bytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, Number(n) || 0);
  let i = 0;
  while (value >= 1000 && i < units.length - 1) { value /= 1000; i += 1; }
  return `${i === 0 ? value : decimals(value, value < 10 ? 1 : 0)} ${units[i]}`;
}

/** Seconds as a person says them: "2.4 s", "45 s", "1 min 12 s", "1 h 2 min". */
export function duration(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  if (s < 10) return `${decimals(s, 1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) {
    const rest = total % 60;
    return rest ? `${Math.floor(total / 60)} min ${rest} s` : `${total / 60} min`;
  }
  const minutes = Math.round((total % 3600) / 60);
  return minutes ? `${Math.floor(total / 3600)} h ${minutes} min` : `${Math.floor(total / 3600)} h`;
}

/** A sample rate: 48000 -> "48 kHz", 44100 -> "44.1 kHz", 800 -> "800 Hz". */
export function hertz(n) {
  return n >= 1000 ? `${decimals(n / 1000, 1)} kHz` : `${n} Hz`;
}

/** A channel count as a layout: 1 -> "mono", 2 -> "stereo", 6 -> "5.1", else "N channels". */
export function channels(n) {
  return { 1: 'mono', 2: 'stereo', 6: '5.1 surround', 8: '7.1 surround' }[n] || `${n} channels`;
}

/** Bits per second: 320000 -> "320 kbit/s", 4500000 -> "4.5 Mbit/s". */
export function bitrate(bps) {
  if (bps >= 1e6) return `${decimals(bps / 1e6, 1)} Mbit/s`;
  if (bps >= 1e3) return `${decimals(bps / 1e3, 0)} kbit/s`;
  return `${bps} bit/s`;
}

/** Upload speed: "1.5 MB/s". */
export function speed(bytesPerSecond) {
  return `${bytes(bytesPerSecond)}/s`;
}

/** "1,234". */
export function count(n) {
  return NUMBER.format(n);
}

/** The label people read for an upload kind: "3d" -> "3D model". */
export function kindLabel(kind) {
  const found = KINDS.find(([value]) => value === kind);
  return found ? found[1] : String(kind);
}

const yesNo = (b) => (b ? 'yes' : 'no');

/**
 * The properties validation reports, in the order a person scans them: [label, text] pairs.
 * Each known key has a label and a unit; width and height become one "1920 × 1080"; keys this
 * page does not know get a label made from the key, and objects are left to the raw JSON.
 */
export function propertyRows(properties = {}) {
  const p = properties || {};
  const rows = [];
  const add = (label, key, format = String) => {
    if (p[key] !== undefined && p[key] !== null && p[key] !== '') rows.push([label, format(p[key])]);
  };
  add('Size', 'size', bytes);
  if (p.width !== undefined && p.height !== undefined) rows.push(['Dimensions', `${p.width} × ${p.height}`]);
  else { add('Width', 'width', (w) => `${w} px`); add('Height', 'height', (h) => `${h} px`); }
  add('Duration', 'duration', duration);
  add('Format', 'format', (f) => String(f).toUpperCase());
  add('Codec', 'codecName');
  add('Frame rate', 'frameRate', (f) => `${decimals(f, 2)} fps`);
  add('Frames', 'nbFrames', count);
  add('Bit rate', 'bitrate', bitrate);
  add('Sample rate', 'sampleRate', hertz);
  add('Channels', 'channels', channels);
  add('Vertices', 'vertexCount', count);
  add('Faces', 'faceCount', count);
  add('Normals', 'hasNormals', yesNo);
  add('UV map', 'hasUVs', yesNo);
  add('Animations', 'hasAnimations', yesNo);
  add('Skeleton', 'hasSkeleton', yesNo);
  add('Characters', 'charCount', count);
  add('Words', 'wordCount', count);
  const known = new Set(['size', 'width', 'height', 'duration', 'format', 'codecName', 'frameRate', 'nbFrames',
    'bitrate', 'sampleRate', 'channels', 'vertexCount', 'faceCount', 'hasNormals', 'hasUVs', 'hasAnimations',
    'hasSkeleton', 'charCount', 'wordCount']);
  for (const [key, value] of Object.entries(p)) {
    if (known.has(key) || value === null || typeof value === 'object') continue;
    rows.push([labelOf(key), typeof value === 'boolean' ? yesNo(value) : String(value)]);
  }
  return rows;
}

/** A label from an API key: "sha256" -> "SHA-256", "someThing" -> "Some thing". */
export function labelOf(key) {
  if (/^sha(\d+)$/i.test(key)) return `SHA-${key.slice(3)}`;
  const words = String(key).replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A model's metadata as [label, text] pairs. */
export function modelRows(model) {
  return [
    ['Type', model.type],
    ['Source', model.source],
    ['Status', model.status],
    ['Capabilities', (model.capabilities || []).join(', ') || 'none'],
    ['Created', when(model.createdAt)],
    ['Model ID', model.id],
  ].filter(([, value]) => value !== undefined && value !== null && value !== '');
}

/** A date and time in the reader's locale, short: "3 Dec 2026, 07:41". */
export function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The technical line under an error a person reads: the status, the server's words, the trace id. */
export function errorDetail(error) {
  const parts = [];
  if (error && error.status) parts.push(`HTTP ${error.status}`);
  if (error && error.message) parts.push(`intake said: ${error.message}`);
  if (error && error.traceId) parts.push(`trace id ${error.traceId}`);
  return parts.join(' · ');
}

/** What to tell a person whose sign-in failed with `error` (an ApiError): what to do next. */
export function signInMessage(error) {
  const status = error ? error.status : 0;
  if (status === 401) return "That key and secret don't match. Check them, or ask your admin for a new key.";
  if (status === 403) return 'This key may not be used here. Ask your admin for a key to this project.';
  if (status === 429) return 'Too many tries just now. Wait a minute, then try again.';
  if (status === 0) return "intake did not answer. Check your connection (or that intake is running), then try again.";
  if (status >= 500) return 'intake could not check the key just now. Try again in a moment; if it keeps failing, tell your admin.';
  return 'Signing in did not work. Check the key and secret, then try again.';
}

/** The tone a status is shown in: "good" (imported), "bad" (a failure), or "" (neutral, cancel included). */
export function statusTone(status) {
  if (status === 'imported') return 'good';
  if (status === 'failed' || status === 'failed to send') return 'bad';
  return '';
}
