// Shared helpers of the mock upstream (tests/fakes/mock-upstream.mjs): limits,
// ids, token estimates, the x-mock-* control headers, OpenAI-shaped errors,
// the behaviour models (mock-error-*, mock-hang, ...), and the two ways an
// answer leaves: a whole body after the configured delay, or a paced stream
// of events. Node stdlib only.

import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------- limits

export const MAX_BODY_BYTES = 16 * 1024 * 1024;	// request bodies past this get 413
export const MAX_TOKENS = 10000;		// cap of x-mock-tokens
export const MAX_DELAY_MS = 10000;		// cap of the two delay headers
export const MAX_PROMPT_TOKENS = 10000000;	// cap of x-mock-prompt-tokens and x-mock-cache-*
export const DEFAULT_TOKENS = 5;

// Parse a whole-string non-negative decimal integer in [0, max]; null if not.
export function parseUint(s, max) {
	if (typeof s !== 'string' || !/^[0-9]{1,9}$/.test(s))
		return null;
	const n = Number(s);
	return n <= max ? n : null;
}

// ---------------------------------------------------------------- ids

const idPrefix = randomBytes(6).toString('hex');
let idSeq = 0;

// "chatcmpl-mock<hex><n>"; sep '_' gives Responses/Anthropic style ids
// ("resp_mock…", "msg_mock…").
export function newId(prefix, sep = '-') {
	idSeq++;
	return `${prefix}${sep}mock${idPrefix}${idSeq.toString(36)}`;
}

export function nowSeconds() {
	return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------- tokens

// Code points of a string (a surrogate pair counts once).
export function codePoints(s) {
	let n = s.length;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c >= 0xdc00 && c <= 0xdfff)
			n--;
	}
	return n;
}

export function estimateTokens(chars) {
	return Math.max(1, Math.ceil(chars / 4));
}

// The i-th token of a reply: "tok0", " tok1", " tok2", ...
export function tokenText(i) {
	return i === 0 ? 'tok0' : ` tok${i}`;
}

export function replyContent(n) {
	let s = '';
	for (let i = 0; i < n; i++)
		s += tokenText(i);
	return s;
}

// The prompt token count for a request: the x-mock-prompt-tokens override
// (a number, or 'bytes' for the raw body size), else estimateTokens(chars).
export function promptTokensOf(c, ctx, chars) {
	if (c.promptTokens === 'bytes')
		return estimateTokens(Buffer.byteLength(ctx.text()));
	return c.promptTokens ?? estimateTokens(chars);
}

// ---------------------------------------------------------------- answers

export function sendJson(res, status, obj, extraHeaders) {
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

// OpenAI's error shape: {"error":{"message","type","param","code"}}.
export function sendError(res, status, message, type, code, extraHeaders, param) {
	sendJson(res, status, {
		error: { message, type, param: param ?? null, code: code ?? null },
	}, extraHeaders);
}

// ---------------------------------------------------------------- controls

// A delay/token header: absent -> dflt; present -> strict integer, capped.
// Returns a number, or null when malformed.
export function headerInt(req, name, dflt, cap) {
	const v = req.headers[name];
	if (v === undefined)
		return dflt;
	const n = parseUint(String(v).trim(), 1e9);
	if (n === null)
		return null;
	return Math.min(n, cap);
}

// The x-mock-* request headers. Returns the controls, or null after
// answering 400 for a malformed one. opts.cache: also read x-mock-cache-read
// and x-mock-cache-write (only the endpoints that report cache usage do, so
// the others ignore them). opts.errorOut(res, status, message) lets the
// Anthropic routes answer in their own error shape.
export function readControls(req, res, opts = {}) {
	const c = {
		tokens: headerInt(req, 'x-mock-tokens', DEFAULT_TOKENS, MAX_TOKENS),
		delay: headerInt(req, 'x-mock-delay-ms', 0, MAX_DELAY_MS),
		firstDelay: headerInt(req, 'x-mock-first-delay-ms', 0, MAX_DELAY_MS),
		// null: counted from the contents; 'bytes': from the body size
		promptTokens: req.headers['x-mock-prompt-tokens'] === 'bytes' ? 'bytes'
			: headerInt(req, 'x-mock-prompt-tokens', -1, MAX_PROMPT_TOKENS),
		cacheRead: opts.cache ? headerInt(req, 'x-mock-cache-read', 0, MAX_PROMPT_TOKENS) : 0,
		cacheWrite: opts.cache ? headerInt(req, 'x-mock-cache-write', 0, MAX_PROMPT_TOKENS) : 0,
	};
	if (c.promptTokens === -1)
		c.promptTokens = undefined;
	// Whether x-mock-tokens was given at all (some endpoints have their
	// own default output length).
	c.tokensGiven = req.headers['x-mock-tokens'] !== undefined;
	for (const [k, v] of Object.entries(c)) {
		if (v === null) {
			const msg = `mock: malformed x-mock header (${k})`;
			if (opts.errorOut)
				opts.errorOut(res, 400, msg);
			else
				sendError(res, 400, msg, 'invalid_request_error', 'invalid_mock_header');
			return null;
		}
	}
	return c;
}

// ---------------------------------------------------------------- behaviours

// The behaviour key of a model: the part after the last '/', so that
// "openai/mock-error-429" behaves like "mock-error-429".
export function behaviourOf(model) {
	if (typeof model !== 'string')
		return '';
	const i = model.lastIndexOf('/');
	return i >= 0 ? model.slice(i + 1) : model;
}

export const RATE_LIMIT_MESSAGE = (model) => `Rate limit reached for ${model} in ` +
	'organization org-mock on tokens per min (TPM): Limit 10000, Used 10000, ' +
	'Requested 10. Please try again in 2s. Visit ' +
	'https://platform.openai.com/account/rate-limits to learn more.';

export const SERVER_ERROR_MESSAGE = 'The server had an error while processing your ' +
	'request. Sorry about that!';

export function send502Html(res) {
	const body = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n' +
		'<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
		'<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
	res.writeHead(502, {
		'content-type': 'text/html',
		'content-length': Buffer.byteLength(body),
	});
	res.end(body);
}

export function sendBadJson(res) {
	const body = '<!doctype html>this is not json {"id": ';
	res.writeHead(200, {
		'content-type': 'application/json',
		'content-length': Buffer.byteLength(body),
	});
	res.end(body);
}

// Answer a behaviour that is the same on every OpenAI endpoint. Returns true
// when it answered.
export function answerFixedBehaviour(b, model, res) {
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
		sendError(res, 429, RATE_LIMIT_MESSAGE(model), 'tokens', 'rate_limit_exceeded',
			{ 'retry-after': '2' });
		return true;
	case 'mock-error-500':
		sendError(res, 500, SERVER_ERROR_MESSAGE, 'server_error', null);
		return true;
	case 'mock-error-502':
		send502Html(res);
		return true;
	case 'mock-bad-json':
		sendBadJson(res);
		return true;
	case 'mock-hang':
		// Never answer; the response ends when the client closes (or on
		// SIGTERM). Flush nothing: the client sees a silent connection.
		return true;
	default:
		return false;
	}
}

// ---------------------------------------------------------------- pacing

// Send a whole body after firstDelay + delay ms. With mock-cut, promise the
// whole body in content-length, deliver half, then drop the socket.
export function sendLater(res, c, b, status, contentType, body, extraHeaders) {
	const send = () => {
		const h = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
		if (extraHeaders)
			Object.assign(h, extraHeaders);
		if (b === 'mock-cut') {
			const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
			res.writeHead(status, h);
			res.write(buf.subarray(0, Math.floor(buf.length / 2)),
				() => res.socket?.destroy());
			return;
		}
		res.writeHead(status, h);
		res.end(body);
	};
	const wait = c.firstDelay + c.delay;
	if (wait === 0) {
		send();
		return;
	}
	const t = setTimeout(send, wait);
	res.on('close', () => clearTimeout(t));
}

export function sendJsonLater(res, c, b, obj, extraHeaders) {
	sendLater(res, c, b, 200, 'application/json', JSON.stringify(obj), extraHeaders);
}

// Stream `total` events, eventAt(i) giving the i-th one (a string or a
// Buffer, built lazily so a 10000-token stream costs no memory up front).
// Every event is a separate write, c.delay ms apart, c.firstDelay ms before
// the first one; the status and headers are flushed at once. With cutAfter
// finite, the socket is destroyed once that many events are on the wire.
export function streamEvents(res, c, total, eventAt, opts = {}) {
	const cutAfter = opts.cutAfter ?? Infinity;
	res.writeHead(opts.status ?? 200, opts.headers ?? {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-cache',
	});
	res.flushHeaders();

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
			if (i < total && opts.yieldBetween) {
				// Give each write its own tick (binary bodies).
				timer = setTimeout(step, 0);
				return;
			}
		}
	};
	if (c.firstDelay > 0)
		timer = setTimeout(step, c.firstDelay);
	else
		step();
}

// SSE framing: `data: JSON` only (OpenAI chat/completions style) or with an
// `event:` line (Responses, Anthropic).
export function sseData(obj) {
	return `data: ${JSON.stringify(obj)}\n\n`;
}

export function sseEvent(type, obj) {
	return `event: ${type}\ndata: ${JSON.stringify(obj)}\n\n`;
}
