// Helpers for the money end-to-end tests (money.test.mjs, xcashu.test.mjs):
// the routstrctl audit of a run, a cashu-ts wallet on the stack's test mint,
// balance look-ups, and the expected charge of a request computed by hand with
// BigInt, the same formula as lib/pricing.c pricing_cost (docs/money.md):
//
//   msat = ceil( sum(units_i x price_i) x exchange_fee x provider_fee / btc_price )
//
// with prices in fUSD (1e-15 USD), fees in ppm and the BTC price in micro-USD,
// rounded up once, at the end.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Wallet, getTokenMetadata } from '@cashu/cashu-ts';
import { REPO_ROOT, fcgiBinary, getJson, postJson, prerequisites } from './harness.mjs';

export const MODELS = JSON.parse(fs.readFileSync(
	path.join(REPO_ROOT, 'tests', 'fakes', 'models.json'), 'utf8')).data;

// The fake ticker's default price (harness.mjs startTicker), USD per BTC.
export const TICKER_BTC_USD = '100000';

// ------------------------------------------------------------ routstrctl

// routstrctl: $ROUTSTRCTL, else next to the routstr.fcgi under test, else at
// the top of the source tree.
export function routstrctlBinary() {
	if (process.env.ROUTSTRCTL)
		return path.resolve(process.env.ROUTSTRCTL);
	const near = path.join(path.dirname(fcgiBinary()), 'routstrctl');
	if (fs.existsSync(near))
		return near;
	return path.join(REPO_ROOT, 'routstrctl');
}

// prerequisites() of harness.mjs, plus routstrctl (the audit needs it).
export function moneyPrerequisites(setups = ['lighttpd']) {
	const pre = prerequisites(setups);
	if (pre.skip)
		return pre;
	const ctl = routstrctlBinary();
	try {
		fs.accessSync(ctl, fs.constants.X_OK);
	} catch {
		const reason = `routstrctl not found at ${ctl} (build it, or set ROUTSTRCTL)`;
		if (process.env.ROUTSTR_E2E_REQUIRED) {
			test('end-to-end prerequisites (ROUTSTR_E2E_REQUIRED is set)', () => {
				assert.fail(reason);
			});
			return { skip: reason, required: true };
		}
		process.stderr.write(`# SKIPPING: ${reason}\n`);
		return { skip: reason };
	}
	return pre;
}

// Run `routstrctl <args>` against the run's database and settings file.
// When we are root it runs as the run directory's owner (www-data), so that
// SQLite files it may create (-wal, -shm) never become root's in a live run.
// Returns { status, out } (stdout + stderr).
export function routstrctl(stack, args) {
	const rundir = stack.server.rundir;
	const owner = {};
	if (typeof process.getuid === 'function' && process.getuid() === 0) {
		const st = fs.statSync(rundir);
		owner.uid = st.uid;
		owner.gid = st.gid;
	}
	const r = spawnSync(routstrctlBinary(), args, {
		...owner,
		cwd: rundir,
		encoding: 'utf8',
		timeout: 30000,
		env: {
			PATH: process.env.PATH,
			DATABASE_URL: `sqlite:///${rundir}/routstr.db`,
			ROUTSTR_CONFIG: path.join(rundir, 'routstr.conf'),
			UPSTREAM_BASE_URL: stack.mock.url,
		},
	});
	return { status: r.status, out: `${r.stdout || ''}${r.stderr || ''}${r.error ? r.error.message : ''}` };
}

// `routstrctl audit` of the run; asserts exit 0 and returns its output.
export function assertAuditClean(stack, what = 'audit') {
	const r = routstrctl(stack, ['audit']);
	assert.equal(r.status, 0, `${what}: routstrctl audit exited ${r.status}:\n${r.out}`);
	assert.match(r.out, /audit: clean/);
	return r.out;
}

// Stop the stack, then audit its database (the web server and routstr are
// gone, so the snapshot is final). Returns { report, audit }.
export async function stopAndAudit(stack) {
	const report = await stack.stop();
	return { report, audit: assertAuditClean(stack, 'final audit') };
}

// ------------------------------------------------------------ the test mint

// A cashu-ts wallet on the stack's test mint (keys loaded).
export async function mintWallet(stack) {
	const w = new Wallet(stack.mint.url, { unit: 'sat' });
	await w.loadMint();
	return w;
}

// Receive (swap) an encoded token at the test mint; returns the sats received.
export async function redeemAtMint(stack, token, wallet) {
	const w = wallet ?? await mintWallet(stack);
	const proofs = await w.receive(token);
	return proofs.reduce((s, p) => s + Number(p.amount), 0);
}

// Face value of an encoded token, in its unit.
export function tokenValue(token) {
	return getTokenMetadata(token).amount.toNumber();
}

// The unit of an encoded token.
export function tokenUnit(token) {
	return getTokenMetadata(token).unit;
}

// ------------------------------------------------------------ balances

export const bearer = (key) => ({ authorization: `Bearer ${key}` });

// GET /v1/balance/info; asserts 200 and returns the JSON.
export async function balanceInfo(stack, key) {
	const r = await getJson(`${stack.baseUrl}/v1/balance/info`, bearer(key));
	assert.equal(r.status, 200, `balance/info: ${r.text.slice(0, 300)}`);
	return r.json;
}

// Poll /v1/balance/info until pred(info) holds (bounded); returns the last info.
export async function waitBalance(stack, key, pred, ms = 10000) {
	const end = Date.now() + ms;
	let info;
	for (;;) {
		info = await balanceInfo(stack, key);
		if (pred(info) || Date.now() > end)
			return info;
		await new Promise((r) => setTimeout(r, 50));
	}
}

export function chat(stack, body, headers = {}, timeoutMs = 20000) {
	return postJson(`${stack.baseUrl}/v1/chat/completions`, body, headers, timeoutMs);
}

export const chatBody = (extra = {}) => ({
	model: 'mock-model',
	messages: [{ role: 'user', content: 'Say hello.' }],
	...extra,
});

// ------------------------------------------------------------ exact pricing

// A non-negative decimal string as BigInt value x 10^scale; digits below
// 10^-scale round up (up=true) or are dropped (lib/pricing.c parse_decimal).
export function decimalScaled(s, scale, up = true) {
	const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(String(s));
	assert.ok(m && (m[1] || m[2]), `decimal ${s}`);
	const int = m[1] || '0';
	const frac = m[2] || '';
	const kept = frac.slice(0, scale).padEnd(scale, '0');
	let v = BigInt(int + kept);
	if (up && /[1-9]/.test(frac.slice(scale)))
		v += 1n;
	return v;
}

const ceilDiv = (a, b) => (a + b - 1n) / b;

// The model's prices in fUSD per unit (BigInt) from tests/fakes/models.json.
export function modelPrices(id) {
	const m = MODELS.find((x) => x.id === id);
	assert.ok(m, `model ${id} in models.json`);
	const p = {};
	for (const [k, v] of Object.entries(m.pricing))
		p[k] = decimalScaled(v, 15, true);
	return p;
}

// The charge of a usage, computed by hand. opts: { model, prompt, completion,
// btcUsd (string), exchangeFee, providerFee (decimal strings), minMsat }.
// Returns BigInt msat (plus the parts: { total, output, input }).
export function expectedCost(opts) {
	const p = modelPrices(opts.model);
	const ex = decimalScaled(opts.exchangeFee ?? '1.005', 6, false);
	const pf = decimalScaled(opts.providerFee ?? '1.05', 6, false);
	const btc = decimalScaled(opts.btcUsd ?? TICKER_BTC_USD, 6, false);
	const inAcc = BigInt(opts.prompt) * p.prompt + 1n * p.request;
	const outAcc = BigInt(opts.completion) * p.completion;
	const num = (inAcc + outAcc) * ex * pf;
	const div = btc * 10000000000n;
	let total = ceilDiv(num, div);
	const min = BigInt(opts.minMsat ?? 1);
	if (total < min)
		total = min;
	const output = (outAcc * ex * pf) / div;
	return { total, output, input: total - output };
}

// The reservation for a chat (lib/pricing.c pricing_max_cost): prompt
// estimate ceil(code points / 3), completion = min(max_tokens, model's max
// completion tokens, context), worst input/output price, less the tolerance.
export function expectedReservation(opts) {
	const m = MODELS.find((x) => x.id === opts.model);
	const p = modelPrices(opts.model);
	const ex = decimalScaled(opts.exchangeFee ?? '1.005', 6, false);
	const pf = decimalScaled(opts.providerFee ?? '1.05', 6, false);
	const btc = decimalScaled(opts.btcUsd ?? TICKER_BTC_USD, 6, false);
	const tol = decimalScaled(opts.tolerance ?? '1.0', 6, false);	// percent x 1e6
	const ctx = BigInt(m.top_provider?.context_length || m.context_length);
	const mct = BigInt(m.top_provider?.max_completion_tokens || 0);
	let ccap = opts.maxTokens === undefined ? -1n : BigInt(opts.maxTokens);
	if (mct > 0n)
		ccap = ccap < 0n ? mct : (ccap < mct ? ccap : mct);
	if (ccap > ctx)
		ccap = ctx;
	let ptok = BigInt(Math.ceil(opts.promptChars / 3));
	if (ptok > ctx)
		ptok = ctx;
	const ctok = ccap >= 0n ? ccap : ctx;
	const big = (a, b) => (a > b ? a : b);
	const pp = big(p.prompt, big(p.input_cache_write, p.input_cache_read));
	const cp = big(p.completion, p.internal_reasoning);
	const acc = ptok * pp + ctok * cp + p.request;
	const ONE = 100000000n;
	let v = ceilDiv(acc * ex * pf * (ONE - tol), btc * 10000000000n * ONE);
	const min = BigInt(opts.minMsat ?? 1);
	if (v < min)
		v = min;
	return v;
}

// ------------------------------------------------------------ streams

// What an SSE data payload is: done, usage (a chunk carrying usage), content
// (a non-empty delta), or chunk.
function kindOf(data) {
	if (data === '[DONE]')
		return 'done';
	try {
		const o = JSON.parse(data);
		if (o.usage)
			return 'usage';
		if (o.choices?.[0]?.delta?.content)
			return 'content';
	} catch { /* not JSON */ }
	return 'chunk';
}

// POST a streaming chat and read events until `stopAfter` data events (then
// abort the fetch) or the end. Returns { status, headers, events: [data
// strings], comments: [comment lines, without the ':'], order: [kinds of
// events and comments in arrival order], aborted } (text and json instead
// of events when the answer is not an event stream).
export async function readStream(stack, body, headers = {}, opts = {}) {
	const ac = new AbortController();
	const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 20000);
	const events = [];
	const comments = [];
	const order = [];
	let aborted = false;
	let status = 0;
	let resHeaders = null;
	try {
		const r = await fetch(`${stack.baseUrl}/v1/chat/completions`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body: JSON.stringify(body),
			signal: ac.signal,
		});
		status = r.status;
		resHeaders = r.headers;
		if (status !== 200 || !/event-stream/.test(r.headers.get('content-type') || '')) {
			const text = await r.text();
			let json = null;
			try {
				json = JSON.parse(text);
			} catch { /* not JSON */ }
			return { status, headers: r.headers, text, json, events, comments, order, aborted };
		}
		let carry = '';
		const dec = new TextDecoder();
		for await (const chunk of r.body) {
			carry += dec.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
			let i;
			while ((i = carry.indexOf('\n\n')) >= 0) {
				const ev = carry.slice(0, i);
				carry = carry.slice(i + 2);
				const lines = ev.split('\n');
				for (const l of lines)
					if (l.startsWith(':'))
						comments.push(l.slice(1).trim());
				const data = lines.filter((l) => l.startsWith('data:'))
					.map((l) => l.slice(5).trimStart()).join('\n');
				if (lines.some((l) => l.startsWith(':')))
					order.push('comment');
				if (data) {
					events.push(data);
					order.push(kindOf(data));
					if (opts.onEvent)
						opts.onEvent(data);
				}
			}
			if (opts.stopAfter && events.length >= opts.stopAfter) {
				aborted = true;
				ac.abort();
				break;
			}
		}
	} catch (e) {
		if (!aborted)
			throw e;
	} finally {
		clearTimeout(timer);
	}
	return { status, headers: resHeaders, events, comments, order, aborted };
}
