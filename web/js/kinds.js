// The API's closed sets of values, and the guess of an upload's kind from a file.

/** Upload kinds, as the API spells them, with a label for people. */
export const KINDS = [
  ['image', 'Image'], ['video', 'Video'], ['audio', 'Audio'], ['3d', '3D model'],
  ['model', 'Model weights'], ['text', 'Text'], ['avatar', 'Avatar'], ['asset', 'Any file'],
];

/** Upload statuses, in the order an upload moves through them. */
export const STATUSES = ['pending', 'complete', 'validating', 'validated', 'imported', 'failed'];

const BY_EXTENSION = {
  png: 'image', jpg: 'image', jpeg: 'image', webp: 'image', gif: 'image', avif: 'image', heic: 'image',
  heif: 'image', tif: 'image', tiff: 'image', bmp: 'image', tga: 'image', psd: 'image', psb: 'image',
  exr: 'image', hdr: 'image',
  mp4: 'video', mov: 'video', webm: 'video', mkv: 'video', m4v: 'video', avi: 'video',
  m2ts: 'video', mts: 'video', // not .ts: TypeScript has it too
  wav: 'audio', mp3: 'audio', flac: 'audio', ogg: 'audio', oga: 'audio', opus: 'audio', m4a: 'audio',
  aac: 'audio', aif: 'audio', aiff: 'audio', aifc: 'audio',
  glb: '3d', gltf: '3d', obj: '3d', fbx: '3d', usdz: '3d', stl: '3d', ply: '3d', dae: '3d', '3mf': '3d',
  usd: '3d', usda: '3d', usdc: '3d',
  safetensors: 'model', ckpt: 'model', pt: 'model', pth: 'model', bin: 'model', gguf: 'model', pkl: 'model',
  onnx: 'model',
  txt: 'text', md: 'text', json: 'text', csv: 'text', yaml: 'text', yml: 'text',
};

/** The kind a file most likely is: by its extension, else by the browser's MIME type. */
export function guessKind(file) {
  const ext = (file.name.split('.').pop() || '').toLowerCase();
  if (file.name.includes('.') && BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  const type = file.type || '';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  if (type.startsWith('model/')) return '3d';
  if (type.startsWith('text/')) return 'text';
  return 'asset';
}

/** A content type for a file the browser could not type. */
export function contentTypeOf(file) {
  return file.type || 'application/octet-stream';
}

/** Fills a <select> with options [value, label]. */
export function fillSelect(select, options) {
  for (const [value, label] of options) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    select.append(option);
  }
}
