#!/usr/bin/env node
// Cashu test mint for routstr-c tests: real BDHKE + DLEQ, fake Lightning.
// Usage and HTTP interface: tests/fakes/mint/README.md.
//
//   node tests/fakes/mint/mint.mjs --port 0 [--seed HEX] [--input-fee-ppk N] [--unit sat] [--state FILE] ...
//
// Prints one JSON line {"port":N,"url":"http://127.0.0.1:N",...} on stdout when
// listening; exits on SIGTERM/SIGINT. Listens on 127.0.0.1 only.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Mint, MintError, CODES } from './core.mjs';

// ------------------------------------------------------------------ CLI

const USAGE = `usage: mint.mjs [--port N] [--seed HEX] [--unit sat|msat] [--input-fee-ppk N]
  [--max-order H] [--keyset-version 0|1] [--no-inactive-keyset] [--auto-pay|--no-auto-pay]
  [--fee-reserve N] [--ln-fee N] [--quote-expiry SECONDS] [--max-inputs N] [--max-outputs N]
  [--max-amount N] [--state FILE] [--name NAME] [--peer URL]... [--verbose]`;

function parseArgs(argv) {
  const o = {
    port: 0,
    seed: null,
    seedGiven: false,
    unit: 'sat',
    inputFeePpk: 0,
    maxOrder: 32,
    keysetVersion: 1,
    inactiveKeyset: true,
    autoPay: true,
    feeReserve: 2,
    lnFee: 0,
    quoteExpiry: 3600,
    maxInputs: 1000,
    maxOutputs: 1000,
    maxAmount: 2 ** 31,
    stateFile: null,
    name: 'routstr test mint',
    peers: [],
    verbose: false,
  };
  const int = (name, v, min, max) => {
    if (v === undefined || !/^\d+$/.test(v)) die(`${name}: expected an integer`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) die(`${name}: out of range [${min}, ${max}]`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    switch (a) {
      case '--port': o.port = int(a, next(), 0, 65535); break;
      case '--seed': {
        const s = next();
        if (!s || !/^([0-9a-fA-F]{2}){16,64}$/.test(s)) die('--seed: expected 16..64 bytes of hex');
        o.seed = Buffer.from(s, 'hex');
        o.seedGiven = true;
        break;
      }
      case '--unit': o.unit = next(); if (!/^[a-z]{1,10}$/.test(o.unit ?? '')) die('--unit: bad unit'); break;
      case '--input-fee-ppk': o.inputFeePpk = int(a, next(), 0, 100000); break;
      case '--max-order': o.maxOrder = int(a, next(), 1, 53); break;
      case '--keyset-version': o.keysetVersion = int(a, next(), 0, 1); break;
      case '--no-inactive-keyset': o.inactiveKeyset = false; break;
      case '--auto-pay': o.autoPay = true; break;
      case '--no-auto-pay': o.autoPay = false; break;
      case '--fee-reserve': o.feeReserve = int(a, next(), 0, 2 ** 31); break;
      case '--ln-fee': o.lnFee = int(a, next(), 0, 2 ** 31); break;
      case '--quote-expiry': o.quoteExpiry = int(a, next(), 0, 10 ** 9); break;
      case '--max-inputs': o.maxInputs = int(a, next(), 1, 100000); break;
      case '--max-outputs': o.maxOutputs = int(a, next(), 1, 100000); break;
      case '--max-amount': o.maxAmount = int(a, next(), 1, Number.MAX_SAFE_INTEGER); break;
      case '--state': o.stateFile = next(); if (!o.stateFile) die('--state: missing FILE'); break;
      case '--name': o.name = next() ?? o.name; break;
      case '--peer': {
        const u = peerUrl(next());
        if (!u) die('--peer: expected an http(s) URL');
        if (!o.peers.includes(u)) o.peers.push(u);
        break;
      }
      case '--verbose': o.verbose = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: die(`unknown argument: ${a}\n${USAGE}`);
    }
  }
  if (!o.seed) o.seed = randomBytes(32);
  return o;
}

/** Normalized peer base URL (no trailing slash), or null when `s` is not an http(s) URL. */
function peerUrl(s) {
  let u;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return u.origin + u.pathname.replace(/\/+$/, '');
}

function die(msg) {
  process.stderr.write(`mint.mjs: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------- test controls

const ctl = {
  down: null, // null | 'reset' | '503' | 'hang'
  downTimer: null,
  hung: new Set(),
  delayMs: 0,
  failNext: [], // [{route, mode, count, code, detail, status}]
  stats: { total: 0, requests: {}, errors: {}, rejected: 0 },
  peers: [], // base URLs of peer test mints (--peer, POST /_test/peers)
};

// ----------------------------------------------------------- peer mints

const PEER_TIMEOUT_MS = 3000;

/**
 * Foreign payment: asks each peer in turn, POST <peer>/_test/pay-invoice
 * {request}, whether it made this invoice. Returns the first answer with
 * found:true, or null when no peer claims it (or none answers in time).
 * Never throws: the melt's inputs are locked while this runs.
 */
async function payForeign(request, log) {
  for (const peer of [...ctl.peers]) {
    try {
      const r = await fetch(peer + '/_test/pay-invoice', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ request }),
        signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
      });
      const j = await r.json();
      if (r.ok && j?.found === true) {
        log('peer', peer, 'claims the invoice:', JSON.stringify(j));
        if (typeof j.preimage !== 'string' || !/^[0-9a-f]{64}$/.test(j.preimage)) delete j.preimage;
        return j;
      }
    } catch (e) {
      log('peer', peer, 'unreachable:', e.message);
    }
  }
  return null;
}

function setDown(mode, seconds) {
  ctl.down = mode;
  clearTimeout(ctl.downTimer);
  ctl.downTimer = null;
  if (seconds > 0) {
    ctl.downTimer = setTimeout(setUp, seconds * 1000);
    ctl.downTimer.unref();
  }
}

function setUp() {
  ctl.down = null;
  clearTimeout(ctl.downTimer);
  ctl.downTimer = null;
  for (const res of ctl.hung) res.socket?.destroy();
  ctl.hung.clear();
}

// ---------------------------------------------------------------- HTTP

const MAX_BODY = 4 * 1024 * 1024;

function send(res, status, obj, extraHeaders = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

function sendError(res, code, detail, status = 400) {
  ctl.stats.errors[code] = (ctl.stats.errors[code] ?? 0) + 1;
  send(res, status, { detail, code });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new MintError(CODES.NOT_ALLOWED, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function jsonBody(req) {
  const text = await readBody(req);
  if (text.length === 0) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new MintError(CODES.NOT_ALLOWED, 'invalid JSON body');
  }
}

/** Route table: [method, regex, name, handler(mint, match, req) -> object]. */
function routes(mint, urlOf) {
  return [
    ['GET', /^\/v1\/info$/, 'GET /v1/info', () => mint.info(urlOf())],
    ['GET', /^\/v1\/keys$/, 'GET /v1/keys', () => mint.getKeys()],
    ['GET', /^\/v1\/keys\/([^/]+)$/, 'GET /v1/keys/{id}', (m) => mint.getKeys(decodeURIComponent(m[1]))],
    ['GET', /^\/v1\/keysets$/, 'GET /v1/keysets', () => mint.getKeysets()],
    ['POST', /^\/v1\/swap$/, 'POST /v1/swap', async (m, req) => mint.swap(await jsonBody(req))],
    ['POST', /^\/v1\/checkstate$/, 'POST /v1/checkstate', async (m, req) => mint.checkstate(await jsonBody(req))],
    ['POST', /^\/v1\/restore$/, 'POST /v1/restore', async (m, req) => mint.restore(await jsonBody(req))],
    ['POST', /^\/v1\/mint\/quote\/bolt11$/, 'POST /v1/mint/quote/bolt11', async (m, req) => mint.createMintQuote(await jsonBody(req))],
    ['GET', /^\/v1\/mint\/quote\/bolt11\/([^/]+)$/, 'GET /v1/mint/quote/bolt11/{id}', (m) => mint.getMintQuote(decodeURIComponent(m[1]))],
    ['POST', /^\/v1\/mint\/bolt11$/, 'POST /v1/mint/bolt11', async (m, req) => mint.mint(await jsonBody(req))],
    ['POST', /^\/v1\/melt\/quote\/bolt11$/, 'POST /v1/melt/quote/bolt11', async (m, req) => mint.createMeltQuote(await jsonBody(req))],
    ['GET', /^\/v1\/melt\/quote\/bolt11\/([^/]+)$/, 'GET /v1/melt/quote/bolt11/{id}', (m) => mint.getMeltQuote(decodeURIComponent(m[1]))],
    ['POST', /^\/v1\/melt\/bolt11$/, 'POST /v1/melt/bolt11', async (m, req) => mint.melt(await jsonBody(req))],
  ];
}

function testRoutes(mint) {
  return [
    ['POST', /^\/_test\/down$/, async (m, req) => {
      const b = await jsonBody(req);
      const mode = b.mode ?? 'reset';
      if (!['reset', '503', 'hang'].includes(mode)) throw new MintError(CODES.NOT_ALLOWED, 'mode must be reset, 503 or hang');
      const seconds = b.seconds ?? 0;
      if (typeof seconds !== 'number' || !(seconds >= 0) || seconds > 86400) throw new MintError(CODES.NOT_ALLOWED, 'bad seconds');
      setDown(mode, seconds);
      return { down: true, mode, seconds };
    }],
    ['POST', /^\/_test\/up$/, () => { setUp(); return { down: false }; }],
    ['POST', /^\/_test\/pay\/([^/]+)$/, (m) => mint.payMintQuote(decodeURIComponent(m[1]))],
    // Another test mint melted an invoice it did not make and asks whether we did.
    ['POST', /^\/_test\/pay-invoice$/, async (m, req) => mint.payInvoice((await jsonBody(req)).request)],
    ['GET', /^\/_test\/peers$/, () => ({ peers: ctl.peers })],
    ['POST', /^\/_test\/peers$/, async (m, req) => {
      const b = await jsonBody(req);
      for (const k of ['add', 'remove']) {
        if (b[k] === undefined) continue;
        const u = peerUrl(b[k]);
        if (!u) throw new MintError(CODES.NOT_ALLOWED, `${k}: expected an http(s) URL`);
        if (k === 'add' && !ctl.peers.includes(u)) ctl.peers.push(u);
        if (k === 'remove') ctl.peers = ctl.peers.filter((p) => p !== u);
      }
      return { peers: ctl.peers };
    }],
    ['POST', /^\/_test\/invoice$/, async (m, req) => {
      const b = await jsonBody(req);
      if (!Number.isSafeInteger(b.amount) || b.amount <= 0) throw new MintError(CODES.NOT_ALLOWED, 'amount must be a positive integer');
      const inv = mint.newInvoice(b.amount, { fail: b.fail, pending: b.pending, description: b.description });
      return { request: inv.request, payment_hash: inv.paymentHash, amount: b.amount, unit: mint.o.unit, fail: !!b.fail, pending: !!b.pending };
    }],
    ['POST', /^\/_test\/settle\/([^/]+)$/, async (m, req) => {
      const b = await jsonBody(req);
      return mint.settleMelt(decodeURIComponent(m[1]), b.success !== false);
    }],
    ['POST', /^\/_test\/delay$/, async (m, req) => {
      const b = await jsonBody(req);
      const ok = (v) => v === undefined || (Number.isSafeInteger(v) && v >= 0 && v <= 600000);
      if (!ok(b.ms) || !ok(b.hold_ms)) throw new MintError(CODES.NOT_ALLOWED, 'ms/hold_ms must be integers in [0, 600000]');
      if (b.ms !== undefined) ctl.delayMs = b.ms;
      if (b.hold_ms !== undefined) mint.holdMs = b.hold_ms;
      return { ms: ctl.delayMs, hold_ms: mint.holdMs };
    }],
    ['POST', /^\/_test\/fail-next$/, async (m, req) => {
      const b = await jsonBody(req);
      const mode = b.mode ?? 'reset';
      if (!['reset', '503', 'error', 'after'].includes(mode)) throw new MintError(CODES.NOT_ALLOWED, 'mode must be reset, 503, error or after');
      if (typeof b.route !== 'string') throw new MintError(CODES.NOT_ALLOWED, 'route required, e.g. "POST /v1/swap"');
      const count = b.count ?? 1;
      if (!Number.isSafeInteger(count) || count < 1 || count > 1000) throw new MintError(CODES.NOT_ALLOWED, 'bad count');
      ctl.failNext.push({ route: b.route, mode, count, code: b.code ?? CODES.NOT_ALLOWED, detail: b.detail ?? 'injected failure' });
      return { armed: ctl.failNext.length };
    }],
    ['POST', /^\/_test\/rotate$/, async (m, req) => {
      const b = await jsonBody(req);
      const id = mint.rotate(b.input_fee_ppk);
      return { active: id, keysets: mint.getKeysets().keysets };
    }],
    ['GET', /^\/_test\/stats$/, () => ctl.stats],
    ['POST', /^\/_test\/stats\/reset$/, () => {
      ctl.stats = { total: 0, requests: {}, errors: {}, rejected: 0 };
      return ctl.stats;
    }],
    ['GET', /^\/_test\/state$/, () => ({ ...mint.snapshot(), down: ctl.down, delay_ms: ctl.delayMs, peers: ctl.peers })],
  ];
}

function takeFailure(name) {
  const i = ctl.failNext.findIndex((f) => f.route === name);
  if (i < 0) return null;
  const f = ctl.failNext[i];
  if (--f.count === 0) ctl.failNext.splice(i, 1);
  return f;
}

/** Drops the connection with a TCP RST: what a client sees when the mint dies mid-request. */
function resetConnection(res) {
  const s = res.socket;
  if (s && typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s?.destroy();
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let mint;
  try {
    mint = new Mint(opts);
  } catch (e) {
    die(e.message);
  }
  let url = '';
  const table = routes(mint, () => url);
  const tests = testRoutes(mint);
  const log = (...a) => opts.verbose && process.stderr.write(a.join(' ') + '\n');
  ctl.peers = opts.peers;
  mint.payForeign = (request) => payForeign(request, log);

  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path.startsWith('/_test/')) {
        for (const [method, re, fn] of tests) {
          const m = re.exec(path);
          if (m && req.method === method) return send(res, 200, await fn(m, req));
        }
        return sendError(res, CODES.NOT_ALLOWED, 'unknown test endpoint', 404);
      }
      ctl.stats.total++;
      if (ctl.down) {
        ctl.stats.rejected++;
        log('down', ctl.down, req.method, path);
        if (ctl.down === 'reset') return resetConnection(res);
        if (ctl.down === 'hang') return void ctl.hung.add(res);
        return send(res, 503, { detail: 'mint is down (test)', code: 0 }, { 'Retry-After': '1' });
      }
      let route = null;
      let match = null;
      for (const r of table) {
        const m = r[1].exec(path);
        if (m && r[0] === req.method) {
          route = r;
          match = m;
          break;
        }
      }
      if (!route) return sendError(res, CODES.NOT_ALLOWED, `no route for ${req.method} ${path}`, 404);
      const name = route[2];
      ctl.stats.requests[name] = (ctl.stats.requests[name] ?? 0) + 1;
      if (ctl.delayMs > 0) await new Promise((r) => setTimeout(r, ctl.delayMs));
      const f = takeFailure(name);
      if (f?.mode === 'reset') return resetConnection(res);
      if (f?.mode === '503') return send(res, 503, { detail: 'injected 503', code: 0 });
      if (f?.mode === 'error') return sendError(res, f.code, f.detail);
      let out;
      try {
        out = await route[3](match, req);
      } catch (e) {
        if (f?.mode === 'after') return resetConnection(res);
        throw e;
      }
      log(req.method, path, '200');
      // mode 'after': the operation happened (proofs spent, signatures stored) but the answer is lost.
      if (f?.mode === 'after') return resetConnection(res);
      return send(res, 200, out);
    } catch (e) {
      if (e instanceof MintError) {
        log(req.method, path, '400', e.code, e.detail);
        return sendError(res, e.code, e.detail);
      }
      process.stderr.write(`mint.mjs: internal error on ${req.method} ${path}: ${e.stack ?? e}\n`);
      return sendError(res, 0, 'internal error: ' + (e.message ?? String(e)), 500);
    }
  });
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 35000;
  server.listen(opts.port, '127.0.0.1', () => {
    const port = server.address().port;
    url = `http://127.0.0.1:${port}`;
    const ks = mint.activeKeyset();
    process.stdout.write(
      JSON.stringify({ port, url, pid: process.pid, keyset_id: ks.id, unit: ks.unit, input_fee_ppk: ks.input_fee_ppk, pubkey: mint.pubkey }) + '\n',
    );
  });
  const stop = () => {
    setUp();
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
