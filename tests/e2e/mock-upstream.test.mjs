// Tests of the mock upstream alone (tests/fakes/mock-upstream.mjs): it is
// started as a child process on port 0 and spoken to over raw node:http, so
// connection reuse and event arrival times are under the test's control,
// and through the official openai and @anthropic-ai/sdk clients, which must
// accept every answer.
// Run: cd tests && node --test e2e/mock-upstream.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import OpenAI, { toFile } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { makeWav, wavInfo } from '../fakes/wav.mjs';
import { makePng, pngSize } from '../fakes/png.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MOCK = path.join(here, '..', 'fakes', 'mock-upstream.mjs');

// Start the mock; resolves to { child, port } once it printed {"port":N}.
// args: extra command-line arguments (--name, --status, ...).
function startMock(args = []) {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [MOCK, '--port', '0', ...args],
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

// Stop a mock started by a test: SIGTERM, then wait for the exit.
async function stopMock(m) {
	if (m.child.exitCode !== null || m.child.signalCode !== null)
		return;
	const gone = new Promise((r) => m.child.once('exit', r));
	m.child.kill('SIGTERM');
	const t = setTimeout(() => m.child.kill('SIGKILL'), 3000);
	await gone;
	clearTimeout(t);
}

// A multipart/form-data body: fields { name: value }, files
// { name: [filename, Buffer, contentType] }. Sets no header: pass
// multipartType as content-type (request() does so for a Buffer body made
// here, through the .contentType property).
const BOUNDARY = 'mockTestBoundary7MA4YWxkTrZu0gW';
function multipart(fields, files = {}) {
	const parts = [];
	for (const [k, v] of Object.entries(fields)) {
		parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; ` +
			`name="${k}"\r\n\r\n${v}\r\n`));
	}
	for (const [k, [name, data, type]] of Object.entries(files)) {
		parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; ` +
			`name="${k}"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`), data,
		Buffer.from('\r\n'));
	}
	parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
	const body = Buffer.concat(parts);
	body.contentType = `multipart/form-data; boundary=${BOUNDARY}`;
	return body;
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

// One HTTP exchange. opts: method, path, headers, body (object -> JSON; a
// string or Buffer is sent as it is), port (default: the shared mock's),
// agent (default: a fresh connection). Resolves to
// { status, headers, text, bytes, json, events, writes } where events lists
// { t, data, event } for each SSE event (text/event-stream answers only)
// with its arrival time in ms since the response headers arrived, bytes is
// the raw body and writes counts 'data' callbacks.
function request(opts) {
	return new Promise((resolve, reject) => {
		const body = opts.body === undefined ? undefined
			: typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body
				: JSON.stringify(opts.body);
		const headers = { ...(opts.headers || {}) };
		if (body !== undefined) {
			headers['content-type'] ??= body.contentType ?? 'application/json';
			headers['content-length'] = Buffer.byteLength(body);
		}
		const req = http.request({
			host: '127.0.0.1', port: opts.port ?? port, method: opts.method || 'GET',
			path: opts.path, headers, agent: opts.agent ?? false,
		}, (res) => {
			const t0 = performance.now();
			const sse = /^text\/event-stream/.test(res.headers['content-type'] ?? '');
			const bufs = [];
			let pending = '';
			const events = [];
			res.on('data', (d) => {
				const t = performance.now() - t0;
				bufs.push(d);
				if (!sse)
					return;
				pending += d.toString('utf8');
				let i;
				while ((i = pending.indexOf('\n\n')) >= 0) {
					const ev = pending.slice(0, i);
					pending = pending.slice(i + 2);
					const m = /^(?:event: ([^\n]*)\n)?data: (.*)$/s.exec(ev);
					assert.ok(m, `bad SSE event ${ev}`);
					events.push({ t, data: m[2], event: m[1] });
				}
			});
			const finish = (aborted) => {
				const bytes = Buffer.concat(bufs);
				const text = bytes.toString('utf8');
				let json;
				try {
					json = JSON.parse(text);
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode, headers: res.headers, text, bytes,
					json, events, aborted, writes: bufs.length });
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
	// Headers of other endpoints are not chat's concern.
	const cache = await chat({ model: 'm', messages: [] }, { 'x-mock-cache-read': 'x' });
	assert.equal(cache.status, 200);
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

// ---------------------------------------------------------------- OpenAI SDK

// The official client against the shared mock. The SDK retries nothing, so
// an error answer surfaces at once.
function sdk(extra = {}) {
	return new OpenAI({ apiKey: 'sk-mock', baseURL: `http://127.0.0.1:${port}/v1`,
		maxRetries: 0, ...extra });
}

test('completions: text_completion objects, stream and not, through the SDK', async () => {
	const client = sdk();
	const c = await client.completions.create({ model: 'gpt-3.5-turbo-instruct',
		prompt: 'hello world!' }, { headers: { 'x-mock-tokens': '3' } });
	assert.match(c.id, /^cmpl-/);
	assert.equal(c.object, 'text_completion');
	assert.equal(c.model, 'gpt-3.5-turbo-instruct');
	assert.equal(c.choices.length, 1);
	assert.equal(c.choices[0].text, 'tok0 tok1 tok2');
	assert.equal(c.choices[0].finish_reason, 'stop');
	assert.deepEqual(c.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });

	// One choice per prompt; max_tokens cuts the reply with finish "length".
	const two = await client.completions.create({ model: 'm', prompt: ['abcd', 'abcdefgh'],
		max_tokens: 2 });
	assert.deepEqual(two.choices.map((x) => [x.index, x.text, x.finish_reason]),
		[[0, 'tok0 tok1', 'length'], [1, 'tok0 tok1', 'length']]);
	assert.deepEqual(two.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });

	const stream = await client.completions.create({ model: 'm', prompt: 'abcd',
		stream: true, stream_options: { include_usage: true } },
	{ headers: { 'x-mock-tokens': '4' } });
	const chunks = [];
	for await (const ch of stream)
		chunks.push(ch);
	assert.equal(chunks.length, 4 + 1 + 1);
	for (const ch of chunks)
		assert.equal(ch.object, 'text_completion');
	assert.equal(chunks.slice(0, -1).map((ch) => ch.choices[0].text).join(''),
		'tok0 tok1 tok2 tok3');
	assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
	assert.equal(chunks.at(-2).usage, null);
	assert.deepEqual(chunks.at(-1).choices, []);
	assert.deepEqual(chunks.at(-1).usage, { prompt_tokens: 1, completion_tokens: 4,
		total_tokens: 5 });

	// On the wire: data: lines, then [DONE]; no usage key without include_usage.
	for (const p of ['/v1/completions', '/completions']) {
		const raw = await request({ method: 'POST', path: p,
			body: { model: 'm', prompt: 'x', stream: true },
			headers: { 'x-mock-tokens': '2' } });
		assert.equal(raw.events.length, 2 + 1 + 1);
		assert.equal(raw.events.at(-1).data, '[DONE]');
		assert.equal('usage' in JSON.parse(raw.events[0].data), false);
	}
	const missing = await request({ method: 'POST', path: '/v1/completions',
		body: { model: 'm' } });
	assert.equal(missing.status, 400);
	const err = await request({ method: 'POST', path: '/v1/completions',
		body: { model: 'mock-error-429', prompt: 'x' } });
	assert.equal(err.status, 429);
});

test('moderations: one result per input, OpenAI categories, no usage', async () => {
	const client = sdk();
	const m = await client.moderations.create({ model: 'omni-moderation-latest',
		input: ['a harmless sentence', 'please mock-flag this'] });
	assert.match(m.id, /^modr-/);
	assert.equal(m.model, 'omni-moderation-latest');
	assert.equal(m.results.length, 2);
	assert.equal(m.results[0].flagged, false);
	assert.equal(m.results[1].flagged, true);
	assert.equal(m.results[1].categories.violence, true);
	assert.equal(m.results[1].category_scores.violence, 0.95);
	for (const k of ['harassment', 'hate/threatening', 'self-harm/intent', 'sexual/minors',
		'illicit/violent', 'violence/graphic']) {
		assert.equal(m.results[0].categories[k], false, k);
		assert.equal(typeof m.results[0].category_scores[k], 'number', k);
	}
	assert.equal('usage' in m, false);
	const one = await client.moderations.create({ input: 'x' });
	assert.equal(one.results.length, 1);
	assert.equal(one.model, 'omni-moderation-latest');
	// Multi-modal parts are one input.
	const mm = await client.moderations.create({ model: 'omni-moderation-latest', input: [
		{ type: 'text', text: 'hi' },
		{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] });
	assert.equal(mm.results.length, 1);
	assert.deepEqual(mm.results[0].category_applied_input_types.violence, ['text', 'image']);
	const raw = await request({ method: 'POST', path: '/moderations', body: { input: 'x' } });
	assert.equal(raw.status, 200);
});

test('responses: a response object through the SDK, input as a string or items', async () => {
	const client = sdk();
	const r = await client.responses.create({ model: 'gpt-4.1', input: 'hello world!',
		instructions: 'abcd' }, { headers: { 'x-mock-tokens': '3' } });
	assert.match(r.id, /^resp_/);
	assert.equal(r.object, 'response');
	assert.equal(r.status, 'completed');
	assert.equal(r.model, 'gpt-4.1');
	assert.equal(r.instructions, 'abcd');
	assert.equal(r.output.length, 1);
	const item = r.output[0];
	assert.equal(item.type, 'message');
	assert.match(item.id, /^msg_/);
	assert.equal(item.status, 'completed');
	assert.equal(item.role, 'assistant');
	assert.deepEqual(item.content[0].annotations, []);
	assert.equal(item.content[0].type, 'output_text');
	assert.equal(item.content[0].text, 'tok0 tok1 tok2');
	assert.equal(r.output_text, 'tok0 tok1 tok2');	// the SDK's own convenience field
	// 12 + 4 chars -> 4 input tokens
	assert.deepEqual(r.usage, { input_tokens: 4, input_tokens_details: { cached_tokens: 0 },
		output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 });

	const items = await client.responses.create({ model: 'm', input: [
		{ role: 'system', content: 'abcd' },
		{ role: 'user', content: [{ type: 'input_text', text: 'abcdefgh' }] },
	], max_output_tokens: 2 }, { headers: { 'x-mock-cache-read': '2' } });
	assert.equal(items.usage.input_tokens, 3);
	assert.equal(items.usage.input_tokens_details.cached_tokens, 2);
	assert.equal(items.status, 'incomplete');
	assert.deepEqual(items.incomplete_details, { reason: 'max_output_tokens' });
	assert.equal(items.output_text, 'tok0 tok1');

	const badCache = await request({ method: 'POST', path: '/responses',
		body: { model: 'm', input: 'x' }, headers: { 'x-mock-cache-read': '1.5' } });
	assert.equal(badCache.status, 400);
	const nu = await request({ method: 'POST', path: '/responses',
		body: { model: 'mock-no-usage', input: 'x' } });
	assert.equal(nu.status, 200);
	assert.equal('usage' in nu.json, false);
	const bad = await request({ method: 'POST', path: '/v1/responses', body: { model: 'm' } });
	assert.equal(bad.status, 400);
	assert.equal(bad.json.error.param, 'input');
});

test('responses: the SSE event sequence, and the SDK stream helper accepts it', async () => {
	const client = sdk();
	const stream = client.responses.stream({ model: 'gpt-4.1', input: 'abcdefgh' },
		{ headers: { 'x-mock-tokens': '3' } });
	const types = [];
	let text = '';
	stream.on('event', (e) => types.push(e.type));
	stream.on('response.output_text.delta', (e) => { text += e.delta; });
	const final = await stream.finalResponse();
	assert.deepEqual(types, ['response.created', 'response.in_progress',
		'response.output_item.added', 'response.content_part.added',
		'response.output_text.delta', 'response.output_text.delta',
		'response.output_text.delta', 'response.output_text.done',
		'response.content_part.done', 'response.output_item.done', 'response.completed']);
	assert.equal(text, 'tok0 tok1 tok2');
	assert.equal(final.status, 'completed');
	assert.equal(final.output[0].content[0].text, 'tok0 tok1 tok2');
	assert.deepEqual(final.usage, { input_tokens: 2, input_tokens_details: { cached_tokens: 0 },
		output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 });

	// create({stream:true}) yields the raw events, each with its sequence number.
	const raw = await client.responses.create({ model: 'm', input: 'x', stream: true },
		{ headers: { 'x-mock-tokens': '1' } });
	const evs = [];
	for await (const e of raw)
		evs.push(e);
	assert.deepEqual(evs.map((e) => e.sequence_number), evs.map((_, i) => i));
	assert.equal(evs[0].response.status, 'in_progress');
	assert.equal(evs[0].response.usage, null);
	assert.equal(evs.at(-1).response.usage.output_tokens, 1);

	// On the wire: an event: line before each data: line, and no [DONE].
	const wire = await new Promise((resolve, reject) => {
		const body = JSON.stringify({ model: 'm', input: 'x', stream: true });
		const req = http.request({ host: '127.0.0.1', port, method: 'POST',
			path: '/responses', headers: { 'content-type': 'application/json',
				'x-mock-tokens': '1' } }, (res) => {
			let t = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { t += d; });
			res.on('end', () => resolve({ res, t }));
		});
		req.on('error', reject);
		req.end(body);
	});
	assert.match(wire.res.headers['content-type'], /^text\/event-stream/);
	const blocks = wire.t.split('\n\n').filter((x) => x !== '');
	assert.equal(blocks.length, 9);
	for (const b of blocks) {
		const [ev, data] = b.split('\n');
		assert.equal(ev.slice(7), JSON.parse(data.slice(6)).type);
	}
	assert.ok(!wire.t.includes('[DONE]'));
});

test('models.retrieve: the model object, and 404 in OpenAI\'s shape', async () => {
	const client = sdk();
	const m = await client.models.retrieve('mock-model');
	assert.deepEqual({ ...m }, { id: 'mock-model', object: 'model', created: 1700000000,
		owned_by: 'mock' });
	await assert.rejects(client.models.retrieve('nope'), (e) => {
		assert.equal(e.status, 404);
		assert.equal(e.code, 'model_not_found');
		assert.equal(e.param, 'model');
		return true;
	});
	const raw = await request({ path: '/models/mock-embedding' });
	assert.equal(raw.json.id, 'mock-embedding');
});

// ---------------------------------------------------------------- media

test('images: generate, edit (a PNG via toFile) and variations through the SDK', async () => {
	const client = sdk();
	// dall-e-2 (the default model): data only, no usage.
	const g = await client.images.generate({ prompt: 'a cat', n: 2 });
	assert.equal(typeof g.created, 'number');
	assert.equal(g.data.length, 2);
	assert.deepEqual(pngSize(Buffer.from(g.data[0].b64_json, 'base64')), { width: 1, height: 1 });
	assert.equal('usage' in g, false);

	// gpt-image-1: usage from the prompt and OpenAI's per-image output table.
	const gi = await client.images.generate({ model: 'gpt-image-1', prompt: 'abcdefgh',
		quality: 'low', size: '1024x1536' });
	assert.equal(gi.data.length, 1);
	assert.equal(gi.quality, 'low');
	assert.equal(gi.size, '1024x1536');
	assert.equal(gi.output_format, 'png');
	assert.deepEqual(gi.usage, { input_tokens: 2,
		input_tokens_details: { image_tokens: 0, text_tokens: 2 },
		output_tokens: 408, total_tokens: 410 });
	// x-mock-tokens sets the output tokens per image.
	const gx = await client.images.generate({ model: 'gpt-image-1', prompt: 'x', n: 3 },
		{ headers: { 'x-mock-tokens': '7' } });
	assert.equal(gx.usage.output_tokens, 21);

	const png = makePng(4, 4, [0, 128, 255]);
	const e = await client.images.edit({ model: 'gpt-image-1', prompt: 'make it red',
		image: await toFile(png, 'in.png', { type: 'image/png' }), n: 2 });
	assert.equal(e.data.length, 2);
	assert.deepEqual(e.usage.input_tokens_details, { image_tokens: 255, text_tokens: 3 });
	assert.equal(e.usage.output_tokens, 2 * 1056);
	// What the mock received: the form fields and the file, byte for byte.
	const seen = (await request({ path: '/_mock/last?path=/v1/images/edits' })).json;
	assert.match(seen.content_type, /^multipart\/form-data; boundary=/);
	assert.equal(seen.body, null);
	assert.deepEqual(seen.form.fields, { model: 'gpt-image-1', prompt: 'make it red', n: '2' });
	assert.equal(seen.form.files.length, 1);
	assert.equal(seen.form.files[0].name, 'image');
	assert.equal(seen.form.files[0].filename, 'in.png');
	assert.equal(seen.form.files[0].content_type, 'image/png');
	assert.equal(seen.form.files[0].bytes, png.length);
	assert.equal(seen.form.files[0].sha256, createHash('sha256').update(png).digest('hex'));

	// Several images arrive as image[]; each one counts.
	const two = await client.images.edit({ model: 'gpt-image-1', prompt: 'x',
		image: [await toFile(png, 'a.png'), await toFile(png, 'b.png')] });
	assert.equal(two.usage.input_tokens_details.image_tokens, 510);

	const v = await client.images.createVariation({ image: await toFile(png, 'v.png'),
		n: 1, response_format: 'url' });
	assert.equal(v.data.length, 1);
	const img = await fetch(v.data[0].url);
	assert.equal(img.headers.get('content-type'), 'image/png');
	assert.deepEqual(pngSize(Buffer.from(await img.arrayBuffer())), { width: 1, height: 1 });

	// JSON edits (gpt-image models) reference their images.
	const je = await request({ method: 'POST', path: '/v1/images/edits', body: {
		model: 'gpt-image-1', prompt: 'x', images: [{ image_url: 'https://example.com/a.png' }] } });
	assert.equal(je.status, 200);
	assert.equal(je.json.usage.input_tokens_details.image_tokens, 255);

	const noImage = await request({ method: 'POST', path: '/images/edits',
		body: multipart({ prompt: 'x' }) });
	assert.equal(noImage.status, 400);
	assert.equal(noImage.json.error.param, 'image');
	const notForm = await request({ method: 'POST', path: '/images/variations', body: {} });
	assert.equal(notForm.status, 400);
});

test('audio: transcriptions and translations of a real WAV through the SDK', async () => {
	const client = sdk();
	const wav = makeWav({ seconds: 2.5, sampleRate: 8000 });
	const file = () => toFile(wav, 'speech.wav', { type: 'audio/wav' });

	// whisper-1: usage by duration, rounded up from the WAV header.
	const w = await client.audio.transcriptions.create({ model: 'whisper-1', file: await file() });
	assert.equal(w.text, `mock transcript of ${wav.length} bytes`);
	assert.deepEqual(w.usage, { type: 'duration', seconds: 3 });

	// gpt-4o models: token usage (10 audio tokens a second, the prompt as text).
	const g = await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe',
		file: await file(), prompt: 'abcdefgh' });
	assert.equal(g.text, `mock transcript of ${wav.length} bytes`);
	assert.deepEqual(g.usage, { type: 'tokens', input_tokens: 27,
		input_token_details: { text_tokens: 2, audio_tokens: 25 },
		output_tokens: 5, total_tokens: 32 });

	const t = await client.audio.transcriptions.create({ model: 'whisper-1', file: await file(),
		response_format: 'text' }, { headers: { 'x-mock-tokens': '3' } });
	assert.equal(t, 'tok0 tok1 tok2\n');

	const vj = await client.audio.transcriptions.create({ model: 'whisper-1', file: await file(),
		response_format: 'verbose_json', language: 'de',
		timestamp_granularities: ['word', 'segment'] });
	assert.equal(vj.task, 'transcribe');
	assert.equal(vj.language, 'german');
	assert.equal(vj.duration, 2.5);
	assert.equal(vj.segments.length, 1);
	assert.equal(vj.segments[0].end, 2.5);
	assert.deepEqual(vj.words.map((x) => x.word), vj.text.split(' '));
	assert.deepEqual(vj.usage, { type: 'duration', seconds: 3 });

	const srt = await client.audio.transcriptions.create({ model: 'whisper-1',
		file: await file(), response_format: 'srt' });
	assert.match(srt, /^1\n00:00:00,000 --> 00:00:02,500\nmock transcript/);

	// gpt-4o models take json and text only, as OpenAI's do.
	await assert.rejects(client.audio.transcriptions.create({ model: 'gpt-4o-mini-transcribe',
		file: await file(), response_format: 'verbose_json' }), (e) => e.status === 400);

	const tr = await client.audio.translations.create({ model: 'whisper-1', file: await file() });
	assert.equal(tr.text, `mock translation of ${wav.length} bytes`);
	assert.deepEqual(tr.usage, { type: 'duration', seconds: 3 });

	// A file that is not a WAV counts as one second.
	const other = await client.audio.transcriptions.create({ model: 'whisper-1',
		file: await toFile(Buffer.from('ID3 not really an mp3'), 'a.mp3') });
	assert.deepEqual(other.usage, { type: 'duration', seconds: 1 });

	// The shipped 1-second 8 kHz tone.
	const shipped = fs.readFileSync(path.join(here, '..', 'data', 'tone-8k-1s.wav'));
	assert.deepEqual(wavInfo(shipped), { sampleRate: 8000, channels: 1, bitsPerSample: 16,
		dataBytes: 16000, seconds: 1 });
	const sh = await client.audio.transcriptions.create({ model: 'whisper-1',
		file: await toFile(shipped, 'tone.wav') });
	assert.deepEqual(sh.usage, { type: 'duration', seconds: 1 });
});

test('audio: streamed transcription events with usage on the done event', async () => {
	const client = sdk();
	const wav = makeWav({ seconds: 1 });
	const stream = await client.audio.transcriptions.create({ model: 'gpt-4o-mini-transcribe',
		file: await toFile(wav, 'a.wav'), stream: true }, { headers: { 'x-mock-tokens': '3' } });
	const evs = [];
	for await (const e of stream)
		evs.push(e);
	assert.deepEqual(evs.map((e) => e.type), ['transcript.text.delta', 'transcript.text.delta',
		'transcript.text.delta', 'transcript.text.done']);
	assert.equal(evs.slice(0, 3).map((e) => e.delta).join(''), 'tok0 tok1 tok2');
	assert.equal(evs[3].text, 'tok0 tok1 tok2');
	assert.deepEqual(evs[3].usage, { type: 'tokens', input_tokens: 10,
		input_token_details: { text_tokens: 0, audio_tokens: 10 }, output_tokens: 3,
		total_tokens: 13 });
	// whisper-1 ignores stream, as OpenAI's does.
	const w = await request({ method: 'POST', path: '/audio/transcriptions',
		body: multipart({ model: 'whisper-1', stream: 'true' },
			{ file: ['a.wav', wav, 'audio/wav'] }) });
	assert.match(w.headers['content-type'], /^application\/json/);
	assert.deepEqual(w.json.usage, { type: 'duration', seconds: 1 });
});

test('audio: speech is a binary body sent in several writes', async () => {
	const client = sdk();
	const input = 'hello there';	// 11 chars -> 0.55 s
	const mp3 = await client.audio.speech.create({ model: 'tts-1', input, voice: 'alloy' });
	assert.equal(mp3.headers.get('content-type'), 'audio/mpeg');
	const bytes = Buffer.from(await mp3.arrayBuffer());
	// 23 silent 24 kHz MPEG-2 layer III frames of 192 bytes
	assert.equal(bytes.length, 23 * 192);
	assert.deepEqual([...bytes.subarray(0, 4)], [0xff, 0xf3, 0x84, 0xc4]);

	const wav = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', input,
		voice: 'coral', response_format: 'wav' });
	assert.equal(wav.headers.get('content-type'), 'audio/wav');
	const info = wavInfo(Buffer.from(await wav.arrayBuffer()));
	assert.deepEqual(info, { sampleRate: 24000, channels: 1, bitsPerSample: 16,
		dataBytes: 26400, seconds: 0.55 });

	// On the wire: chunked, no content-length, at least 4 writes.
	const raw = await request({ method: 'POST', path: '/audio/speech',
		body: { model: 'tts-1', input, voice: 'alloy', response_format: 'pcm' },
		headers: { 'x-mock-delay-ms': '20' } });
	assert.equal(raw.status, 200);
	assert.equal(raw.headers['content-type'], 'audio/pcm');
	assert.equal(raw.headers['transfer-encoding'], 'chunked');
	assert.equal(raw.headers['content-length'], undefined);
	assert.equal(raw.bytes.length, 26400);
	assert.ok(raw.writes >= 4, `${raw.writes} writes`);
	const bad = await request({ method: 'POST', path: '/v1/audio/speech',
		body: { model: 'tts-1', input }, headers: {} });
	assert.equal(bad.status, 400);
	assert.equal(bad.json.error.param, 'voice');
});

// ---------------------------------------------------------------- Anthropic

function anthropic(extra = {}) {
	return new Anthropic({ apiKey: 'sk-ant-mock', baseURL: `http://127.0.0.1:${port}`,
		maxRetries: 0, ...extra });
}

const AMSGS = [{ role: 'user', content: 'hello world!' }];	// 12 chars -> 3 tokens

test('anthropic: messages.create, stream and not, and countTokens through the SDK', async () => {
	const client = anthropic();
	const m = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100,
		system: 'abcd', messages: AMSGS }, { headers: { 'x-mock-tokens': '3' } });
	assert.match(m.id, /^msg_/);
	assert.equal(m.type, 'message');
	assert.equal(m.role, 'assistant');
	assert.equal(m.model, 'claude-sonnet-4-5');
	assert.deepEqual(m.content, [{ type: 'text', text: 'tok0 tok1 tok2' }]);
	assert.equal(m.stop_reason, 'end_turn');
	assert.equal(m.stop_sequence, null);
	assert.equal(m.usage.input_tokens, 4);
	assert.equal(m.usage.output_tokens, 3);
	assert.equal(m.usage.cache_creation_input_tokens, 0);
	assert.equal(m.usage.cache_read_input_tokens, 0);

	// Cache headers, and max_tokens cutting the reply.
	const cached = await client.messages.create({ model: 'c', max_tokens: 2, messages: [
		{ role: 'user', content: [{ type: 'text', text: 'abcdefgh' }] }] },
	{ headers: { 'x-mock-cache-read': '100', 'x-mock-cache-write': '20' } });
	assert.equal(cached.stop_reason, 'max_tokens');
	assert.equal(cached.content[0].text, 'tok0 tok1');
	assert.deepEqual([cached.usage.input_tokens, cached.usage.cache_read_input_tokens,
		cached.usage.cache_creation_input_tokens, cached.usage.output_tokens], [2, 100, 20, 2]);

	// The stream helper accumulates the events into the same message.
	const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100,
		messages: AMSGS }, { headers: { 'x-mock-tokens': '4', 'x-mock-cache-read': '7' } });
	let text = '';
	stream.on('text', (d) => { text += d; });
	const final = await stream.finalMessage();
	assert.equal(text, 'tok0 tok1 tok2 tok3');
	assert.deepEqual(final.content, [{ type: 'text', text: 'tok0 tok1 tok2 tok3' }]);
	assert.equal(final.stop_reason, 'end_turn');
	assert.equal(final.usage.input_tokens, 3);
	assert.equal(final.usage.output_tokens, 4);
	assert.equal(final.usage.cache_read_input_tokens, 7);

	// The raw events, in Anthropic's order.
	const raw = await client.messages.create({ model: 'c', max_tokens: 10, messages: AMSGS,
		stream: true }, { headers: { 'x-mock-tokens': '2' } });
	const evs = [];
	for await (const e of raw)
		evs.push(e);
	assert.deepEqual(evs.map((e) => e.type), ['message_start', 'content_block_start',
		'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta',
		'message_stop']);	// the SDK drops ping
	assert.equal(evs[0].message.usage.input_tokens, 3);
	assert.equal(evs[0].message.usage.output_tokens, 1);
	assert.equal(evs[5].usage.output_tokens, 2);
	assert.equal(evs[5].delta.stop_reason, 'end_turn');

	// On the wire: event: lines, ping included, the request-id header.
	const wire = await request({ method: 'POST', path: '/v1/messages',
		headers: { 'anthropic-version': '2023-06-01', 'x-mock-tokens': '1' },
		body: { model: 'c', max_tokens: 10, messages: AMSGS, stream: true } });
	assert.deepEqual(wire.events.map((e) => e.event), ['message_start', 'content_block_start',
		'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
	for (const e of wire.events)
		assert.equal(JSON.parse(e.data).type, e.event);
	assert.match(wire.headers['request-id'], /^req_/);

	const count = await client.messages.countTokens({ model: 'claude-sonnet-4-5',
		system: [{ type: 'text', text: 'abcd' }], messages: AMSGS });
	assert.deepEqual(count, { input_tokens: 4 });
	const noV1 = await request({ method: 'POST', path: '/messages/count_tokens',
		headers: { 'anthropic-version': '2023-06-01' }, body: { model: 'c', messages: AMSGS } });
	assert.deepEqual(noV1.json, { input_tokens: 3 });
});

test('anthropic: errors have Anthropic\'s shape', async () => {
	const client = anthropic();
	await assert.rejects(client.messages.create({ model: 'c', messages: AMSGS }), (e) => {
		assert.equal(e.status, 400);
		assert.equal(e.type, 'invalid_request_error');
		assert.equal(e.error.type, 'error');
		assert.match(e.error.error.message, /max_tokens/);
		assert.match(e.requestID, /^req_/);
		return true;
	});
	for (const [model, status, type] of [['mock-error-429', 429, 'rate_limit_error'],
		['mock-error-500', 500, 'api_error'], ['mock-error-529', 529, 'overloaded_error'],
		['mock-error-401', 401, 'authentication_error'], ['mock-error-404', 404, 'not_found_error']]) {
		await assert.rejects(client.messages.create({ model, max_tokens: 5, messages: AMSGS }),
			(e) => e.status === status && e.type === type, model);
	}
	const noVersion = await request({ method: 'POST', path: '/v1/messages',
		body: { model: 'c', max_tokens: 5, messages: AMSGS } });
	assert.equal(noVersion.status, 400);
	assert.equal(noVersion.json.type, 'error');
	assert.equal(noVersion.json.error.type, 'invalid_request_error');
	assert.match(noVersion.json.error.message, /anthropic-version/);
	const rl = await request({ method: 'POST', path: '/v1/messages',
		headers: { 'anthropic-version': '2023-06-01' },
		body: { model: 'mock-error-429', max_tokens: 5, messages: AMSGS } });
	assert.equal(rl.headers['retry-after'], '2');
});

test('anthropic: --anthropic-auth requires the x-api-key', async () => {
	const m = await startMock(['--anthropic-auth', 'sk-ant-right']);
	try {
		const url = `http://127.0.0.1:${m.port}`;
		const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: url, maxRetries: 0 });
		await assert.rejects(wrong.messages.create({ model: 'c', max_tokens: 5,
			messages: AMSGS }), (e) => {
			assert.ok(e instanceof Anthropic.AuthenticationError);
			assert.equal(e.status, 401);
			assert.deepEqual(Object.keys(e.error), ['type', 'error', 'request_id']);
			assert.equal(e.error.type, 'error');
			assert.equal(e.error.error.type, 'authentication_error');
			assert.equal(e.error.error.message, 'invalid x-api-key');
			return true;
		});
		const none = await request({ port: m.port, method: 'POST', path: '/v1/messages',
			headers: { 'anthropic-version': '2023-06-01' },
			body: { model: 'c', max_tokens: 5, messages: AMSGS } });
		assert.equal(none.status, 401);
		assert.equal(none.json.error.message, 'x-api-key header is required');
		const right = new Anthropic({ apiKey: 'sk-ant-right', baseURL: url, maxRetries: 0 });
		const ok = await right.messages.create({ model: 'c', max_tokens: 5, messages: AMSGS });
		assert.equal(ok.type, 'message');
		// This SDK sends the key as "Authorization: Bearer"; x-api-key works as well.
		const seen = (await request({ port: m.port, path: '/_mock/last?path=/v1/messages' })).json;
		assert.equal(seen.headers.authorization, 'Bearer sk-ant-right');
		assert.equal(typeof seen.headers['anthropic-version'], 'string');
		const byHeader = new Anthropic({ apiKey: null, baseURL: url, maxRetries: 0,
			defaultHeaders: { 'x-api-key': 'sk-ant-right' } });
		const ok2 = await byHeader.messages.create({ model: 'c', max_tokens: 5, messages: AMSGS });
		assert.equal(ok2.type, 'message');
		const seen2 = (await request({ port: m.port, path: '/_mock/last?path=/v1/messages' })).json;
		assert.equal(seen2.headers['x-api-key'], 'sk-ant-right');
		assert.equal(seen2.headers.authorization, undefined);
		const count = await right.messages.countTokens({ model: 'c', messages: AMSGS });
		assert.equal(count.input_tokens, 3);
		// OpenAI endpoints are not guarded.
		const chatOk = await request({ port: m.port, method: 'POST', path: '/v1/chat/completions',
			body: { model: 'm', messages: MSGS } });
		assert.equal(chatOk.status, 200);
	} finally {
		await stopMock(m);
	}
});

// ---------------------------------------------------------------- provider flags

test('--name labels every answer with x-mock-provider', async () => {
	const m = await startMock(['--name', 'provider-b']);
	try {
		for (const opts of [
			{ method: 'POST', path: '/v1/chat/completions', body: { model: 'm', messages: MSGS } },
			{ method: 'POST', path: '/v1/chat/completions',
				body: { model: 'm', messages: MSGS, stream: true } },
			{ method: 'POST', path: '/v1/chat/completions', body: { model: 'mock-error-500',
				messages: MSGS } },
			{ path: '/v1/nope' },
			{ path: '/_mock/stats' },
		]) {
			const r = await request({ port: m.port, ...opts });
			assert.equal(r.headers['x-mock-provider'], 'provider-b', opts.path);
		}
		const client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${m.port}/v1`,
			maxRetries: 0 });
		const { response } = await client.chat.completions.create({ model: 'm',
			messages: MSGS }).withResponse();
		assert.equal(response.headers.get('x-mock-provider'), 'provider-b');
	} finally {
		await stopMock(m);
	}
	const plain = await request({ path: '/v1/models' });
	assert.equal(plain.headers['x-mock-provider'], undefined);
});

test('--status makes every POST fail like a provider that is down or out of credit', async () => {
	const cases = [
		[429, OpenAI.RateLimitError, 'tokens', 'rate_limit_exceeded', 'rate_limit_error'],
		[402, OpenAI.APIError, 'insufficient_quota', 402, 'billing_error'],
		[500, OpenAI.InternalServerError, 'server_error', null, 'api_error'],
		[502, OpenAI.InternalServerError, 'server_error', null, 'api_error'],
		[503, OpenAI.InternalServerError, 'server_error', null, 'api_error'],
	];
	for (const [status, cls, type, code, anthropicType] of cases) {
		const m = await startMock(['--status', String(status)]);
		try {
			const client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${m.port}/v1`,
				maxRetries: 0 });
			await assert.rejects(client.chat.completions.create({ model: 'gpt-4o',
				messages: MSGS }), (e) => {
				assert.ok(e instanceof cls, `${status}: ${e.constructor.name}`);
				assert.equal(e.status, status);
				assert.equal(e.type, type);
				assert.equal(e.code, code);
				return true;
			});
			const r = await request({ port: m.port, method: 'POST', path: '/embeddings',
				body: { model: 'x', input: 'y' } });
			assert.equal(r.status, status);
			if (status === 429) {
				assert.equal(r.headers['retry-after'], '2');
				assert.match(r.json.error.message, /^Rate limit reached for x /);
			}
			if (status === 402)
				assert.match(r.json.error.message, /^Insufficient credits/);
			// Multipart uploads and Anthropic's endpoint fail too, the latter in its shape.
			const up = await request({ port: m.port, method: 'POST',
				path: '/v1/audio/transcriptions', body: multipart({ model: 'whisper-1' },
					{ file: ['a.wav', makeWav(), 'audio/wav'] }) });
			assert.equal(up.status, status);
			const an = await request({ port: m.port, method: 'POST', path: '/v1/messages',
				headers: { 'anthropic-version': '2023-06-01' },
				body: { model: 'c', max_tokens: 5, messages: AMSGS } });
			assert.equal(an.status, status);
			assert.equal(an.json.type, 'error');
			assert.equal(an.json.error.type, anthropicType);
			// GETs still answer.
			const models = await request({ port: m.port, path: '/v1/models' });
			assert.equal(models.status, 200);
		} finally {
			await stopMock(m);
		}
	}
});

test('--reject-param answers 400 only when the body carries that parameter', async () => {
	const m = await startMock(['--reject-param', 'temperature', '--reject-param', 'timestamp_granularities']);
	try {
		const client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${m.port}/v1`,
			maxRetries: 0 });
		await assert.rejects(client.chat.completions.create({ model: 'o1', messages: MSGS,
			temperature: 0.2 }), (e) => {
			assert.ok(e instanceof OpenAI.BadRequestError);
			assert.equal(e.message, '400 Unsupported parameter: \'temperature\' is not ' +
				'supported with this model.');
			assert.equal(e.type, 'invalid_request_error');
			assert.equal(e.param, 'temperature');
			assert.equal(e.code, 'unsupported_parameter');
			return true;
		});
		const ok = await client.chat.completions.create({ model: 'o1', messages: MSGS });
		assert.equal(ok.object, 'chat.completion');
		// A nested key of that name is not a top-level parameter.
		const nested = await client.chat.completions.create({ model: 'o1', messages: MSGS,
			metadata: { temperature: 'x' } });
		assert.equal(nested.object, 'chat.completion');
		// Form fields count, arrays (name[]) included.
		await assert.rejects(client.audio.transcriptions.create({ model: 'whisper-1',
			file: await toFile(makeWav(), 'a.wav'), response_format: 'verbose_json',
			timestamp_granularities: ['word'] }), (e) => e.status === 400 &&
			e.param === 'timestamp_granularities');
		// Anthropic's endpoint answers in its own shape.
		const an = await request({ port: m.port, method: 'POST', path: '/v1/messages',
			headers: { 'anthropic-version': '2023-06-01' },
			body: { model: 'c', max_tokens: 5, messages: AMSGS, temperature: 1 } });
		assert.equal(an.status, 400);
		assert.deepEqual(an.json.error, { type: 'invalid_request_error',
			message: 'temperature: Extra inputs are not permitted' });
	} finally {
		await stopMock(m);
	}
});

// ---------------------------------------------------------------- introspection

test('/_mock/last?path= and /_mock/requests show each path\'s last request', async () => {
	await request({ method: 'POST', path: '/_mock/reset' });
	const body = Buffer.from('{"model":"m","input":"abc"}');
	await request({ method: 'POST', path: '/v1/embeddings?x=1', body,
		headers: { 'X-Trace': 'T1' } });
	await request({ method: 'POST', path: '/v1/audio/speech', body: 'not json',
		headers: { 'content-type': 'text/plain' } });
	const bin = Buffer.from([0xff, 0xfe, 0x00, 0x01]);
	await request({ method: 'POST', path: '/moderations', body: bin,
		headers: { 'content-type': 'application/octet-stream' } });

	// With or without /v1, the query of the asked path ignored.
	for (const q of ['/v1/embeddings', '/embeddings', encodeURIComponent('/v1/embeddings?y')]) {
		const e = (await request({ path: `/_mock/last?path=${q}` })).json;
		assert.equal(e.method, 'POST');
		assert.equal(e.path, '/v1/embeddings?x=1');
		assert.equal(e.route, '/embeddings');
		assert.equal(e.headers['x-trace'], 'T1');
		assert.equal(e.content_type, 'application/json');
		assert.equal(e.body_bytes, body.length);
		assert.equal(e.body_sha256, createHash('sha256').update(body).digest('hex'));
		assert.deepEqual(e.body, { model: 'm', input: 'abc' });
		assert.equal('raw' in e, false);
	}
	const t = (await request({ path: '/_mock/last?path=/audio/speech' })).json;
	assert.equal(t.body, null);
	assert.equal(t.raw, 'not json');
	const b = (await request({ path: '/_mock/last?path=/v1/moderations' })).json;
	assert.equal(b.body, null);
	assert.equal('raw' in b, false);
	assert.equal(b.body_bytes, 4);
	assert.equal(b.body_sha256, createHash('sha256').update(bin).digest('hex'));
	assert.equal((await request({ path: '/_mock/last?path=/v1/responses' })).json, null);

	const all = (await request({ path: '/_mock/requests' })).json;
	assert.deepEqual(Object.keys(all).sort(), ['/audio/speech', '/embeddings', '/moderations']);
	// Plain /_mock/last is still the last chat request only.
	assert.equal((await request({ path: '/_mock/last' })).json, null);
	await chat({ model: 'm', messages: MSGS });
	const last = (await request({ path: '/_mock/last' })).json;
	assert.equal(last.route, '/chat/completions');
	assert.equal(typeof last.body_sha256, 'string');
});

test('every new endpoint answers with and without the /v1 prefix', async () => {
	const wav = makeWav();
	const png = makePng();
	const ah = { 'anthropic-version': '2023-06-01' };
	const cases = [
		['/completions', { model: 'm', prompt: 'x' }],
		['/moderations', { input: 'x' }],
		['/responses', { model: 'm', input: 'x' }],
		['/images/generations', { prompt: 'x' }],
		['/images/edits', () => multipart({ prompt: 'x' }, { image: ['a.png', png, 'image/png'] })],
		['/images/variations', () => multipart({}, { image: ['a.png', png, 'image/png'] })],
		['/audio/transcriptions', () => multipart({ model: 'whisper-1' },
			{ file: ['a.wav', wav, 'audio/wav'] })],
		['/audio/translations', () => multipart({ model: 'whisper-1' },
			{ file: ['a.wav', wav, 'audio/wav'] })],
		['/audio/speech', { model: 'tts-1', input: 'x', voice: 'alloy' }],
		['/messages', { model: 'c', max_tokens: 5, messages: AMSGS }, ah],
		['/messages/count_tokens', { model: 'c', messages: AMSGS }, ah],
	];
	for (const [p, body, headers] of cases) {
		for (const prefix of ['/v1', '']) {
			const r = await request({ method: 'POST', path: prefix + p, headers,
				body: typeof body === 'function' ? body() : body });
			assert.equal(r.status, 200, prefix + p);
		}
	}
	for (const prefix of ['/v1', ''])
		assert.equal((await request({ path: `${prefix}/models/mock-model` })).status, 200);
});

test('behaviour models on the new endpoints', async () => {
	const wav = makeWav();
	// mock-error-429 everywhere, OpenAI's shape.
	for (const [p, body] of [
		['/v1/completions', { model: 'mock-error-429', prompt: 'x' }],
		['/v1/responses', { model: 'mock-error-429', input: 'x' }],
		['/v1/moderations', { model: 'mock-error-429', input: 'x' }],
		['/v1/images/generations', { model: 'mock-error-429', prompt: 'x' }],
		['/v1/audio/speech', { model: 'mock-error-429', input: 'x', voice: 'alloy' }],
		['/v1/audio/translations', multipart({ model: 'mock-error-429' },
			{ file: ['a.wav', wav, 'audio/wav'] })],
	]) {
		const r = await request({ method: 'POST', path: p, body });
		assert.equal(r.status, 429, p);
		assert.equal(r.headers['retry-after'], '2', p);
		assert.equal(r.json.error.code, 'rate_limit_exceeded', p);
	}
	// mock-cut: two events, then the connection drops.
	const headers = { 'anthropic-version': '2023-06-01', 'x-mock-tokens': '10' };
	for (const [p, body] of [
		['/v1/responses', { model: 'mock-cut', input: 'x', stream: true }],
		['/v1/completions', { model: 'mock-cut', prompt: 'x', stream: true }],
		['/v1/messages', { model: 'mock-cut', max_tokens: 50, messages: AMSGS, stream: true }],
		['/v1/audio/transcriptions', multipart({ model: 'gpt-4o/mock-cut', stream: 'true' },
			{ file: ['a.wav', wav, 'audio/wav'] })],
	]) {
		const r = await request({ method: 'POST', path: p, body, headers });
		assert.equal(r.status, 200, p);
		assert.equal(r.aborted, true, p);
		assert.equal(r.events.length, 2, p);
	}
	const speech = await request({ method: 'POST', path: '/v1/audio/speech',
		body: { model: 'mock-cut', input: 'hello there', voice: 'alloy' } });
	assert.equal(speech.aborted, true);
	assert.ok(speech.bytes.length < 23 * 192);
	// mock-hang: no answer.
	await assert.rejects(request({ method: 'POST', path: '/v1/messages', headers,
		body: { model: 'mock-hang', max_tokens: 5, messages: AMSGS }, timeoutMs: 200 }),
	/timeout/);
	// Delays apply to the new endpoints too.
	const t0 = performance.now();
	await request({ method: 'POST', path: '/v1/moderations', body: { input: 'x' },
		headers: { 'x-mock-first-delay-ms': '100', 'x-mock-delay-ms': '50' } });
	assert.ok(performance.now() - t0 >= 145);
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
