#!/usr/bin/env node
// mock-upstream: a deterministic OpenAI-compatible upstream for tests and the
// benchmark. Node stdlib only. Listens on 127.0.0.1 by default; with --port 0
// (the default) it picks a free port. Once listening it prints exactly one
// line on stdout, {"port":N}, and nothing else. SIGTERM/SIGINT close every
// connection and exit 0.
//
// Usage: node tests/fakes/mock-upstream.mjs [--port N] [--host 127.0.0.1]
//
// The full interface (endpoints, headers, model names) is in
// tests/fakes/README.md under "## mock-upstream"; keep the two in step.
// This file holds the command line, the server, the routing and the
// introspection endpoints; the API handlers live in tests/fakes/mock/.

import http from 'node:http';
import { createHash } from 'node:crypto';

import {
	MAX_BODY_BYTES, parseUint, sendJson, sendError, RATE_LIMIT_MESSAGE, SERVER_ERROR_MESSAGE,
} from './mock/common.mjs';
import { parseMultipart, formView, boundaryOf } from './mock/multipart.mjs';
import {
	handleChat, handleEmbeddings, handleModels, handleModel, handleCompletions,
	handleModerations, handleResponses,
} from './mock/openai.mjs';
import {
	IMAGE_PNG, handleImageGenerations, handleImageEdits, handleImageVariations,
	handleTranscriptions, handleTranslations, handleSpeech,
} from './mock/media.mjs';
import {
	handleMessages, handleCountTokens, sendAnthropicError, sendAnthropicStatus,
} from './mock/anthropic.mjs';

// ---------------------------------------------------------------- arguments

const USAGE = 'usage: node mock-upstream.mjs [--port N] [--host ADDR] [--name LABEL]\n' +
	'         [--status CODE] [--reject-param NAME]... [--anthropic-auth KEY]\n';

function usage(msg) {
	process.stderr.write(`mock-upstream: ${msg}\n${USAGE}`);
	process.exit(2);
}

const OPTIONS = ['--port', '--host', '--name', '--status', '--reject-param', '--anthropic-auth'];

function parseArgs(argv) {
	const opt = {
		port: 0, host: '127.0.0.1',
		name: null,		// --name: the x-mock-provider header
		status: null,		// --status: every API POST answers this
		rejectParams: [],	// --reject-param (repeatable)
		anthropicAuth: null,	// --anthropic-auth: the x-api-key required
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		let name = a, val;
		const eq = a.indexOf('=');
		if (a.startsWith('--') && eq > 0) {
			name = a.slice(0, eq);
			val = a.slice(eq + 1);
		}
		if (!OPTIONS.includes(name))
			usage(`unknown argument ${a}`);
		if (val === undefined) {
			if (i + 1 >= argv.length)
				usage(`${name} needs a value`);
			val = argv[++i];
		}
		switch (name) {
		case '--port': {
			const p = parseUint(val, 65535);
			if (p === null)
				usage(`bad port ${val}`);
			opt.port = p;
			break;
		}
		case '--host':
			if (val === '')
				usage('empty host');
			opt.host = val;
			break;
		case '--name':
			// It goes into a header: visible ASCII and inner spaces only.
			if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(val))
				usage(`bad name ${JSON.stringify(val)}`);
			opt.name = val;
			break;
		case '--status': {
			const st = parseUint(val, 599);
			if (st === null || st < 400)
				usage(`bad status ${val} (400..599)`);
			opt.status = st;
			break;
		}
		case '--reject-param':
			if (val === '')
				usage('empty parameter name');
			opt.rejectParams.push(val);
			break;
		case '--anthropic-auth':
			if (val === '')
				usage('empty key');
			opt.anthropicAuth = val;
			break;
		}
	}
	return opt;
}

// ---------------------------------------------------------------- state

let opt;		// the command line
const stats = { requests: 0, connections: 0, api_connections: 0 };
let lastChat = null;	// the last POST /chat/completions, for GET /_mock/last
const lastByRoute = new Map();	// route -> the last API request on it
let statsGen = 1;	// bumped by reset; see api_connections

// ---------------------------------------------------------------- requests

// Route by path without query and without a leading /v1.
function routeOf(url) {
	let p = url;
	const q = p.indexOf('?');
	if (q >= 0)
		p = p.slice(0, q);
	if (p === '/v1' || p.startsWith('/v1/'))
		p = p.slice(3) || '/';
	return p;
}

// The context every handler gets. The body is kept as bytes; its text and
// its JSON are decoded at most once, on demand.
function makeContext(req, res, buf) {
	let text, parsed, form;
	const ctx = {
		req, res, buf,
		url: req.url,
		route: routeOf(req.url),
		contentType: String(req.headers['content-type'] ?? ''),
		text() {
			if (text === undefined)
				text = buf.toString('utf8');
			return text;
		},
		// A multipart/form-data body's accessors (see mock/multipart.mjs),
		// or null when the body is not well-formed multipart.
		form() {
			if (form === undefined) {
				const f = parseMultipart(buf, ctx.contentType);
				form = f === null ? null : formView(f);
			}
			return form;
		},
		// { ok: true, value } or { ok: false }
		json() {
			if (parsed === undefined) {
				try {
					parsed = { ok: true, value: JSON.parse(ctx.text()) };
				} catch {
					parsed = { ok: false };
				}
			}
			return parsed;
		},
	};
	return ctx;
}

// ---------------------------------------------------------------- introspection

// What /_mock/last shows of a request; the body is decoded when asked.
function recordOf(ctx) {
	return { method: ctx.req.method, path: ctx.url, headers: ctx.req.headers, ctx };
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function showRecord(r) {
	if (r === null || r === undefined)
		return null;
	const { ctx } = r;
	const o = {
		method: r.method, path: r.path, route: ctx.route, headers: r.headers,
		content_type: ctx.contentType === '' ? null : ctx.contentType,
		body_bytes: ctx.buf.length,
		body_sha256: sha256(ctx.buf),
	};
	if (boundaryOf(ctx.contentType) !== null) {
		// Multipart: the fields, and each file by name, size and hash.
		const f = ctx.form();
		o.body = null;
		o.form = f === null ? null : {
			fields: Object.fromEntries(f.parts.filter((p) => p.filename === null)
				.map((p) => [p.name, p.data.toString('utf8')])),
			files: f.parts.filter((p) => p.filename !== null).map((p) => ({
				name: p.name, filename: p.filename, content_type: p.contentType,
				bytes: p.data.length, sha256: sha256(p.data),
			})),
		};
		return o;
	}
	const j = ctx.json();
	o.body = j.ok ? j.value : null;
	if (!j.ok) {
		// The text that did not parse, when it is text at all.
		try {
			o.raw = utf8.decode(ctx.buf);
		} catch {
			// binary: body_bytes and body_sha256 describe it
		}
	}
	return o;
}

// ---------------------------------------------------------------- dispatch

function methodNotAllowed(res, method, path) {
	sendError(res, 405, `Method ${method} not allowed on ${path}.`,
		'invalid_request_error', 'method_not_allowed');
}

function handleIntrospection(ctx) {
	const { req, res, route } = ctx;
	if (route === '/_mock/stats' && req.method === 'GET') {
		sendJson(res, 200, { ...stats });
		return true;
	}
	if (route === '/_mock/last' && req.method === 'GET') {
		const q = new URL(req.url, 'http://mock').searchParams.get('path');
		sendJson(res, 200, showRecord(q === null ? lastChat : lastByRoute.get(routeOf(q))));
		return true;
	}
	if (route === '/_mock/image.png' && req.method === 'GET') {
		// The picture behind images/* answers with response_format "url".
		res.writeHead(200, { 'content-type': 'image/png', 'content-length': IMAGE_PNG.length });
		res.end(IMAGE_PNG);
		return true;
	}
	if (route === '/_mock/requests' && req.method === 'GET') {
		const all = {};
		for (const [k, r] of lastByRoute)
			all[k] = showRecord(r);
		sendJson(res, 200, all);
		return true;
	}
	if (route === '/_mock/reset' && req.method === 'POST') {
		stats.requests = 0;
		stats.connections = 0;
		stats.api_connections = 0;
		lastChat = null;
		lastByRoute.clear();
		statsGen++;
		sendJson(res, 200, { ok: true });
		return true;
	}
	return false;
}

// Routes: path (without /v1) -> [method, handler, api]; api is 'anthropic'
// for Anthropic's endpoints (their errors have Anthropic's shape).
const ROUTES = new Map([
	['/messages', ['POST', handleMessages, 'anthropic']],
	['/messages/count_tokens', ['POST', handleCountTokens, 'anthropic']],
	['/chat/completions', ['POST', handleChat]],
	['/embeddings', ['POST', handleEmbeddings]],
	['/models', ['GET', handleModels]],
	['/completions', ['POST', handleCompletions]],
	['/moderations', ['POST', handleModerations]],
	['/responses', ['POST', handleResponses]],
	['/images/generations', ['POST', handleImageGenerations]],
	['/images/edits', ['POST', handleImageEdits]],
	['/images/variations', ['POST', handleImageVariations]],
	['/audio/transcriptions', ['POST', handleTranscriptions]],
	['/audio/translations', ['POST', handleTranslations]],
	['/audio/speech', ['POST', handleSpeech]],
]);

// The route of a path: an exact entry of ROUTES, or GET /models/{id}.
function findRoute(route) {
	const r = ROUTES.get(route);
	if (r !== undefined)
		return r;
	if (route.startsWith('/models/') && route.length > 8) {
		let id;
		try {
			id = decodeURIComponent(route.slice(8));
		} catch {
			id = route.slice(8);
		}
		return ['GET', (ctx) => handleModel(ctx, id)];
	}
	return undefined;
}

// The model a request names (JSON or form field), for error messages.
function modelOf(ctx) {
	if (boundaryOf(ctx.contentType) !== null)
		return ctx.form()?.field('model') ?? 'unknown';
	const j = ctx.json();
	return j.ok && j.value && typeof j.value.model === 'string' ? j.value.model : 'unknown';
}

// --status: the provider's failure answer, in the route's error shape.
function answerStatus(ctx, r) {
	const { res } = ctx;
	const status = opt.status;
	if (r !== undefined && r[2] === 'anthropic')
		return sendAnthropicStatus(res, status);
	switch (status) {
	case 402:
		// OpenRouter's out-of-credit answer, with OpenAI's error type for it.
		return sendJson(res, 402, { error: {
			message: 'Insufficient credits. Add more using https://openrouter.ai/settings/credits',
			type: 'insufficient_quota', param: null, code: 402 } });
	case 429:
		return sendError(res, 429, RATE_LIMIT_MESSAGE(modelOf(ctx)), 'tokens',
			'rate_limit_exceeded', { 'retry-after': '2' });
	case 500:
		return sendError(res, 500, SERVER_ERROR_MESSAGE, 'server_error', null);
	case 502:
		return sendError(res, 502, 'Bad gateway.', 'server_error', null);
	case 503:
		return sendError(res, 503, 'The server is overloaded or not ready yet.',
			'server_error', null);
	case 401:
		return sendError(res, 401, 'Incorrect API key provided: sk-mock****.',
			'invalid_request_error', 'invalid_api_key');
	default:
		return sendError(res, status, `mock: this provider answers ${status} (--status).`,
			status < 500 ? 'invalid_request_error' : 'server_error', null);
	}
}

// --reject-param: the first rejected name the body carries (a top-level JSON
// key, or a form field NAME or NAME[]), or null.
function rejectedParam(ctx) {
	if (opt.rejectParams.length === 0)
		return null;
	let names;
	if (boundaryOf(ctx.contentType) !== null) {
		names = ctx.form()?.names() ?? [];
	} else {
		const j = ctx.json();
		if (!j.ok || j.value === null || typeof j.value !== 'object' || Array.isArray(j.value))
			return null;
		names = Object.keys(j.value);
	}
	return opt.rejectParams.find((n) => names.includes(n)) ?? null;
}

function dispatch(req, res, buf) {
	const ctx = makeContext(req, res, buf);
	if (req.url.startsWith('/_mock/')) {
		if (handleIntrospection(ctx))
			return;
	} else {
		stats.requests++;
		const sock = req.socket;
		if (sock && sock.mockGen !== statsGen) {
			sock.mockGen = statsGen;
			stats.api_connections++;
		}
		lastByRoute.set(ctx.route, recordOf(ctx));
	}
	const r = findRoute(ctx.route);
	const anthropic = r !== undefined && r[2] === 'anthropic';
	if (anthropic && opt.anthropicAuth !== null && req.method === r[0]) {
		// The key comes as x-api-key, or as "Authorization: Bearer KEY" (what
		// @anthropic-ai/sdk 1.x sends); either one matching is enough.
		const keys = [];
		if (req.headers['x-api-key'] !== undefined)
			keys.push(req.headers['x-api-key']);
		const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
		if (m !== null)
			keys.push(m[1]);
		if (keys.length === 0) {
			sendAnthropicError(res, 401, 'authentication_error', 'x-api-key header is required');
			return;
		}
		if (!keys.includes(opt.anthropicAuth)) {
			sendAnthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
			return;
		}
	}
	if (opt.status !== null && req.method === 'POST' && !req.url.startsWith('/_mock/')) {
		if (ctx.route === '/chat/completions')
			lastChat = recordOf(ctx);
		answerStatus(ctx, r);
		return;
	}
	if (r === undefined) {
		sendError(res, 404, `Invalid URL (${req.method} ${req.url})`,
			'invalid_request_error', 'unknown_url');
		return;
	}
	if (req.method !== r[0]) {
		methodNotAllowed(res, req.method, req.url);
		return;
	}
	if (ctx.route === '/chat/completions')
		lastChat = recordOf(ctx);
	if (req.method === 'POST') {
		const bad = rejectedParam(ctx);
		if (bad !== null) {
			if (anthropic) {
				sendAnthropicError(res, 400, 'invalid_request_error',
					`${bad}: Extra inputs are not permitted`);
			} else {
				sendError(res, 400, `Unsupported parameter: '${bad}' is not supported ` +
					'with this model.', 'invalid_request_error', 'unsupported_parameter',
				undefined, bad);
			}
			return;
		}
	}
	r[1](ctx);
}

function onRequest(req, res) {
	if (opt.name !== null)
		res.setHeader('x-mock-provider', opt.name);
	const cl = req.headers['content-length'];
	if (cl !== undefined) {
		const n = parseUint(cl, Number.MAX_SAFE_INTEGER);
		if (n !== null && n > MAX_BODY_BYTES) {
			res.shouldKeepAlive = false;
			sendError(res, 413, 'Request body too large.', 'invalid_request_error',
				'request_too_large');
			req.resume();
			return;
		}
	}
	const parts = [];
	let size = 0;
	let tooBig = false;
	req.on('data', (d) => {
		if (tooBig)
			return;
		size += d.length;
		if (size > MAX_BODY_BYTES) {
			tooBig = true;
			res.shouldKeepAlive = false;
			sendError(res, 413, 'Request body too large.', 'invalid_request_error',
				'request_too_large');
			return;
		}
		parts.push(d);
	});
	req.on('end', () => {
		if (tooBig)
			return;
		dispatch(req, res, parts.length === 1 ? parts[0] : Buffer.concat(parts));
	});
}

// ---------------------------------------------------------------- main

function main() {
	opt = parseArgs(process.argv.slice(2));
	const server = http.createServer({
		keepAlive: true,
		noDelay: true,
		keepAliveTimeout: 65000,
		headersTimeout: 60000,
		requestTimeout: 0,	// mock-hang must be able to hang
		maxHeaderSize: 64 * 1024,
	}, onRequest);
	server.keepAliveTimeout = 65000;
	server.timeout = 0;
	server.maxRequestsPerSocket = 0;
	server.on('connection', (s) => {
		stats.connections++;
		s.setNoDelay(true);
	});
	server.on('clientError', (err, sock) => {
		if (sock.writable)
			sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
		else
			sock.destroy();
	});

	let stopping = false;
	const stop = () => {
		if (stopping)
			return;
		stopping = true;
		server.close(() => process.exit(0));
		server.closeAllConnections();
		// Belt and braces: never outlive a stop request by more than 2 s.
		setTimeout(() => process.exit(0), 2000).unref();
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);

	server.on('error', (err) => {
		process.stderr.write(`mock-upstream: ${err.message}\n`);
		process.exit(1);
	});
	server.listen(opt.port, opt.host, () => {
		process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
	});
}

main();
