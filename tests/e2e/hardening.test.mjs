// Hardening end-to-end tests: what hostile testing found at the FastCGI door.
// The real routstr.fcgi under real lighttpd (lighttpd-example.conf), plus a
// second routstr.fcgi on a TCP socket that the test talks FastCGI to directly,
// since web servers strip CR/LF from header values themselves.
//
//   - a header value with a control character is refused with 400 before any
//     handler runs, and nothing reaches the upstream;
//   - control characters from the request land escaped in the log line;
//   - CORS headers on every answer (plain, error, streamed) and preflight;
//   - every header is kept up to MAX_HEADER_BYTES, not only the first 200;
//   - every answer carries Cache-Control: no-store.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
	UPSTREAM_API_KEY, assertEnvelope, fundedKey, getJson, postJson, prerequisites,
	rawRequest, startStack, streamChat,
} from './lib/harness.mjs';
import { fcgiBinary, freePort } from './lib/servers.mjs';

const APP_ORIGIN = 'https://app.example';
const OTHER_ORIGIN = 'https://elsewhere.example';
const EXPOSED = ['x-cashu', 'x-routstr-request-id', 'x-routstr-cost-msats', 'x-routstr-cost-usd',
	'x-routstr-input-cost-msats', 'x-routstr-output-cost-msats'];
const WWW_UID = 33;
const WWW_GID = 33;

const chatBody = (extra = {}) => ({
	model: 'mock-model',
	messages: [{ role: 'user', content: 'Say hello.' }],
	...extra,
});

// ------------------------------------------------------ a FastCGI client

// One FastCGI record: version 1, type, request id 1, content, padding to 8.
function fcgiRecord(type, content = Buffer.alloc(0)) {
	const pad = (8 - (content.length % 8)) % 8;
	const head = Buffer.alloc(8);
	head.writeUInt8(1, 0);
	head.writeUInt8(type, 1);
	head.writeUInt16BE(1, 2);
	head.writeUInt16BE(content.length, 4);
	head.writeUInt8(pad, 6);
	return Buffer.concat([head, content, Buffer.alloc(pad)]);
}

// A name-value pair's length: one byte below 128, else four with the top bit.
function fcgiLen(n) {
	if (n < 128)
		return Buffer.from([n]);
	const b = Buffer.alloc(4);
	b.writeUInt32BE((n | 0x80000000) >>> 0);
	return b;
}

// BEGIN_REQUEST (responder), PARAMS (params: [name, value] pairs, values may
// hold any byte), STDIN (body) on one connection; resolves { status,
// headers (lower-case names), body } from the STDOUT records.
function fcgiRequest(port, params, body = '') {
	const begin = Buffer.alloc(8);
	begin.writeUInt16BE(1, 0);	// FCGI_RESPONDER, flags 0: close after
	const pairs = params.map(([k, v]) => {
		const kb = Buffer.from(k, 'latin1');
		const vb = Buffer.from(v, 'latin1');
		return Buffer.concat([fcgiLen(kb.length), fcgiLen(vb.length), kb, vb]);
	});
	const stdin = Buffer.from(body);
	const out = [fcgiRecord(1, begin)];
	for (const p of pairs)
		out.push(fcgiRecord(4, p));
	out.push(fcgiRecord(4));
	if (stdin.length)
		out.push(fcgiRecord(5, stdin));
	out.push(fcgiRecord(5));
	return new Promise((resolve, reject) => {
		const sock = net.connect({ host: '127.0.0.1', port });
		const chunks = [];
		const timer = setTimeout(() => {
			sock.destroy();
			reject(new Error('FastCGI answer timed out'));
		}, 15000);
		sock.on('data', (d) => chunks.push(d));
		sock.on('error', (e) => { clearTimeout(timer); reject(e); });
		sock.on('close', () => {
			clearTimeout(timer);
			const raw = Buffer.concat(chunks);
			const stdout = [];
			for (let o = 0; o + 8 <= raw.length;) {
				const type = raw.readUInt8(o + 1);
				const len = raw.readUInt16BE(o + 4);
				const pad = raw.readUInt8(o + 6);
				if (type === 6)
					stdout.push(raw.subarray(o + 8, o + 8 + len));
				o += 8 + len + pad;
			}
			const text = Buffer.concat(stdout).toString('latin1');
			const end = text.indexOf('\r\n\r\n');
			const headers = {};
			for (const line of text.slice(0, end).split('\r\n')) {
				const i = line.indexOf(':');
				if (i > 0)
					headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
			}
			resolve({
				status: Number((headers.status || '').split(' ')[0]) || null,
				headers,
				body: end >= 0 ? text.slice(end + 4) : text,
			});
		});
		sock.on('connect', () => sock.write(Buffer.concat(out)));
	});
}

// routstr.fcgi as its own daemon on tcp:127.0.0.1:PORT, as www-data, sharing
// the lighttpd run's database, settings file and upstream.
async function startTcpDaemon(h) {
	const port = await freePort();
	const rundir = h.server.rundir;
	const env = {
		PATH: process.env.PATH,
		UPSTREAM_BASE_URL: h.mock.url,
		UPSTREAM_API_KEY,
		DATABASE_URL: h.server.dbUrl,
		WORKERS: '2',
		LOG_FILE: path.join(rundir, 'routstr-tcp.log'),
		LOG_LEVEL: 'info',
	};
	const proc = spawn(fcgiBinary(), ['-s', `tcp:127.0.0.1:${port}`, '-w', '2',
		'-c', path.join(rundir, 'routstr.conf')],
	{ env, cwd: rundir, uid: WWW_UID, gid: WWW_GID, stdio: 'ignore' });
	const end = Date.now() + 10000;
	for (;;) {
		if (proc.exitCode !== null)
			throw new Error(`routstr.fcgi -s tcp exited (${proc.exitCode})`);
		const up = await new Promise((resolve) => {
			const s = net.connect({ host: '127.0.0.1', port });
			s.on('connect', () => { s.destroy(); resolve(true); });
			s.on('error', () => resolve(false));
		});
		if (up)
			break;
		if (Date.now() > end)
			throw new Error('routstr.fcgi -s tcp did not listen');
		await new Promise((r) => setTimeout(r, 50));
	}
	return {
		port,
		log: () => {
			try {
				return fs.readFileSync(env.LOG_FILE, 'utf8');
			} catch {
				return '';
			}
		},
		stop: async () => {
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

// The params lighttpd would send for a request, plus extra [name, value]s.
function cgiParams(method, uri, extra = []) {
	return [
		['REQUEST_METHOD', method],
		['REQUEST_URI', uri],
		['SCRIPT_NAME', ''],
		['REMOTE_ADDR', '127.0.0.1'],
		['SERVER_PROTOCOL', 'HTTP/1.1'],
		...extra,
	];
}

function assertExposed(headers, what) {
	const got = (headers.get('access-control-expose-headers') || '').split(',')
		.map((s) => s.trim().toLowerCase());
	for (const name of EXPOSED)
		assert.ok(got.includes(name), `${what}: ${name} exposed (got ${got})`);
}

// A response header that must appear exactly once in a raw HTTP head.
function countHeader(head, name) {
	return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name}:`)).length;
}

const pre = prerequisites(['lighttpd']);
describe('hardening under lighttpd', { skip: pre.skip }, () => {
	let h;
	let d;
	let key;
	const auth = () => ({ authorization: `Bearer ${key}` });

	before(async () => {
		h = await startStack('lighttpd', { conf: { CORS_ORIGINS: `${APP_ORIGIN}, *` } });
		key = await fundedKey(h, 5000);
		d = await startTcpDaemon(h);
	});
	after(async () => {
		if (d)
			await d.stop();
		if (h)
			await h.stop();
	});

	// ---- 7: control characters at the door and in the log

	it('FastCGI direct: a clean chat with the same client reaches the upstream', async () => {
		await h.mock.reset();
		const body = JSON.stringify(chatBody());
		const r = await fcgiRequest(d.port, cgiParams('POST', '/v1/chat/completions', [
			['CONTENT_TYPE', 'application/json'],
			['CONTENT_LENGTH', String(body.length)],
			['HTTP_AUTHORIZATION', `Bearer ${key}`],
			['HTTP_OPENAI_BETA', 'clean'],
		]), body);
		assert.equal(r.status, 200, r.body.slice(0, 300));
		assert.equal((await h.mock.stats()).requests, 1);
		assert.equal((await h.mock.last()).headers['openai-beta'], 'clean');
	});

	it('FastCGI direct: CR/LF in a header value is 400 at the door; the upstream gets nothing', async () => {
		await h.mock.reset();
		const body = JSON.stringify(chatBody());
		const smuggled = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'smuggled' }] }));
		const inject = `x\r\nContent-Length: 0\r\n\r\nPOST /v1/chat/completions HTTP/1.1\r\n` +
			`Host: upstream\r\nContent-Type: application/json\r\n` +
			`Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
		const r = await fcgiRequest(d.port, cgiParams('POST', '/v1/chat/completions', [
			['CONTENT_TYPE', 'application/json'],
			['CONTENT_LENGTH', String(body.length)],
			['HTTP_AUTHORIZATION', `Bearer ${key}`],
			['HTTP_X_TRACE', inject],
		]), body);
		assert.equal(r.status, 400, r.body.slice(0, 300));
		const json = JSON.parse(r.body);
		assert.equal(json.error.type, 'invalid_request_error');
		assert.equal(json.error.code, 'invalid_header');
		assert.equal(json.request_id, r.headers['x-routstr-request-id']);
		// Let anything that did get out arrive before counting.
		await new Promise((res) => setTimeout(res, 300));
		assert.equal((await h.mock.stats()).requests, 0, 'nothing reached the upstream');
	});

	it('FastCGI direct: a lone CR, a lone LF and other C0 characters are refused; TAB is not', async () => {
		for (const v of ['a\rb', 'a\nb', 'a\x1b[31mb', 'a\x01b', 'a\x7fb']) {
			const r = await fcgiRequest(d.port, cgiParams('GET', '/v1/info', [['HTTP_USER_AGENT', v]]));
			assert.equal(r.status, 400, `${JSON.stringify(v)}: ${r.body.slice(0, 200)}`);
			assert.equal(JSON.parse(r.body).error.code, 'invalid_header');
		}
		const r = await fcgiRequest(d.port, cgiParams('GET', '/v1/info', [['HTTP_USER_AGENT', 'a\tb']]));
		assert.equal(r.status, 200, r.body.slice(0, 200));
	});

	// lighttpd refuses control characters in the URL itself (url-ctrls-reject),
	// so they are sent through the FastCGI door, raw in REQUEST_URI and
	// percent-encoded, as a server without that check would pass them.
	it('control characters in the path are escaped in the log line', async () => {
		const marker = `forged${Date.now()}`;
		const raw = await fcgiRequest(d.port, cgiParams('GET', `/v1/\r\n${marker}\x1b[31m\\`));
		assert.equal(raw.status, 404, raw.body.slice(0, 300));
		const enc = await fcgiRequest(d.port, cgiParams('GET', `/v1/%0a${marker}%7f`));
		assert.equal(enc.status, 404, enc.body.slice(0, 300));
		const lines = d.log().split('\n').filter((l) => l.includes(marker));
		assert.equal(lines.length, 2, `one line per request:\n${lines.join('\n')}`);
		for (const l of lines) {
			assert.match(l, /^\S+ info request id=\S+ method=GET path=/, l);
			assert.ok(!/[\x00-\x1f\x7f]/.test(l), `no control byte in ${JSON.stringify(l)}`);
		}
		assert.ok(lines[0].includes(`path=/v1/\\x0d\\x0a${marker}\\x1b[31m\\x5c status=404`), lines[0]);
		assert.ok(lines[1].includes(`path=/v1/\\x0a${marker}\\x7f status=404`), lines[1]);
	});

	// ---- 9: CORS

	it('CORS: a listed origin is echoed with Vary and credentials', async () => {
		const r = await getJson(`${h.baseUrl}/v1/info`, { origin: APP_ORIGIN });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN);
		assert.match(r.headers.get('vary') || '', /\bOrigin\b/i);
		assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
		assertExposed(r.headers, 'listed origin');
	});

	it('CORS: any other origin gets "*" and never credentials', async () => {
		const r = await getJson(`${h.baseUrl}/v1/info`, { origin: OTHER_ORIGIN, cookie: 'a=b' });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.headers.get('access-control-allow-origin'), '*');
		assert.equal(r.headers.get('access-control-allow-credentials'), null);
		assertExposed(r.headers, 'other origin');
	});

	it('CORS: on an error answer', async () => {
		const r = await postJson(`${h.baseUrl}/v1/chat/completions`, chatBody(),
			{ origin: APP_ORIGIN, authorization: 'Bearer sk-not-a-key-0123456789' });
		assertEnvelope(r, 401);
		assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN);
		assertExposed(r.headers, 'error');
		const nf = await getJson(`${h.baseUrl}/no/such/path`, { origin: OTHER_ORIGIN });
		assertEnvelope(nf, 404);
		assert.equal(nf.headers.get('access-control-allow-origin'), '*');
	});

	it('CORS: on a streamed chat answer', async () => {
		const r = await streamChat(`${h.baseUrl}/v1/chat/completions`, chatBody({ stream: true }),
			{ ...auth(), origin: APP_ORIGIN, 'x-mock-tokens': '3' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		assert.equal(r.events.at(-1).data, '[DONE]');
		assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN);
		assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
		assertExposed(r.headers, 'stream');
	});

	it('CORS: a preflight is answered with the allowed origin, methods and headers', async () => {
		const r = await fetch(`${h.baseUrl}/v1/chat/completions`, {
			method: 'OPTIONS',
			headers: {
				origin: APP_ORIGIN,
				'access-control-request-method': 'POST',
				'access-control-request-headers': 'authorization, content-type, x-cashu',
			},
			signal: AbortSignal.timeout(5000),
		});
		assert.equal(r.status, 200, await r.text());
		assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN);
		assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
		assert.match(r.headers.get('access-control-allow-methods') || '', /\bPOST\b/);
		assert.match(r.headers.get('access-control-allow-headers') || '', /authorization/);
		const o = await fetch(`${h.baseUrl}/v1/chat/completions`, {
			method: 'OPTIONS',
			headers: { origin: OTHER_ORIGIN, 'access-control-request-method': 'POST' },
			signal: AbortSignal.timeout(5000),
		});
		assert.equal(o.status, 200);
		assert.equal(o.headers.get('access-control-allow-origin'), '*');
		assert.equal(o.headers.get('access-control-allow-credentials'), null);
	});

	// ---- 10: all headers kept; no-store

	it('250 headers before Authorization: the key is still seen', async () => {
		let head = 'GET /v1/balance/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n';
		for (let i = 0; i < 250; i++)
			head += `X-Filler-${i}: ${i}\r\n`;
		head += `Authorization: Bearer ${key}\r\n\r\n`;
		const r = await rawRequest(h.port, head);
		assert.equal(r.status, 200, r.raw.slice(0, 400));
		assert.match(r.body, /"balance"/);
	});

	it('headers beyond MAX_HEADER_BYTES are still 431', async () => {
		let head = 'GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n';
		for (let i = 0; i < 400; i++)
			head += `X-Filler-${i}: ${'v'.repeat(100)}\r\n`;
		const r = await rawRequest(h.port, `${head}\r\n`);
		assert.equal(r.status, 431, r.raw.slice(0, 400));
	});

	it('every answer says Cache-Control: no-store, once', async () => {
		for (const [what, req] of [
			['/v1/info', 'GET /v1/info'],
			['an error', 'GET /no/such/path'],
			['/v1/balance/info', 'GET /v1/balance/info'],
		]) {
			const r = await rawRequest(h.port, `${req} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
				`Authorization: Bearer ${key}\r\nConnection: close\r\n\r\n`);
			assert.ok(r.status, `${what}: answered`);
			assert.match(r.head, /\r\nCache-Control: no-store\r\n/i, `${what}: ${r.head}`);
			assert.equal(countHeader(r.head, 'cache-control'), 1, `${what}: ${r.head}`);
		}
		const s = await streamChat(`${h.baseUrl}/v1/chat/completions`, chatBody({ stream: true }),
			{ ...auth(), 'x-mock-tokens': '2' });
		assert.equal(s.status, 200);
		assert.equal(s.headers.get('cache-control'), 'no-store', 'streamed answer');
		const c = await postJson(`${h.baseUrl}/v1/chat/completions`, chatBody(), auth());
		assert.equal(c.status, 200, c.text);
		assert.equal(c.headers.get('cache-control'), 'no-store', 'buffered chat answer');
	});
});
