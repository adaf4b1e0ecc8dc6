#!/usr/bin/env node
// Fake LNURL-pay / Lightning address server (LUD-01, LUD-06, LUD-12, LUD-16)
// for routstr-c tests. The address holder receives at a test mint: every
// invoice is a NUT-04 mint quote at --mint, so a melt at that mint (internal
// payment) or at one of its peer mints (mint.mjs --peer) pays it.
// Usage and HTTP interface: tests/fakes/README.md ("lnurl").
//
//   node tests/fakes/lnurl.mjs --port 0 --mint http://127.0.0.1:N [--verbose]
//
// Prints one JSON line {"port":N,"url":"http://127.0.0.1:N","pid":P} on stdout
// when listening; exits on SIGTERM/SIGINT. Listens on 127.0.0.1 only. Node
// stdlib only.

import http from 'node:http';
import { createHash } from 'node:crypto';
import { bech32Encode } from './mint/bolt11.mjs';

// ------------------------------------------------------------------ CLI

const USAGE = `usage: lnurl.mjs --mint URL [--port N] [--min-sendable MSAT] [--max-sendable MSAT]
  [--comment-allowed N] [--verbose]`;

function die(msg) {
  process.stderr.write(`lnurl.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { port: 0, mint: null, minSendable: 1000, maxSendable: 100000000000, commentAllowed: 64, verbose: false };
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
      case '--mint': {
        let u;
        try {
          u = new URL(next());
        } catch {}
        if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) die('--mint: expected an http(s) URL');
        o.mint = u.origin + u.pathname.replace(/\/+$/, '');
        break;
      }
      case '--min-sendable': o.minSendable = int(a, next(), 1000, Number.MAX_SAFE_INTEGER); break;
      case '--max-sendable': o.maxSendable = int(a, next(), 1000, Number.MAX_SAFE_INTEGER); break;
      case '--comment-allowed': o.commentAllowed = int(a, next(), 0, 2000); break;
      case '--verbose': o.verbose = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: die(`unknown argument: ${a}\n${USAGE}`);
    }
  }
  if (!o.mint) die(`--mint is required\n${USAGE}`);
  if (o.minSendable > o.maxSendable) die('--min-sendable is above --max-sendable');
  return o;
}

// ---------------------------------------------------------------- state

const MODES = ['ok', 'error', 'wrong-amount', 'wrong-hash', 'down', 'bad-tag'];
const USER = /^[a-z0-9._-]+$/; // LUD-16 usernames
const MINT_TIMEOUT_MS = 5000;

let mode = 'ok';
let payments = []; // [{user, amount_msat, invoice_msat, quote, bolt11, comment, created_at}]

// ----------------------------------------------------------------- HTTP

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Access-Control-Allow-Origin': '*', // LUD-01: browser wallets call these routes
  });
  res.end(body);
}

/** An LNURL error answer (LUD-06 shape). HTTP 200 unless `status` says otherwise. */
const lnError = (res, reason, status = 200) => send(res, status, { status: 'ERROR', reason });

function readJson(req) {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c) => {
      if (text.length < 65536) text += c;
    });
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch {
        resolve(null);
      }
    });
    req.on('error', () => resolve(null));
  });
}

/** JSON from the mint, or throws Error with the mint's detail. */
async function mintCall(mint, method, path, body) {
  const r = await fetch(mint + path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(MINT_TIMEOUT_MS),
  });
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`mint answered ${r.status}: ${j?.detail ?? 'no detail'}`);
  return j;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const log = (...a) => o.verbose && process.stderr.write(a.join(' ') + '\n');
  let base = ''; // http://127.0.0.1:PORT
  let host = ''; // 127.0.0.1:PORT, the domain part of the Lightning address

  const wellKnownUrl = (user) => `${base}/.well-known/lnurlp/${user}`;
  const metadata = (user) =>
    JSON.stringify([
      ['text/plain', `Pay to ${user}`],
      ['text/identifier', `${user}@${host}`],
    ]);

  // LUD-06 step 1 (LUD-16 address form): the payRequest parameters.
  function payRequest(res, user) {
    send(res, 200, {
      tag: mode === 'bad-tag' ? 'withdrawRequest' : 'payRequest',
      callback: `${base}/lnurlp/${user}/callback`,
      minSendable: o.minSendable,
      maxSendable: o.maxSendable,
      metadata: metadata(user),
      commentAllowed: o.commentAllowed, // LUD-12
    });
  }

  // LUD-06 step 2: an invoice for `amount` msat, made as a mint quote at --mint.
  async function callback(res, user, query) {
    if (mode === 'error') return lnError(res, 'test error');
    const a = query.get('amount');
    if (a === null || !/^\d+$/.test(a)) return lnError(res, 'amount must be an integer number of millisatoshis');
    const msat = a.length > 15 ? Infinity : Number(a); // 15 digits stay exact in a double
    if (msat < o.minSendable || msat > o.maxSendable)
      return lnError(res, `amount must be between ${o.minSendable} and ${o.maxSendable} msat`);
    if (msat % 1000 !== 0) return lnError(res, 'amount must be a whole number of satoshis (a multiple of 1000 msat)');
    const comment = query.get('comment');
    if (comment !== null && [...comment].length > o.commentAllowed)
      return lnError(res, `comment is longer than ${o.commentAllowed} characters`);
    // wrong-amount: an attacker's invoice for twice the amount; wrong-hash: one that
    // does not commit to our metadata. A careful client refuses both.
    const sats = (msat / 1000) * (mode === 'wrong-amount' ? 2 : 1);
    const meta = metadata(user) + (mode === 'wrong-hash' ? ' (not this)' : '');
    let q;
    try {
      q = await mintCall(o.mint, 'POST', '/v1/mint/quote/bolt11', {
        amount: sats,
        unit: 'sat',
        description_hash: createHash('sha256').update(meta, 'utf8').digest('hex'),
      });
    } catch (e) {
      log('callback', user, msat, 'mint error:', e.message);
      return lnError(res, `cannot make an invoice: ${e.message}`);
    }
    payments.push({
      user,
      amount_msat: msat,
      invoice_msat: sats * 1000,
      quote: q.quote,
      bolt11: q.request,
      comment,
      created_at: Math.floor(Date.now() / 1000),
    });
    log('callback', user, msat, 'quote', q.quote);
    send(res, 200, { pr: q.request, routes: [] });
  }

  // GET /_test/payments: each request with its quote's state, read from the mint now.
  async function paymentsReport() {
    const list = await Promise.all(
      payments.map(async (p) => {
        let state;
        try {
          state = (await mintCall(o.mint, 'GET', '/v1/mint/quote/bolt11/' + encodeURIComponent(p.quote))).state;
        } catch (e) {
          state = 'UNKNOWN';
          log('payments: quote', p.quote, e.message);
        }
        return { ...p, state };
      }),
    );
    const paid = {};
    for (const p of list) {
      paid[p.user] ??= 0;
      if (p.state === 'PAID' || p.state === 'ISSUED') paid[p.user] += p.invoice_msat;
    }
    return { payments: list, paid_msat: paid };
  }

  async function testRoute(req, res, path) {
    let m;
    if (req.method === 'GET' && path === '/_test/payments') return send(res, 200, await paymentsReport());
    if (req.method === 'GET' && path === '/_test/mode') return send(res, 200, { mode });
    if (req.method === 'POST' && path === '/_test/mode') {
      const b = await readJson(req);
      if (!MODES.includes(b?.mode)) return lnError(res, `mode must be one of ${MODES.join(', ')}`, 400);
      mode = b.mode;
      log('mode', mode);
      return send(res, 200, { mode });
    }
    if (req.method === 'POST' && path === '/_test/reset') {
      mode = 'ok';
      payments = [];
      return send(res, 200, { mode, payments: 0 });
    }
    if (req.method === 'GET' && (m = /^\/_test\/lnurl\/([^/]+)$/.exec(path))) {
      if (!USER.test(m[1])) return lnError(res, 'bad user name', 404);
      const url = wellKnownUrl(m[1]);
      // LUD-01: bech32 of the URL, HRP "lnurl", upper case, no length limit.
      const lnurl = bech32Encode('lnurl', Buffer.from(url, 'utf8')).toUpperCase();
      return send(res, 200, { lnurl, url, address: `${m[1]}@${host}` });
    }
    return lnError(res, 'unknown test endpoint', 404);
  }

  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    try {
      if (path.startsWith('/_test/')) return await testRoute(req, res, path);
      log(req.method, req.url);
      if (mode === 'down') return lnError(res, 'service unavailable (test)', 503);
      let m;
      const route =
        ((m = /^\/\.well-known\/lnurlp\/([^/]+)$/.exec(path)) && 'wellknown') ||
        ((m = /^\/lnurlp\/([^/]+)\/callback$/.exec(path)) && 'callback');
      if (!route) return lnError(res, 'not found', 404);
      if (req.method !== 'GET') return lnError(res, 'method not allowed', 405);
      const user = m[1];
      if (!USER.test(user)) return lnError(res, `no such user: ${user}`, 404);
      if (route === 'wellknown') return payRequest(res, user);
      return await callback(res, user, u.searchParams);
    } catch (e) {
      process.stderr.write(`lnurl.mjs: internal error on ${req.method} ${req.url}: ${e.stack ?? e}\n`);
      return lnError(res, 'internal error: ' + (e.message ?? String(e)), 500);
    }
  });
  server.listen(o.port, '127.0.0.1', () => {
    const port = server.address().port;
    base = `http://127.0.0.1:${port}`;
    host = `127.0.0.1:${port}`;
    process.stdout.write(JSON.stringify({ port, url: base, pid: process.pid }) + '\n');
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
