// End-to-end test harness: the mock upstream, the web-server set-ups (see
// servers.mjs), prerequisite checks, and small HTTP helpers that measure what a
// real client sees (raw sockets for malformed requests, SSE arrival times).
//
// Usage in a test file:
//   const h = await startStack('lighttpd', { maxBodyBytes: 1048576 });
//   ... fetch(`${h.baseUrl}/v1/info`) ... h.mock.last() ...
//   await h.stop();

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { test } from 'node:test';
import { Wallet, getEncodedToken } from '@cashu/cashu-ts';
import { startMint } from '../../fakes/mint/spawn.mjs';
import { REPO_ROOT, SETUPS, fcgiBinary, missingFor, startSetup } from './servers.mjs';

export { REPO_ROOT, SETUPS, fcgiBinary, missingFor };

export const UPSTREAM_API_KEY = 'sk-upstream-provider-key-e2e';
export const CLIENT_API_KEY = 'sk-client-key-that-must-not-go-upstream';

// Lines that mean a process crashed, in routstr's log or a web server's.
export const CRASH_RE = /AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|SIGSEGV|SIGABRT|SIGBUS|core dumped|Assertion .* failed|signal (4|6|7|8|11)\b|child signaled|terminated by signal/i;

// Decide whether a suite needing `setups` can run. Returns { skip: false } or
// { skip: "<reason>" }. When ROUTSTR_E2E_REQUIRED is set (CI), a missing
// prerequisite is not a reason to skip: a failing test is registered instead.
export function prerequisites(setups) {
	const miss = new Set();
	for (const s of setups)
		for (const m of missingFor(s))
			miss.add(m);
	if (miss.size === 0)
		return { skip: false };
	const reason = `end-to-end prerequisites missing: ${[...miss].join('; ')}`;
	if (process.env.ROUTSTR_E2E_REQUIRED) {
		test('end-to-end prerequisites (ROUTSTR_E2E_REQUIRED is set)', () => {
			assert.fail(reason);
		});
		return { skip: reason, required: true };
	}
	process.stderr.write(`# SKIPPING: ${reason}\n`);
	return { skip: reason };
}

// ------------------------------------------------------------ mock upstream

// Start tests/fakes/mock-upstream.mjs on a free port. Returns { port, url
// (base with /v1), stats(), last(), reset(), stop() }.
export async function startMock() {
	const script = path.join(REPO_ROOT, 'tests', 'fakes', 'mock-upstream.mjs');
	const proc = spawn(process.execPath, [script, '--port', '0'],
		{ stdio: ['ignore', 'pipe', 'pipe'] });
	let stderr = '';
	proc.stderr.on('data', (d) => { stderr += d; });
	const port = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`mock upstream did not start: ${stderr}`)), 10000);
		const rl = readline.createInterface({ input: proc.stdout });
		rl.once('line', (line) => {
			clearTimeout(timer);
			try {
				resolve(JSON.parse(line).port);
			} catch (e) {
				reject(new Error(`mock upstream printed ${line}`));
			}
		});
		proc.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`mock upstream exited (${code}): ${stderr}`));
		});
	});
	const root = `http://127.0.0.1:${port}`;
	const getJson = async (p, method = 'GET') => {
		const r = await fetch(root + p, { method, signal: AbortSignal.timeout(5000) });
		return r.json();
	};
	let stopped = false;
	const onExit = () => { if (!stopped) proc.kill('SIGKILL'); };
	process.on('exit', onExit);
	return {
		port,
		url: `${root}/v1`,
		stats: () => getJson('/_mock/stats'),
		last: () => getJson('/_mock/last'),
		reset: () => getJson('/_mock/reset', 'POST'),
		stop: async () => {
			if (stopped)
				return;
			stopped = true;
			process.off('exit', onExit);
			if (proc.exitCode !== null)
				return;
			const gone = new Promise((r) => proc.once('exit', r));
			proc.kill('SIGTERM');
			const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
			await gone;
			clearTimeout(t);
		},
	};
}

// Start tests/fakes/ticker.mjs (fake BTC/USD exchanges) at a fixed price.
// Returns { port, sources (PRICE_SOURCES value), stop() }.
export async function startTicker(price = '100000') {
	const script = path.join(REPO_ROOT, 'tests', 'fakes', 'ticker.mjs');
	const proc = spawn(process.execPath, [script, '--port', '0', '--price', price],
		{ stdio: ['ignore', 'pipe', 'pipe'] });
	const onExit = () => proc.kill('SIGKILL');
	process.on('exit', onExit);
	const port = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('ticker did not start')), 10000);
		readline.createInterface({ input: proc.stdout }).once('line', (line) => {
			clearTimeout(timer);
			resolve(JSON.parse(line).port);
		});
		proc.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`ticker exited (${code})`));
		});
	});
	const root = `http://127.0.0.1:${port}`;
	return {
		port,
		sources: `${root}/0/public/Ticker?pair=XBTUSD,${root}/v2/prices/BTC-USD/spot,` +
			`${root}/api/v3/ticker/price?symbol=BTCUSDT`,
		stop: async () => {
			process.off('exit', onExit);
			if (proc.exitCode !== null)
				return;
			const gone = new Promise((r) => proc.once('exit', r));
			proc.kill('SIGTERM');
			await gone;
		},
	};
}

// ----------------------------------------------------------- a whole stack

// Mock upstream + test mint + fake ticker + one web-server set-up with
// routstr.fcgi in front of them. opts are passed to startSetup (servers.mjs);
// opts.conf adds settings to the run's routstr.conf, opts.mount puts routstr
// under a sub-path. Returns { setup, origin, baseUrl (origin + mount), mount,
// port, mock, mint, server, logs(), stop() }.
export async function startStack(setup, opts = {}) {
	const peers = [];
	const stopPeers = async () => {
		for (const p of peers.reverse())
			await p.stop().catch(() => {});
	};
	let server;
	let mock;
	let mint;
	try {
		mock = await startMock();
		peers.push(mock);
		mint = await startMint();
		peers.push(mint);
		const ticker = await startTicker();
		peers.push(ticker);
		server = await startSetup(setup, {
			upstream: mock.url,
			apiKey: UPSTREAM_API_KEY,
			...opts,
			conf: {
				MODELS_PATH: path.join(REPO_ROOT, 'tests', 'fakes', 'models.json'),
				CASHU_MINTS: mint.url,
				PRICE_SOURCES: ticker.sources,
				// The mock's controls (x-mock-tokens, ...) are client
				// headers; routstr forwards only those it is told to.
				UPSTREAM_FORWARD_HEADERS: 'x-mock-*',
				...(opts.conf || {}),
			},
		});
	} catch (e) {
		await stopPeers();
		throw e;
	}
	return {
		setup,
		origin: server.origin,
		baseUrl: server.baseUrl,
		mount: server.mount,
		port: server.port,
		mock,
		mint,
		server,
		logs: () => server.logs(),
		stop: async () => {
			const report = await server.stop();
			await stopPeers();
			return report;
		},
	};
}

// A Cashu token of `sats` from the stack's test mint (cashu-ts wallet).
export async function mintToken(stack, sats) {
	const w = new Wallet(stack.mint.url, { unit: 'sat' });
	await w.loadMint();
	const q = await w.createMintQuoteBolt11(sats);
	const proofs = await w.mintProofsBolt11(sats, q.quote);
	return getEncodedToken({ mint: stack.mint.url, unit: 'sat', proofs });
}

// An "sk-..." API key funded with `sats` through POST /v1/balance/create.
export async function fundedKey(stack, sats = 1000) {
	const token = await mintToken(stack, sats);
	const r = await postJson(`${stack.baseUrl}/v1/balance/create`, { initial_balance_token: token });
	if (r.status !== 200 || typeof r.json?.api_key !== 'string')
		throw new Error(`/v1/balance/create answered ${r.status}: ${r.text.slice(0, 300)}`);
	return r.json.api_key;
}

// ------------------------------------------------------------ HTTP helpers

// POST JSON with fetch; returns { status, headers, text, json (or null) }.
export async function postJson(url, body, headers = {}, timeoutMs = 20000) {
	const r = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
		signal: AbortSignal.timeout(timeoutMs),
	});
	const text = await r.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch { /* not JSON */ }
	return { status: r.status, headers: r.headers, text, json };
}

export async function getJson(url, headers = {}, timeoutMs = 10000) {
	const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
	const text = await r.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch { /* not JSON */ }
	return { status: r.status, headers: r.headers, text, json };
}

// Assert the routstr error envelope {"error":{message,type,code},"request_id"}
// and that request_id equals the x-routstr-request-id header.
export function assertEnvelope(res, status, type, code) {
	assert.equal(res.status, status, `status (body: ${res.text.slice(0, 300)})`);
	assert.ok(res.json, `JSON body expected, got: ${res.text.slice(0, 300)}`);
	assert.match(res.headers.get('content-type') || '', /application\/json/);
	assert.equal(typeof res.json.error, 'object', `error object in ${res.text.slice(0, 300)}`);
	if (type !== undefined)
		assert.equal(res.json.error.type, type);
	if (code !== undefined)
		assert.equal(res.json.error.code, code);
	const rid = res.headers.get('x-routstr-request-id');
	assert.ok(rid, 'x-routstr-request-id header');
	assert.equal(res.json.request_id, rid, 'request_id equals the x-routstr-request-id header');
}

// Send raw bytes on a fresh TCP connection and read what comes back.
// opts: { halfClose (shut our write side after sending), timeoutMs }.
// Resolves { status (first status line's code or null), head, raw, closed,
// timedOut, ms } and never rejects on a reset.
export function rawRequest(port, bytes, opts = {}) {
	const timeoutMs = opts.timeoutMs ?? 15000;
	return new Promise((resolve) => {
		const t0 = performance.now();
		const chunks = [];
		let done = false;
		const sock = net.connect({ host: '127.0.0.1', port });
		const finish = (how) => {
			if (done)
				return;
			done = true;
			clearTimeout(timer);
			sock.destroy();
			const raw = Buffer.concat(chunks).toString('latin1');
			const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
			const headEnd = raw.indexOf('\r\n\r\n');
			resolve({
				status: m ? Number(m[1]) : null,
				head: headEnd >= 0 ? raw.slice(0, headEnd) : raw,
				body: headEnd >= 0 ? raw.slice(headEnd + 4) : '',
				raw,
				closed: how === 'close',
				timedOut: how === 'timeout',
				ms: performance.now() - t0,
			});
		};
		const timer = setTimeout(() => finish('timeout'), timeoutMs);
		sock.on('data', (d) => chunks.push(d));
		sock.on('end', () => finish('close'));
		sock.on('close', () => finish('close'));
		sock.on('error', () => finish('close'));
		sock.on('connect', () => {
			sock.write(bytes);
			if (opts.halfClose)
				sock.end();
		});
	});
}

// POST a streaming chat and record when each SSE event arrives at the client
// (the body is read incrementally). Returns { status, headers, events:
// [{ t (ms since the request was sent), data }], text, t0 }.
export async function streamChat(url, body, headers = {}, timeoutMs = 30000) {
	const t0 = performance.now();
	const r = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(timeoutMs),
	});
	const events = [];
	let text = '';
	let carry = '';
	const dec = new TextDecoder();
	for await (const chunk of r.body) {
		const now = performance.now() - t0;
		const s = dec.decode(chunk, { stream: true });
		text += s;
		carry += s.replace(/\r\n/g, '\n');
		let i;
		while ((i = carry.indexOf('\n\n')) >= 0) {
			const ev = carry.slice(0, i);
			carry = carry.slice(i + 2);
			const data = ev.split('\n').filter((l) => l.startsWith('data:'))
				.map((l) => l.slice(5).trimStart()).join('\n');
			events.push({ t: now, data, raw: ev });
		}
	}
	return { status: r.status, headers: r.headers, events, text };
}
