'use strict';
const { MAX_PAYLOAD } = require('./frames');

// Topic and key names become part of pool file names: keep them to a safe alphabet.
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const PAGE = 1000;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let length = 0;
    req.on('data', (chunk) => {
      length += chunk.length;
      if (length > MAX_PAYLOAD) reject(new HttpError(413, `a body is at most ${MAX_PAYLOAD} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res, value) {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(value));
}

/**
 *   POST /topics/:topic          body: one record        → { offset }
 *   GET  /topics/:topic?from=N   records from offset N   → { records: [{ offset, data (base64) }], next }
 *   PUT  /blobs/:key             body: the new blob      → { size }
 *   GET  /blobs/:key             the blob, or 404
 */
async function route(store, req, res) {
  const url = new URL(req.url, 'http://service');
  const [, kind, name, extra] = url.pathname.split('/');
  if (extra !== undefined || name === undefined) throw new HttpError(404, 'no such route');
  if (!NAME.test(name)) throw new HttpError(400, `names match ${NAME}`);
  if (kind === 'topics' && req.method === 'POST') {
    const body = await readBody(req);
    if (body.length === 0) throw new HttpError(400, 'a record is not empty');
    return json(res, { offset: await store.log(name).append(body) });
  }
  if (kind === 'topics' && req.method === 'GET') {
    const from = Number(url.searchParams.get('from') ?? 0);
    if (!Number.isSafeInteger(from) || from < 0) throw new HttpError(400, 'from is an offset');
    const { records, next } = await store.log(name).read(from, PAGE);
    return json(res, { records: records.map((r) => ({ offset: r.offset, data: r.payload.toString('base64') })), next });
  }
  if (kind === 'blobs' && req.method === 'PUT') {
    const body = await readBody(req);
    await store.blobs.put(name, body);
    return json(res, { size: body.length });
  }
  if (kind === 'blobs' && req.method === 'GET') {
    const value = await store.blobs.get(name);
    if (value === null) throw new HttpError(404, 'no such key');
    res.setHeader('content-type', 'application/octet-stream');
    return res.end(value);
  }
  throw new HttpError(404, 'no such route');
}

module.exports = { route, HttpError };
