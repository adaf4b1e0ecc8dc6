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

import http from 'node:http';
import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------- limits

const MAX_BODY_BYTES = 16 * 1024 * 1024;	// request bodies past this get 413
const MAX_TOKENS = 10000;			// cap of x-mock-tokens
const MAX_DELAY_MS = 10000;			// cap of the two delay headers
const MAX_PROMPT_TOKENS = 10000000;		// cap of x-mock-prompt-tokens
const DEFAULT_TOKENS = 5;

// ---------------------------------------------------------------- arguments

// Parse a whole-string non-negative decimal integer in [0, max]; null if not.
function parseUint(s, max) {
	if (typeof s !== 'string' || !/^[0-9]{1,9}$/.test(s))
		return null;
	const n = Number(s);
	return n <= max ? n : null;
}

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
let lastChat = null;
let statsGen = 1;		// bumped by reset; see api_connections
const idPrefix = randomBytes(6).toString('hex');
let idSeq = 0;

function newId(prefix) {
	idSeq++;
	return `${prefix}-mock${idPrefix}${idSeq.toString(36)}`;
}

// ---------------------------------------------------------------- helpers

// Code points of a string (a surrogate pair counts once).
function codePoints(s) {
	let n = s.length;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c >= 0xdc00 && c <= 0xdfff)
			n--;
	}
	return n;
}

// Characters of the messages' textual contents: string contents, and the
// "text" of array parts of type "text".
function messageChars(messages) {
	let n = 0;
	for (const m of messages) {
		if (m === null || typeof m !== 'object')
			continue;
		if (typeof m.content === 'string') {
			n += codePoints(m.content);
		} else if (Array.isArray(m.content)) {
			for (const p of m.content)
				if (p && typeof p === 'object' && typeof p.text === 'string')
					n += codePoints(p.text);
		}
	}
	return n;
}

function estimateTokens(chars) {
	return Math.max(1, Math.ceil(chars / 4));
}

function sendJson(res, status, obj, extraHeaders) {
	const body = JSON.stringify(obj);
	const h = {
		'content-type': 'application/json',
		'content-length': Buffer.byteLength(body),
	};
	if (extraHeaders)
		Object.assign(h, extraHeaders);
	res.writeHead(status, h);
	res.end(body);
}

function sendError(res, status, message, type, code, extraHeaders) {
	sendJson(res, status, {
		error: { message, type, param: null, code: code ?? null },
	}, extraHeaders);
}

// A delay/token header: absent -> dflt; present -> strict integer, capped.
// Returns a number, or null when malformed.
function headerInt(req, name, dflt, cap) {
	const v = req.headers[name];
	if (v === undefined)
		return dflt;
	const n = parseUint(String(v).trim(), 1e9);
	if (n === null)
		return null;
	return Math.min(n, cap);
}

function readControls(req, res) {
	const c = {
		tokens: headerInt(req, 'x-mock-tokens', DEFAULT_TOKENS, MAX_TOKENS),
		delay: headerInt(req, 'x-mock-delay-ms', 0, MAX_DELAY_MS),
		firstDelay: headerInt(req, 'x-mock-first-delay-ms', 0, MAX_DELAY_MS),
		// null: counted from the contents; 'bytes': from the body size
		promptTokens: req.headers['x-mock-prompt-tokens'] === 'bytes' ? 'bytes'
			: headerInt(req, 'x-mock-prompt-tokens', -1, MAX_PROMPT_TOKENS),
	};
	if (c.promptTokens === -1)
		c.promptTokens = undefined;
	for (const [k, v] of Object.entries(c)) {
		if (v === null) {
			sendError(res, 400, `mock: malformed x-mock header (${k})`,
				'invalid_request_error', 'invalid_mock_header');
			return null;
		}
	}
	return c;
}

// The behaviour key of a model: the part after the last '/', so that
// "openai/mock-error-429" behaves like "mock-error-429".
function behaviourOf(model) {
	const i = model.lastIndexOf('/');
	return i >= 0 ? model.slice(i + 1) : model;
}

// Answer a behaviour that is the same for chat and embeddings. Returns true
// when it answered.
function answerFixedBehaviour(b, model, res) {
	switch (b) {
	case 'mock-error-400':
		sendError(res, 400, `Invalid request for model ${model} (mock-error-400).`,
			'invalid_request_error', 'invalid_value');
		return true;
	case 'mock-error-401':
		sendError(res, 401, 'Incorrect API key provided: sk-mock****. You can find ' +
			'your API key at https://platform.openai.com/account/api-keys.',
			'invalid_request_error', 'invalid_api_key');
		return true;
	case 'mock-error-404':
		sendError(res, 404, `The model \`${model}\` does not exist or you do not ` +
			'have access to it.', 'invalid_request_error', 'model_not_found');
		return true;
	case 'mock-error-429':
		sendError(res, 429, `Rate limit reached for ${model} in organization ` +
			'org-mock on tokens per min (TPM): Limit 10000, Used 10000, ' +
			'Requested 10. Please try again in 2s. Visit ' +
			'https://platform.openai.com/account/rate-limits to learn more.',
			'tokens', 'rate_limit_exceeded', { 'retry-after': '2' });
		return true;
	case 'mock-error-500':
		sendError(res, 500, 'The server had an error while processing your ' +
			'request. Sorry about that!', 'server_error', null);
		return true;
	case 'mock-error-502': {
		const body = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n' +
			'<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
			'<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
		res.writeHead(502, {
			'content-type': 'text/html',
			'content-length': Buffer.byteLength(body),
		});
		res.end(body);
		return true;
	}
	case 'mock-bad-json': {
		const body = '<!doctype html>this is not json {"id": ';
		res.writeHead(200, {
			'content-type': 'application/json',
			'content-length': Buffer.byteLength(body),
		});
		res.end(body);
		return true;
	}
	case 'mock-hang':
		// Never answer; the response ends when the client closes (or on
		// SIGTERM). Flush nothing: the client sees a silent connection.
		return true;
	default:
		return false;
	}
}

// ---------------------------------------------------------------- chat

function tokenText(i) {
	return i === 0 ? 'tok0' : ` tok${i}`;
}

function replyContent(n) {
	let s = '';
	for (let i = 0; i < n; i++)
		s += tokenText(i);
	return s;
}

function usageOf(promptTokens, completionTokens) {
	return {
		prompt_tokens: promptTokens,
		completion_tokens: completionTokens,
		total_tokens: promptTokens + completionTokens,
	};
}

function chatNonStream(res, body, b, c, promptTokens) {
	const obj = {
		id: newId('chatcmpl'),
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model: body.model,
		choices: [{
			index: 0,
			message: { role: 'assistant', content: replyContent(c.tokens), refusal: null },
			logprobs: null,
			finish_reason: 'stop',
		}],
		system_fingerprint: 'fp_mock',
	};
	if (b !== 'mock-no-usage')
		obj.usage = usageOf(promptTokens, c.tokens);

	const send = () => {
		if (b === 'mock-cut') {
			// Promise the whole body, deliver half, then drop the socket.
			const s = JSON.stringify(obj);
			const half = s.slice(0, Math.floor(s.length / 2));
			res.writeHead(200, {
				'content-type': 'application/json',
				'content-length': Buffer.byteLength(s),
			});
			res.write(half, () => res.socket?.destroy());
			return;
		}
		sendJson(res, 200, obj);
	};
	const wait = c.firstDelay + c.delay;
	if (wait === 0) {
		send();
		return;
	}
	const t = setTimeout(send, wait);
	res.on('close', () => clearTimeout(t));
}

// Stream the reply as SSE: one write per event, c.delay ms between events,
// c.firstDelay ms before the first one.
function chatStream(res, body, b, c, promptTokens) {
	const includeUsage = body.stream_options !== null &&
		typeof body.stream_options === 'object' &&
		body.stream_options.include_usage === true;
	const sendUsage = includeUsage && b !== 'mock-no-usage';
	const markNull = includeUsage && b !== 'mock-no-usage';
	const id = newId('chatcmpl');
	const created = Math.floor(Date.now() / 1000);

	const chunk = (delta, finish) => {
		const o = {
			id, object: 'chat.completion.chunk', created, model: body.model,
			system_fingerprint: 'fp_mock',
			choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		};
		if (markNull)
			o.usage = null;
		return `data: ${JSON.stringify(o)}\n\n`;
	};

	// Events are built lazily so a 10000-token stream costs no memory up front.
	const nTok = c.tokens;
	const total = Math.max(nTok, 1) + 1 + (sendUsage ? 1 : 0) + 1;
	const eventAt = (i) => {
		if (i < Math.max(nTok, 1)) {
			if (nTok === 0)
				return chunk({ role: 'assistant', content: '' }, null);
			return chunk(i === 0 ? { role: 'assistant', content: tokenText(0) }
				: { content: tokenText(i) }, null);
		}
		i -= Math.max(nTok, 1);
		if (i === 0)
			return chunk({}, 'stop');
		if (sendUsage && i === 1) {
			return `data: ${JSON.stringify({
				id, object: 'chat.completion.chunk', created, model: body.model,
				system_fingerprint: 'fp_mock', choices: [],
				usage: usageOf(promptTokens, nTok),
			})}\n\n`;
		}
		return 'data: [DONE]\n\n';
	};

	res.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-cache',
	});
	res.flushHeaders();

	const cutAfter = b === 'mock-cut' ? 2 : Infinity;
	let i = 0;
	let timer = null;
	let closed = false;
	res.on('close', () => {
		closed = true;
		if (timer)
			clearTimeout(timer);
	});

	const step = () => {
		timer = null;
		for (;;) {
			if (closed)
				return;
			if (i >= total) {
				res.end();
				return;
			}
			if (i === cutAfter - 1) {
				// Drop the socket once the last allowed event is on the wire.
				res.write(eventAt(i++), () => res.socket?.destroy());
				return;
			}
			const ok = res.write(eventAt(i++));
			if (i < total && i < cutAfter && c.delay > 0) {
				timer = setTimeout(step, c.delay);
				return;
			}
			if (i < total && !ok) {
				// Respect back-pressure on long zero-delay streams.
				res.once('drain', step);
				return;
			}
		}
	};
	if (c.firstDelay > 0)
		timer = setTimeout(step, c.firstDelay);
	else
		step();
}

function handleChat(req, res, raw) {
	let body;
	try {
		body = JSON.parse(raw);
	} catch {
		lastChat = { method: req.method, path: req.url, headers: req.headers, body: null, raw };
		sendError(res, 400, 'We could not parse the JSON body of your request. ' +
			'(HINT: This likely means you aren\'t using your HTTP library ' +
			'correctly.)', 'invalid_request_error', null);
		return;
	}
	lastChat = { method: req.method, path: req.url, headers: req.headers, body };
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		sendError(res, 400, 'The request body must be a JSON object.',
			'invalid_request_error', null);
		return;
	}
	if (typeof body.model !== 'string' || body.model === '') {
		sendError(res, 400, 'you must provide a model parameter',
			'invalid_request_error', null);
		return;
	}
	if (!Array.isArray(body.messages)) {
		sendError(res, 400, '\'messages\' is a required property',
			'invalid_request_error', null);
		return;
	}
	const b = behaviourOf(body.model);
	if (answerFixedBehaviour(b, body.model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;
	const promptTokens = c.promptTokens === 'bytes' ? estimateTokens(Buffer.byteLength(raw))
		: c.promptTokens ?? estimateTokens(messageChars(body.messages));
	if (body.stream === true)
		chatStream(res, body, b, c, promptTokens);
	else
		chatNonStream(res, body, b, c, promptTokens);
}

// ---------------------------------------------------------------- embeddings

function handleEmbeddings(req, res, raw) {
	let body;
	try {
		body = JSON.parse(raw);
	} catch {
		sendError(res, 400, 'We could not parse the JSON body of your request.',
			'invalid_request_error', null);
		return;
	}
	if (body === null || typeof body !== 'object' || typeof body.model !== 'string' ||
	    body.model === '') {
		sendError(res, 400, 'you must provide a model parameter',
			'invalid_request_error', null);
		return;
	}
	const inputs = typeof body.input === 'string' ? [body.input]
		: Array.isArray(body.input) ? body.input : null;
	if (inputs === null || inputs.length === 0) {
		sendError(res, 400, '\'input\' is a required property',
			'invalid_request_error', null);
		return;
	}
	if (answerFixedBehaviour(behaviourOf(body.model), body.model, res))
		return;
	let chars = 0;
	const data = inputs.map((s, idx) => {
		if (typeof s === 'string')
			chars += codePoints(s);
		const embedding = [];
		for (let k = 0; k < 8; k++)
			embedding.push(Math.round(((k + 1) / 8 - idx / 100) * 1e6) / 1e6);
		return { object: 'embedding', index: idx, embedding };
	});
	const pt = estimateTokens(chars);
	sendJson(res, 200, {
		object: 'list', data, model: body.model,
		usage: { prompt_tokens: pt, total_tokens: pt },
	});
}

// ---------------------------------------------------------------- models

const MODELS = ['mock-model', 'mock-model-large', 'mock-embedding'];

function handleModels(res) {
	sendJson(res, 200, {
		object: 'list',
		data: MODELS.map((id) => ({
			id, object: 'model', created: 1700000000, owned_by: 'mock',
		})),
	});
}

// ---------------------------------------------------------------- dispatch

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

function methodNotAllowed(res, method, path) {
	sendError(res, 405, `Method ${method} not allowed on ${path}.`,
		'invalid_request_error', 'method_not_allowed');
}

function dispatch(req, res, raw) {
	const url = req.url;
	if (url.startsWith('/_mock/')) {
		const p = routeOf(url);
		if (p === '/_mock/stats' && req.method === 'GET')
			return sendJson(res, 200, { ...stats });
		if (p === '/_mock/last' && req.method === 'GET')
			return sendJson(res, 200, lastChat);
		if (p === '/_mock/reset' && req.method === 'POST') {
			stats.requests = 0;
			stats.connections = 0;
			stats.api_connections = 0;
			lastChat = null;
			statsGen++;
			return sendJson(res, 200, { ok: true });
		}
	} else {
		stats.requests++;
		const sock = req.socket;
		if (sock && sock.mockGen !== statsGen) {
			sock.mockGen = statsGen;
			stats.api_connections++;
		}
	}
	const p = routeOf(url);
	switch (p) {
	case '/chat/completions':
		if (req.method !== 'POST')
			return methodNotAllowed(res, req.method, url);
		return handleChat(req, res, raw);
	case '/embeddings':
		if (req.method !== 'POST')
			return methodNotAllowed(res, req.method, url);
		return handleEmbeddings(req, res, raw);
	case '/models':
		if (req.method !== 'GET')
			return methodNotAllowed(res, req.method, url);
		return handleModels(res);
	default:
		return sendError(res, 404, `Invalid URL (${req.method} ${url})`,
			'invalid_request_error', 'unknown_url');
	}
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
		const raw = parts.length === 1 ? parts[0].toString('utf8')
			: Buffer.concat(parts).toString('utf8');
		dispatch(req, res, raw);
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
