// Tests of the mock upstream alone (tests/fakes/mock-upstream.mjs): it is
// started as a child process on port 0 and spoken to over raw node:http, so
// connection reuse and event arrival times are under the test's control.
// Run: cd tests && node --test e2e/mock-upstream.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const MOCK = path.join(here, '..', 'fakes', 'mock-upstream.mjs');

// Start the mock; resolves to { child, port } once it printed {"port":N}.
function startMock() {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [MOCK, '--port', '0'],
			{ stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		const t = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error('mock did not start within 5 s'));
		}, 5000);
		child.stdout.setEncoding('utf8');
		child.stdout.on('data', (d) => {
			out += d;
			const nl = out.indexOf('\n');
			if (nl < 0)
				return;
			clearTimeout(t);
			try {
				const { port } = JSON.parse(out.slice(0, nl));
				resolve({ child, port });
			} catch (e) {
				child.kill('SIGKILL');
				reject(e);
			}
		});
		child.on('exit', (code) => {
			clearTimeout(t);
			reject(new Error(`mock exited early (${code})`));
		});
	});
}

let mock;
let port;

before(async () => {
	mock = await startMock();
	port = mock.port;
});

after(() => {
	if (mock && mock.child.exitCode === null)
		mock.child.kill('SIGKILL');
});

// One HTTP exchange. opts: method, path, headers, body (object -> JSON),
// agent (default: a fresh connection). Resolves to
// { status, headers, text, json, events } where events lists
// { t, data } for each SSE event with its arrival time in ms since the
// response headers arrived, and chunks counts 'data' callbacks.
function request(opts) {
	return new Promise((resolve, reject) => {
		const body = opts.body === undefined ? undefined
			: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
		const headers = { ...(opts.headers || {}) };
		if (body !== undefined) {
			headers['content-type'] ??= 'application/json';
			headers['content-length'] = Buffer.byteLength(body);
		}
		const req = http.request({
			host: '127.0.0.1', port, method: opts.method || 'GET',
			path: opts.path, headers, agent: opts.agent ?? false,
		}, (res) => {
			const t0 = performance.now();
			let text = '';
			let pending = '';
			const events = [];
			res.setEncoding('utf8');
			res.on('data', (d) => {
				const t = performance.now() - t0;
				text += d;
				pending += d;
				let i;
				while ((i = pending.indexOf('\n\n')) >= 0) {
					const ev = pending.slice(0, i);
					pending = pending.slice(i + 2);
					assert.ok(ev.startsWith('data: '), `bad SSE event ${ev}`);
					events.push({ t, data: ev.slice(6) });
				}
			});
			const finish = (aborted) => {
				let json;
				try {
					json = JSON.parse(text);
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode, headers: res.headers, text,
					json, events, aborted });
			};
			res.on('end', () => finish(false));
			res.on('aborted', () => finish(true));
			res.on('error', () => finish(true));
		});
		req.on('error', reject);
		if (opts.timeoutMs)
			req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('timeout')));
		if (body !== undefined)
			req.write(body);
		req.end();
	});
}

const chat = (body, headers, extra) => request({
	method: 'POST', path: '/v1/chat/completions', body, headers, ...extra,
});

const MSGS = [
	{ role: 'system', content: 'abcd' },		// 4 chars
	{ role: 'user', content: 'hello world' },	// 11 chars
];	// 15 chars -> ceil(15/4) = 4 prompt tokens

// ---------------------------------------------------------------- non-stream

test('non-stream reply has the OpenAI shape and deterministic usage', async () => {
	for (const p of ['/v1/chat/completions', '/chat/completions']) {
		const r = await request({ method: 'POST', path: p,
			body: { model: 'any-model', messages: MSGS } });
		assert.equal(r.status, 200);
		assert.match(r.headers['content-type'], /^application\/json/);
		const j = r.json;
		assert.match(j.id, /^chatcmpl-/);
		assert.equal(j.object, 'chat.completion');
		assert.equal(typeof j.created, 'number');
		assert.equal(j.model, 'any-model');
		assert.equal(j.choices.length, 1);
		assert.equal(j.choices[0].message.role, 'assistant');
		assert.equal(j.choices[0].message.content, 'tok0 tok1 tok2 tok3 tok4');
		assert.equal(j.choices[0].finish_reason, 'stop');
		assert.deepEqual(j.usage, { prompt_tokens: 4, completion_tokens: 5,
			total_tokens: 9 });
	}
});

test('x-mock-tokens sets the completion length; prompt_tokens is at least 1', async () => {
	const r = await chat({ model: 'm', messages: [] }, { 'x-mock-tokens': '2' });
	assert.equal(r.json.choices[0].message.content, 'tok0 tok1');
	assert.deepEqual(r.json.usage, { prompt_tokens: 1, completion_tokens: 2,
		total_tokens: 3 });
	const parts = await chat({ model: 'm', messages: [
		{ role: 'user', content: [{ type: 'text', text: '12345678' }] }] });
	assert.equal(parts.json.usage.prompt_tokens, 2);
	const bad = await chat({ model: 'm', messages: [] }, { 'x-mock-tokens': '3x' });
	assert.equal(bad.status, 400);
});

test('mock-no-usage omits usage on a non-stream reply', async () => {
	const r = await chat({ model: 'mock-no-usage', messages: MSGS });
	assert.equal(r.status, 200);
	assert.equal('usage' in r.json, false);
});

// ---------------------------------------------------------------- stream

test('stream events arrive one by one with the configured delay', async () => {
	const delay = 80;
	const r = await chat({ model: 'mock-model', stream: true, messages: MSGS },
		{ 'x-mock-tokens': '3', 'x-mock-delay-ms': String(delay) });
	assert.equal(r.status, 200);
	assert.match(r.headers['content-type'], /^text\/event-stream/);
	// 3 tokens + finish chunk + [DONE]; no usage chunk was asked for.
	assert.equal(r.events.length, 5);
	assert.equal(r.events.at(-1).data, '[DONE]');
	// Each event arrives on its own, about `delay` after the previous one.
	// Per-gap bounds are loose (a busy test runner can read one event late);
	// the total is tight because the mock's timers never fire early.
	for (let i = 1; i < r.events.length; i++) {
		const gap = r.events[i].t - r.events[i - 1].t;
		assert.ok(gap >= delay / 2, `gap ${i} was ${gap.toFixed(1)} ms`);
		assert.ok(gap < delay + 400, `gap ${i} was ${gap.toFixed(1)} ms`);
	}
	const span = r.events.at(-1).t - r.events[0].t;
	assert.ok(span >= 4 * delay - 10, `span was ${span.toFixed(1)} ms`);
	const chunks = r.events.slice(0, -1).map((e) => JSON.parse(e.data));
	assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: 'tok0' });
	assert.equal(chunks.slice(0, 3).map((c) => c.choices[0].delta.content).join(''),
		'tok0 tok1 tok2');
	for (const c of chunks) {
		assert.equal(c.object, 'chat.completion.chunk');
		assert.equal(c.model, 'mock-model');
		assert.equal(c.id, chunks[0].id);
		assert.equal('usage' in c, false);
	}
	assert.equal(chunks[3].choices[0].finish_reason, 'stop');
	assert.deepEqual(chunks[3].choices[0].delta, {});
});

test('x-mock-first-delay-ms delays the first event after the headers', async () => {
	const r = await chat({ model: 'm', stream: true, messages: MSGS },
		{ 'x-mock-tokens': '1', 'x-mock-first-delay-ms': '150' });
	assert.equal(r.status, 200);
	assert.ok(r.events[0].t >= 135, `first event after ${r.events[0].t} ms`);
	assert.equal(r.events.at(-1).data, '[DONE]');
});

test('include_usage adds a usage chunk and usage:null on every earlier chunk', async () => {
	const r = await chat({ model: 'm', stream: true, messages: MSGS,
		stream_options: { include_usage: true } }, { 'x-mock-tokens': '2' });
	// 2 tokens + finish + usage + [DONE]
	assert.equal(r.events.length, 5);
	assert.equal(r.events.at(-1).data, '[DONE]');
	const chunks = r.events.slice(0, -1).map((e) => JSON.parse(e.data));
	for (const c of chunks.slice(0, -1)) {
		assert.equal(c.usage, null);
		assert.equal(c.choices.length, 1);
	}
	const u = chunks.at(-1);
	assert.deepEqual(u.choices, []);
	assert.deepEqual(u.usage, { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
});

test('mock-no-usage never sends the usage chunk, even when asked', async () => {
	const r = await chat({ model: 'mock-no-usage', stream: true, messages: MSGS,
		stream_options: { include_usage: true } }, { 'x-mock-tokens': '2' });
	assert.equal(r.events.length, 4);
	assert.equal(r.events.at(-1).data, '[DONE]');
	for (const e of r.events.slice(0, -1)) {
		const c = JSON.parse(e.data);
		assert.equal('usage' in c, false);
		assert.equal(c.choices.length, 1);
	}
});

test('mock-cut sends two events then drops the connection without [DONE]', async () => {
	const r = await chat({ model: 'mock-cut', stream: true, messages: MSGS },
		{ 'x-mock-tokens': '10' });
	assert.equal(r.status, 200);
	assert.equal(r.aborted, true);
	assert.equal(r.events.length, 2);
	assert.ok(!r.text.includes('[DONE]'));
	// Non-stream: a content-length for the whole body, half of it, then EOF.
	const ns = await chat({ model: 'mock-cut', messages: MSGS }).catch((e) => e);
	if (!(ns instanceof Error)) {
		assert.equal(ns.aborted, true);
		assert.equal(ns.json, undefined);
	}
});

test('a long zero-delay stream arrives whole', async () => {
	const r = await chat({ model: 'm', stream: true, messages: MSGS,
		stream_options: { include_usage: true } }, { 'x-mock-tokens': '3000' });
	assert.equal(r.events.length, 3000 + 3);
	assert.equal(r.events.at(-1).data, '[DONE]');
	assert.equal(JSON.parse(r.events.at(-2).data).usage.completion_tokens, 3000);
});

// ---------------------------------------------------------------- errors

test('error models answer with their status and an OpenAI error body', async () => {
	for (const [model, status, code] of [
		['mock-error-400', 400, 'invalid_value'],
		['mock-error-401', 401, 'invalid_api_key'],
		['mock-error-404', 404, 'model_not_found'],
		['mock-error-429', 429, 'rate_limit_exceeded'],
		['mock-error-500', 500, null],
	]) {
		for (const stream of [false, true]) {
			const r = await chat({ model, stream, messages: MSGS });
			assert.equal(r.status, status, model);
			assert.match(r.headers['content-type'], /^application\/json/);
			assert.equal(typeof r.json.error.message, 'string');
			assert.equal(typeof r.json.error.type, 'string');
			assert.equal(r.json.error.code, code);
		}
	}
	const rl = await chat({ model: 'mock-error-429', messages: MSGS });
	assert.equal(rl.headers['retry-after'], '2');
	assert.match(rl.json.error.message, /^Rate limit reached for mock-error-429/);

	const gw = await chat({ model: 'mock-error-502', messages: MSGS });
	assert.equal(gw.status, 502);
	assert.match(gw.headers['content-type'], /^text\/html/);
	assert.match(gw.text, /502 Bad Gateway/);

	const bj = await chat({ model: 'mock-bad-json', messages: MSGS });
	assert.equal(bj.status, 200);
	assert.equal(bj.json, undefined);

	// The behaviour key is the part after the last '/'.
	const pref = await chat({ model: 'openai/mock-error-401', messages: MSGS });
	assert.equal(pref.status, 401);
});

test('mock-hang never answers until the client closes', async () => {
	await assert.rejects(chat({ model: 'mock-hang', messages: MSGS }, undefined,
		{ timeoutMs: 300 }), /timeout/);
	// The mock is still serving.
	const r = await chat({ model: 'm', messages: MSGS });
	assert.equal(r.status, 200);
});

test('bad JSON, unknown path and wrong method give OpenAI-style errors', async () => {
	const bad = await chat('{"model":');
	assert.equal(bad.status, 400);
	assert.equal(bad.json.error.type, 'invalid_request_error');
	const unk = await request({ path: '/v1/nope' });
	assert.equal(unk.status, 404);
	assert.equal(typeof unk.json.error.message, 'string');
	const get = await request({ path: '/v1/chat/completions' });
	assert.equal(get.status, 405);
});

// ---------------------------------------------------------------- others

test('embeddings and models', async () => {
	for (const p of ['/v1/embeddings', '/embeddings']) {
		const e = await request({ method: 'POST', path: p,
			body: { model: 'mock-embedding', input: 'abcdefghi' } });
		assert.equal(e.status, 200);
		assert.equal(e.json.object, 'list');
		assert.equal(e.json.model, 'mock-embedding');
		assert.equal(e.json.data[0].embedding.length, 8);
		assert.equal(e.json.usage.prompt_tokens, 3);
	}
	for (const p of ['/v1/models', '/models']) {
		const m = await request({ path: p });
		assert.equal(m.status, 200);
		assert.ok(m.json.data.some((x) => x.id === 'mock-model'));
	}
});

test('/_mock/last records the last chat request', async () => {
	await chat({ model: 'm', messages: MSGS, extra: 1 },
		{ 'X-Custom-Thing': 'Yes', Authorization: 'Bearer sk-up' });
	const l = (await request({ path: '/_mock/last' })).json;
	assert.equal(l.method, 'POST');
	assert.equal(l.path, '/v1/chat/completions');
	assert.equal(l.headers['x-custom-thing'], 'Yes');
	assert.equal(l.headers.authorization, 'Bearer sk-up');
	assert.deepEqual(l.body, { model: 'm', messages: MSGS, extra: 1 });
});

test('/_mock/stats counts requests and TCP connections; keep-alive reuses one', async () => {
	const reset = await request({ method: 'POST', path: '/_mock/reset' });
	assert.equal(reset.status, 200);
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	try {
		for (let i = 0; i < 5; i++) {
			const r = await chat({ model: 'm', messages: MSGS }, undefined, { agent });
			assert.equal(r.status, 200);
		}
		// Asked over the same kept-alive connection: still one connection.
		const s1 = (await request({ path: '/_mock/stats', agent })).json;
		assert.deepEqual(s1, { requests: 5, connections: 1, api_connections: 1 });
	} finally {
		agent.destroy();
	}
	// Without an agent every request opens its own connection.
	for (let i = 0; i < 3; i++)
		await chat({ model: 'm', messages: MSGS });
	const s2 = (await request({ path: '/_mock/stats' })).json;
	assert.equal(s2.requests, 8);
	assert.equal(s2.connections, 5);	// 1 + 3 + the stats query's own
	assert.equal(s2.api_connections, 4);
});

test('SIGTERM exits 0 promptly even with a request hanging', async () => {
	const hanging = chat({ model: 'mock-hang', messages: MSGS }).catch(() => null);
	await new Promise((r) => setTimeout(r, 100));
	const t0 = Date.now();
	const exited = new Promise((resolve) => mock.child.on('exit',
		(code, sig) => resolve({ code, sig })));
	mock.child.kill('SIGTERM');
	const { code, sig } = await exited;
	assert.equal(sig, null);
	assert.equal(code, 0);
	assert.ok(Date.now() - t0 < 1500, 'exit took too long');
	await hanging;
});
