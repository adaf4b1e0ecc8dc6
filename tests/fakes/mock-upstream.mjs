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

import { MAX_BODY_BYTES, parseUint, sendJson, sendError } from './mock/common.mjs';
import { parseMultipart, formView, boundaryOf } from './mock/multipart.mjs';
import {
	handleChat, handleEmbeddings, handleModels, handleModel, handleCompletions,
	handleModerations, handleResponses,
} from './mock/openai.mjs';
import {
	IMAGE_PNG, handleImageGenerations, handleImageEdits, handleImageVariations,
	handleTranscriptions, handleTranslations, handleSpeech,
} from './mock/media.mjs';
import { handleMessages, handleCountTokens } from './mock/anthropic.mjs';

// ---------------------------------------------------------------- arguments

function usage(msg) {
	process.stderr.write(`mock-upstream: ${msg}\n` +
		'usage: node mock-upstream.mjs [--port N] [--host ADDR]\n');
	process.exit(2);
}

function parseArgs(argv) {
	const opt = { port: 0, host: '127.0.0.1' };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		let name = a, val;
		const eq = a.indexOf('=');
		if (a.startsWith('--') && eq > 0) {
			name = a.slice(0, eq);
			val = a.slice(eq + 1);
		}
		if (name !== '--port' && name !== '--host')
			usage(`unknown argument ${a}`);
		if (val === undefined) {
			if (i + 1 >= argv.length)
				usage(`${name} needs a value`);
			val = argv[++i];
		}
		if (name === '--port') {
			const p = parseUint(val, 65535);
			if (p === null)
				usage(`bad port ${val}`);
			opt.port = p;
		} else {
			if (val === '')
				usage('empty host');
			opt.host = val;
		}
	}
	return opt;
}

// ---------------------------------------------------------------- state

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
// for Anthropic's endpoints.
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
	r[1](ctx);
}

function onRequest(req, res) {
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
	const opt = parseArgs(process.argv.slice(2));
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
