// The page's words, checked without a browser: web/js/words.js is a plain module of pure
// functions (sizes, durations, rates with units; property labels; sign-in advice).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bitrate, bytes, channels, duration, errorDetail, hertz, labelOf, modelRows, propertyRows, signInMessage, statusTone,
} from '../../web/js/words.js';

test('sizes are in decimal units with one decimal under ten', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(999), '999 B');
  assert.equal(bytes(6297), '6.3 kB');
  assert.equal(bytes(8_200_000), '8.2 MB');
  assert.equal(bytes(9_885_398), '9.9 MB');
  assert.equal(bytes(12_400_000), '12 MB');
  assert.equal(bytes(3e12), '3 TB');
  assert.equal(bytes(5e15), '5000 TB');
});

test('durations, rates and channel layouts read as people say them', () => {
  assert.equal(duration(2.4), '2.4 s');
  assert.equal(duration(2), '2 s');
  assert.equal(duration(45.4), '45 s');
  assert.equal(duration(72), '1 min 12 s');
  assert.equal(duration(120), '2 min');
  assert.equal(duration(3720), '1 h 2 min');
  assert.equal(hertz(48000), '48 kHz');
  assert.equal(hertz(44100), '44.1 kHz');
  assert.equal(hertz(800), '800 Hz');
  assert.equal(channels(1), 'mono');
  assert.equal(channels(2), 'stereo');
  assert.equal(channels(6), '5.1 surround');
  assert.equal(channels(3), '3 channels');
  assert.equal(bitrate(320000), '320 kbit/s');
  assert.equal(bitrate(4_500_000), '4.5 Mbit/s');
});

test('properties get labels and units, width and height as one', () => {
  const rows = propertyRows({
    size: 8_200_000, width: 1920, height: 1080, duration: 2.4, format: 'mp4', codecName: 'h264',
    frameRate: 29.97, nbFrames: 72, sampleRate: 48000, channels: 2, bitrate: 320000, hasUVs: true,
    vertexCount: 12345, sha256: 'ab12', extra: { nested: 1 },
  });
  assert.deepEqual(rows, [
    ['Size', '8.2 MB'], ['Dimensions', '1920 × 1080'], ['Duration', '2.4 s'], ['Format', 'MP4'],
    ['Codec', 'h264'], ['Frame rate', '29.97 fps'], ['Frames', '72'], ['Bit rate', '320 kbit/s'],
    ['Sample rate', '48 kHz'], ['Channels', 'stereo'], ['Vertices', '12,345'], ['UV map', 'yes'],
    ['SHA-256', 'ab12'],
  ]);
  assert.deepEqual(propertyRows({ size: 5, width: 10 }), [['Size', '5 B'], ['Width', '10 px']]);
  assert.deepEqual(propertyRows(null), []);
  assert.equal(labelOf('someNewThing'), 'Some new thing');
});

test('a model shows its type, source and capabilities', () => {
  const rows = modelRows({ id: 'model_1', type: 'custom', source: 'huggingface', status: 'trained', capabilities: [] });
  assert.deepEqual(rows.slice(0, 4), [['Type', 'custom'], ['Source', 'huggingface'], ['Status', 'trained'], ['Capabilities', 'none']]);
});

test('a failed sign-in says what to do, and keeps the technical line apart', () => {
  const wrong = Object.assign(new Error('the API key or secret is wrong: send HTTP Basic credentials'), { status: 401, traceId: 'abc123' });
  assert.equal(signInMessage(wrong), "That key and secret don't match. Check them, or ask your admin for a new key.");
  assert.doesNotMatch(signInMessage(wrong), /HTTP|Basic|trace/);
  assert.equal(errorDetail(wrong), 'HTTP 401 · intake said: the API key or secret is wrong: send HTTP Basic credentials · trace id abc123');
  assert.match(signInMessage({ status: 0 }), /did not answer/);
  assert.match(signInMessage({ status: 503 }), /Try again/);
  assert.match(signInMessage({ status: 429 }), /Wait/);
});

test('a cancel is neutral, a failure red, an import green', () => {
  assert.equal(statusTone('cancelled'), '');
  assert.equal(statusTone('failed'), 'bad');
  assert.equal(statusTone('failed to send'), 'bad');
  assert.equal(statusTone('imported'), 'good');
  assert.equal(statusTone('validating'), '');
});
