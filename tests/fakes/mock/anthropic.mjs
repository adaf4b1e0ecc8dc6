// Anthropic Messages API of the mock upstream: POST /v1/messages (stream and
// not) and POST /v1/messages/count_tokens, with Anthropic's error shape
// {"type":"error","error":{"type","message"},"request_id"} and a request-id
// header on every answer.

import {
	codePoints, tokenText, replyContent, promptTokensOf,
	newId, readControls, behaviourOf, send502Html, sendBadJson, sendJsonLater,
	streamEvents, sseEvent,
} from './common.mjs';

// Anthropic's error type for an HTTP status.
const TYPES = {
	400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
	403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large',
	429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error', 529: 'overloaded_error',
};

export function anthropicErrorType(status) {
	return TYPES[status] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

// Anthropic's messages for the error types, as its API words them.
const MESSAGES = {
	authentication_error: 'invalid x-api-key',
	billing_error: 'Your credit balance is too low to access the Anthropic API. Please go ' +
		'to Plans & Billing to upgrade or purchase credits.',
	permission_error: 'Your API key does not have permission to use the specified resource.',
	not_found_error: 'The requested resource could not be found.',
	request_too_large: 'Request exceeds the maximum allowed number of bytes.',
	rate_limit_error: 'This request would exceed the rate limit for your organization ' +
		'(org-mock) of 50,000 input tokens per minute. For details, refer to: ' +
		'https://docs.claude.com/en/api/rate-limits.',
	api_error: 'Internal server error',
	timeout_error: 'Request timed out',
	overloaded_error: 'Overloaded',
	invalid_request_error: 'Invalid request',
};

export function anthropicMessageFor(type) {
	return MESSAGES[type] ?? 'Error';
}

export function sendAnthropicError(res, status, type, message, extraHeaders) {
	const requestId = newId('req', '_');
	const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
	const h = {
		'content-type': 'application/json',
		'content-length': Buffer.byteLength(body),
		'request-id': requestId,
	};
	if (status === 429)
		h['retry-after'] = '2';
	if (extraHeaders)
		Object.assign(h, extraHeaders);
	res.writeHead(status, h);
	res.end(body);
}

// The error answer for a status (--status, mock-error-*): the type that
// status has at Anthropic, with its usual message.
export function sendAnthropicStatus(res, status) {
	const type = anthropicErrorType(status);
	sendAnthropicError(res, status, type, anthropicMessageFor(type));
}

const invalid = (res, message) => sendAnthropicError(res, 400, 'invalid_request_error', message);

// The Anthropic answer of a behaviour model; true when it answered.
function answerBehaviour(b, model, res) {
	const m = /^mock-error-(400|401|404|429|500|529)$/.exec(b);
	if (m !== null) {
		const status = Number(m[1]);
		const type = anthropicErrorType(status);
		const message = status === 404 ? `model: ${model}`
			: status === 400 ? `Invalid request for model ${model} (mock-error-400).`
				: anthropicMessageFor(type);
		sendAnthropicError(res, status, type, message);
		return true;
	}
	switch (b) {
	case 'mock-error-502':
		send502Html(res);
		return true;
	case 'mock-bad-json':
		sendBadJson(res);
		return true;
	case 'mock-hang':
		return true;
	default:
		return false;
	}
}

// Characters of the prompt: `system` (a string or text blocks) and every
// message's content (a string, or blocks whose `text` counts, tool_result
// blocks' string or text-block content included).
function promptChars(body) {
	let n = 0;
	const blocks = (content) => {
		if (typeof content === 'string') {
			n += codePoints(content);
			return;
		}
		if (!Array.isArray(content))
			return;
		for (const b of content) {
			if (b === null || typeof b !== 'object')
				continue;
			if (typeof b.text === 'string')
				n += codePoints(b.text);
			if (b.type === 'tool_result')
				blocks(b.content);
		}
	};
	blocks(body.system);
	for (const m of body.messages)
		if (m !== null && typeof m === 'object')
			blocks(m.content);
	return n;
}

// Checks common to /messages and /messages/count_tokens. Returns
// { body, b, c, inputTokens }, or null after answering.
function prepare(ctx, needMaxTokens) {
	const { req, res } = ctx;
	if (req.headers['anthropic-version'] === undefined) {
		invalid(res, 'anthropic-version: header is required');
		return null;
	}
	const j = ctx.json();
	if (!j.ok) {
		invalid(res, 'There was an issue with the body of your request: it is not valid JSON.');
		return null;
	}
	const body = j.value;
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		invalid(res, 'The request body must be a JSON object.');
		return null;
	}
	if (typeof body.model !== 'string' || body.model === '') {
		invalid(res, 'model: Field required');
		return null;
	}
	if (!Array.isArray(body.messages)) {
		invalid(res, 'messages: Field required');
		return null;
	}
	if (needMaxTokens) {
		if (body.max_tokens === undefined) {
			invalid(res, 'max_tokens: Field required');
			return null;
		}
		if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
			invalid(res, 'max_tokens: Input should be a valid integer greater than or equal to 1');
			return null;
		}
	}
	const b = behaviourOf(body.model);
	if (answerBehaviour(b, body.model, res))
		return null;
	const c = readControls(req, res, {
		cache: true,
		errorOut: (r, status, message) => invalid(r, message),
	});
	if (c === null)
		return null;
	const inputTokens = promptTokensOf(c, ctx, promptChars(body));
	return { body, b, c, inputTokens };
}

export function handleCountTokens(ctx) {
	const p = prepare(ctx, false);
	if (p === null)
		return;
	sendJsonLater(ctx.res, p.c, p.b, { input_tokens: p.inputTokens },
		{ 'request-id': newId('req', '_') });
}

export function handleMessages(ctx) {
	const p = prepare(ctx, true);
	if (p === null)
		return;
	const { res } = ctx;
	const { body, b, c, inputTokens } = p;
	const nTok = Math.min(c.tokens, body.max_tokens);
	const stopReason = c.tokens > body.max_tokens ? 'max_tokens' : 'end_turn';
	const id = newId('msg', '_');
	const headers = { 'request-id': newId('req', '_') };
	const usage = (outputTokens) => ({
		input_tokens: inputTokens,
		cache_creation_input_tokens: c.cacheWrite,
		cache_read_input_tokens: c.cacheRead,
		cache_creation: { ephemeral_5m_input_tokens: c.cacheWrite, ephemeral_1h_input_tokens: 0 },
		output_tokens: outputTokens,
		service_tier: 'standard',
	});
	const message = (content, stop, outputTokens) => ({
		id, type: 'message', role: 'assistant', model: body.model, content,
		stop_reason: stop, stop_sequence: null, usage: usage(outputTokens),
	});

	if (body.stream !== true) {
		sendJsonLater(res, c, b, message([{ type: 'text', text: replyContent(nTok) }],
			stopReason, nTok), headers);
		return;
	}

	// message_start, content_block_start, ping, N content_block_delta,
	// content_block_stop, message_delta, message_stop.
	const total = 3 + nTok + 3;
	const ev = (o) => sseEvent(o.type, o);
	const eventAt = (i) => {
		if (i === 0)
			return ev({ type: 'message_start', message: message([], null, 1) });
		if (i === 1) {
			return ev({ type: 'content_block_start', index: 0,
				content_block: { type: 'text', text: '' } });
		}
		if (i === 2)
			return ev({ type: 'ping' });
		if (i < 3 + nTok) {
			return ev({ type: 'content_block_delta', index: 0,
				delta: { type: 'text_delta', text: tokenText(i - 3) } });
		}
		switch (i - 3 - nTok) {
		case 0:
			return ev({ type: 'content_block_stop', index: 0 });
		case 1:
			return ev({ type: 'message_delta',
				delta: { stop_reason: stopReason, stop_sequence: null },
				usage: {
					input_tokens: inputTokens,
					cache_creation_input_tokens: c.cacheWrite,
					cache_read_input_tokens: c.cacheRead,
					output_tokens: nTok,
				} });
		default:
			return ev({ type: 'message_stop' });
		}
	};
	streamEvents(res, c, total, eventAt, {
		cutAfter: b === 'mock-cut' ? 2 : Infinity,
		headers: {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-cache',
			...headers,
		},
	});
}
