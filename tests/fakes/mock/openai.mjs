// OpenAI text endpoints of the mock upstream: chat completions, legacy
// completions, embeddings, moderations, the Responses API, and the model
// list. Every handler takes the request context built by mock-upstream.mjs
// ({req, res, url, route, json(), text(), ...}).

import {
	codePoints, estimateTokens, tokenText, replyContent, promptTokensOf,
	newId, nowSeconds, sendJson, sendError, readControls, behaviourOf,
	answerFixedBehaviour, sendJsonLater, streamEvents, sseData,
} from './common.mjs';

// ---------------------------------------------------------------- helpers

export function badJson(res) {
	sendError(res, 400, 'We could not parse the JSON body of your request. ' +
		'(HINT: This likely means you aren\'t using your HTTP library ' +
		'correctly.)', 'invalid_request_error', null);
}

// The JSON object body of a request with a non-empty string model, or null
// after answering 400.
function jsonWithModel(ctx) {
	const { res } = ctx;
	const j = ctx.json();
	if (!j.ok) {
		badJson(res);
		return null;
	}
	const body = j.value;
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		sendError(res, 400, 'The request body must be a JSON object.',
			'invalid_request_error', null);
		return null;
	}
	if (typeof body.model !== 'string' || body.model === '') {
		sendError(res, 400, 'you must provide a model parameter',
			'invalid_request_error', null);
		return null;
	}
	return body;
}

function missing(res, name) {
	sendError(res, 400, `Missing required parameter: '${name}'.`,
		'invalid_request_error', 'missing_required_parameter', undefined, name);
}

// Characters of the messages' textual contents: string contents, and the
// "text" of array parts.
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

function usageOf(promptTokens, completionTokens) {
	return {
		prompt_tokens: promptTokens,
		completion_tokens: completionTokens,
		total_tokens: promptTokens + completionTokens,
	};
}

function includeUsage(body) {
	return body.stream_options !== null && typeof body.stream_options === 'object' &&
		body.stream_options.include_usage === true;
}

// ---------------------------------------------------------------- chat

function chatNonStream(res, body, b, c, promptTokens) {
	const obj = {
		id: newId('chatcmpl'),
		object: 'chat.completion',
		created: nowSeconds(),
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
	sendJsonLater(res, c, b, obj);
}

// Stream the reply as SSE: one write per event, c.delay ms between events,
// c.firstDelay ms before the first one.
function chatStream(res, body, b, c, promptTokens) {
	const sendUsage = includeUsage(body) && b !== 'mock-no-usage';
	const markNull = sendUsage;
	const id = newId('chatcmpl');
	const created = nowSeconds();

	const chunk = (delta, finish) => {
		const o = {
			id, object: 'chat.completion.chunk', created, model: body.model,
			system_fingerprint: 'fp_mock',
			choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		};
		if (markNull)
			o.usage = null;
		return sseData(o);
	};

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
			return sseData({
				id, object: 'chat.completion.chunk', created, model: body.model,
				system_fingerprint: 'fp_mock', choices: [],
				usage: usageOf(promptTokens, nTok),
			});
		}
		return 'data: [DONE]\n\n';
	};
	streamEvents(res, c, total, eventAt, { cutAfter: b === 'mock-cut' ? 2 : Infinity });
}

export function handleChat(ctx) {
	const { req, res } = ctx;
	const body = jsonWithModel(ctx);
	if (body === null)
		return;
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
	const promptTokens = promptTokensOf(c, ctx, messageChars(body.messages));
	if (body.stream === true)
		chatStream(res, body, b, c, promptTokens);
	else
		chatNonStream(res, body, b, c, promptTokens);
}

// ---------------------------------------------------------------- embeddings

export function handleEmbeddings(ctx) {
	const { res } = ctx;
	const j = ctx.json();
	if (!j.ok) {
		sendError(res, 400, 'We could not parse the JSON body of your request.',
			'invalid_request_error', null);
		return;
	}
	const body = j.value;
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

export const MODELS = ['mock-model', 'mock-model-large', 'mock-embedding'];

function modelObject(id) {
	return { id, object: 'model', created: 1700000000, owned_by: 'mock' };
}

export function handleModels(ctx) {
	sendJson(ctx.res, 200, { object: 'list', data: MODELS.map(modelObject) });
}
