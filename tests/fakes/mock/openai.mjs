// OpenAI text endpoints of the mock upstream: chat completions, legacy
// completions, embeddings, moderations, the Responses API, and the model
// list. Every handler takes the request context built by mock-upstream.mjs
// ({req, res, url, route, json(), text(), ...}).

import {
	codePoints, estimateTokens, tokenText, replyContent, promptTokensOf,
	newId, nowSeconds, sendJson, sendError, readControls, behaviourOf,
	answerFixedBehaviour, sendJsonLater, streamEvents, sseData, sseEvent,
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

// GET /models/{id}: the model object, or OpenAI's 404.
export function handleModel(ctx, id) {
	if (MODELS.includes(id)) {
		sendJson(ctx.res, 200, modelObject(id));
		return;
	}
	sendError(ctx.res, 404, `The model '${id}' does not exist`,
		'invalid_request_error', 'model_not_found', undefined, 'model');
}

// ---------------------------------------------------------------- completions

// The prompts of a legacy completion: a string, an array of strings, an
// array of token ids, or an array of arrays of token ids. Returns
// [{ tokens }] (one per prompt, tokens counted as the chat endpoint does,
// token ids counted one each), or null when malformed.
function completionPrompts(prompt) {
	if (typeof prompt === 'string')
		return [estimateTokens(codePoints(prompt))];
	if (!Array.isArray(prompt) || prompt.length === 0)
		return null;
	if (prompt.every((p) => typeof p === 'string'))
		return prompt.map((p) => estimateTokens(codePoints(p)));
	if (prompt.every((p) => Number.isInteger(p)))
		return [Math.max(1, prompt.length)];
	if (prompt.every((p) => Array.isArray(p) && p.every(Number.isInteger)))
		return prompt.map((p) => Math.max(1, p.length));
	return null;
}

// max_tokens-style cap: the reply is cut to it, with finish "length".
function capTokens(n, max) {
	if (Number.isInteger(max) && max >= 0 && max < n)
		return { n: max, capped: true };
	return { n, capped: false };
}

export function handleCompletions(ctx) {
	const { req, res } = ctx;
	const body = jsonWithModel(ctx);
	if (body === null)
		return;
	if (body.prompt === undefined)
		return missing(res, 'prompt');
	const prompts = completionPrompts(body.prompt);
	if (prompts === null) {
		sendError(res, 400, 'Invalid type for \'prompt\': expected a string, an array ' +
			'of strings, an array of integers, or an array of arrays of integers.',
			'invalid_request_error', 'invalid_type', undefined, 'prompt');
		return;
	}
	const nPer = body.n ?? 1;
	if (!Number.isInteger(nPer) || nPer < 1 || nPer > 128) {
		sendError(res, 400, `Invalid 'n': integer below minimum value or above ` +
			'maximum value (1..128).', 'invalid_request_error', 'invalid_value',
		undefined, 'n');
		return;
	}
	const b = behaviourOf(body.model);
	if (answerFixedBehaviour(b, body.model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;
	const promptTokens = c.promptTokens === undefined
		? prompts.reduce((a, t) => a + t, 0)
		: promptTokensOf(c, ctx, 0);
	const { n: nTok, capped } = capTokens(c.tokens, body.max_tokens);
	const finish = capped ? 'length' : 'stop';
	const nChoices = prompts.length * nPer;
	const completionTokens = nTok * nChoices;
	const id = newId('cmpl');
	const created = nowSeconds();

	if (body.stream !== true) {
		const choices = [];
		for (let k = 0; k < nChoices; k++) {
			choices.push({ text: replyContent(nTok), index: k, logprobs: null,
				finish_reason: finish });
		}
		const obj = { id, object: 'text_completion', created, model: body.model,
			system_fingerprint: 'fp_mock', choices };
		if (b !== 'mock-no-usage')
			obj.usage = usageOf(promptTokens, completionTokens);
		sendJsonLater(res, c, b, obj);
		return;
	}

	const sendUsage = includeUsage(body) && b !== 'mock-no-usage';
	const chunk = (choices, usage) => {
		const o = { id, object: 'text_completion', created, model: body.model,
			system_fingerprint: 'fp_mock', choices };
		if (sendUsage)
			o.usage = usage ?? null;
		return sseData(o);
	};
	// Per choice: nTok text chunks, then an empty chunk with finish_reason.
	const per = nTok + 1;
	const total = nChoices * per + (sendUsage ? 1 : 0) + 1;
	const eventAt = (i) => {
		if (i < nChoices * per) {
			const k = Math.floor(i / per);
			const t = i % per;
			return chunk([{ text: t < nTok ? tokenText(t) : '', index: k, logprobs: null,
				finish_reason: t < nTok ? null : finish }]);
		}
		if (sendUsage && i === nChoices * per)
			return chunk([], usageOf(promptTokens, completionTokens));
		return 'data: [DONE]\n\n';
	};
	streamEvents(res, c, total, eventAt, { cutAfter: b === 'mock-cut' ? 2 : Infinity });
}

// ---------------------------------------------------------------- moderations

const MODERATION_CATEGORIES = [
	'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit',
	'illicit/violent', 'self-harm', 'self-harm/intent', 'self-harm/instructions',
	'sexual', 'sexual/minors', 'violence', 'violence/graphic',
];
// The categories omni-moderation also scores on images.
const IMAGE_CATEGORIES = new Set(['self-harm', 'self-harm/intent',
	'self-harm/instructions', 'sexual', 'violence', 'violence/graphic']);

// One result. A text containing "mock-flag" is flagged for violence; every
// other score is a small deterministic number.
function moderationResult(text, hasText, hasImage) {
	const flagged = text.toLowerCase().includes('mock-flag');
	const categories = {};
	const scores = {};
	const applied = {};
	MODERATION_CATEGORIES.forEach((cat, k) => {
		const hit = flagged && cat === 'violence';
		categories[cat] = hit;
		scores[cat] = hit ? 0.95 : Math.round((k + 1) * 1e-6 * 1e9) / 1e9;
		const types = [];
		if (hasText)
			types.push('text');
		if (hasImage && IMAGE_CATEGORIES.has(cat))
			types.push('image');
		applied[cat] = types;
	});
	return { flagged, categories, category_scores: scores,
		category_applied_input_types: applied };
}

export function handleModerations(ctx) {
	const { req, res } = ctx;
	const j = ctx.json();
	if (!j.ok)
		return badJson(res);
	const body = j.value;
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		sendError(res, 400, 'The request body must be a JSON object.',
			'invalid_request_error', null);
		return;
	}
	const model = typeof body.model === 'string' && body.model !== ''
		? body.model : 'omni-moderation-latest';
	let results;
	const input = body.input;
	if (typeof input === 'string') {
		results = [moderationResult(input, true, false)];
	} else if (Array.isArray(input) && input.length > 0 &&
		   input.every((s) => typeof s === 'string')) {
		results = input.map((s) => moderationResult(s, true, false));
	} else if (Array.isArray(input) && input.length > 0 &&
		   input.every((p) => p && typeof p === 'object')) {
		// Multi-modal parts are classified together: one result.
		let text = '';
		let hasText = false, hasImage = false;
		for (const p of input) {
			if (p.type === 'text' && typeof p.text === 'string') {
				text += p.text + '\n';
				hasText = true;
			} else if (p.type === 'image_url') {
				hasImage = true;
			}
		}
		results = [moderationResult(text, hasText, hasImage)];
	} else {
		return missing(res, 'input');
	}
	const b = behaviourOf(model);
	if (answerFixedBehaviour(b, model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;
	sendJsonLater(res, c, b, { id: newId('modr'), model, results });
}

// ---------------------------------------------------------------- responses

// Characters of Responses API input: a string, or an array of items whose
// `content` is a string or an array of parts with `text` (input_text,
// output_text), and function_call_output items' `output` strings.
function responsesInputChars(input) {
	if (typeof input === 'string')
		return codePoints(input);
	let n = 0;
	for (const it of input) {
		if (it === null || typeof it !== 'object')
			continue;
		if (typeof it.content === 'string') {
			n += codePoints(it.content);
		} else if (Array.isArray(it.content)) {
			for (const p of it.content)
				if (p && typeof p === 'object' && typeof p.text === 'string')
					n += codePoints(p.text);
		}
		if (typeof it.output === 'string')
			n += codePoints(it.output);
	}
	return n;
}

// The response object, echoing the request's settings as OpenAI does.
function responseObject(body, id, createdAt, status, output, usage) {
	const echo = (k, dflt) => body[k] === undefined ? dflt : body[k];
	return {
		id,
		object: 'response',
		created_at: createdAt,
		status,
		background: echo('background', false),
		error: null,
		incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
		instructions: echo('instructions', null),
		max_output_tokens: echo('max_output_tokens', null),
		max_tool_calls: echo('max_tool_calls', null),
		model: body.model,
		output,
		parallel_tool_calls: echo('parallel_tool_calls', true),
		previous_response_id: echo('previous_response_id', null),
		prompt_cache_key: echo('prompt_cache_key', null),
		reasoning: { effort: null, summary: null },
		safety_identifier: echo('safety_identifier', null),
		service_tier: 'default',
		store: echo('store', true),
		temperature: echo('temperature', 1),
		text: echo('text', { format: { type: 'text' }, verbosity: 'medium' }),
		tool_choice: echo('tool_choice', 'auto'),
		tools: echo('tools', []),
		top_logprobs: echo('top_logprobs', 0),
		top_p: echo('top_p', 1),
		truncation: echo('truncation', 'disabled'),
		usage,
		user: echo('user', null),
		metadata: echo('metadata', {}),
	};
}

export function handleResponses(ctx) {
	const { req, res } = ctx;
	const body = jsonWithModel(ctx);
	if (body === null)
		return;
	if (typeof body.input !== 'string' && !Array.isArray(body.input))
		return missing(res, 'input');
	const b = behaviourOf(body.model);
	if (answerFixedBehaviour(b, body.model, res))
		return;
	const c = readControls(req, res, { cache: true });
	if (c === null)
		return;
	let chars = responsesInputChars(body.input);
	if (typeof body.instructions === 'string')
		chars += codePoints(body.instructions);
	const inputTokens = promptTokensOf(c, ctx, chars);
	const { n: nTok, capped } = capTokens(c.tokens, body.max_output_tokens);
	const status = capped ? 'incomplete' : 'completed';
	const usage = b === 'mock-no-usage' ? null : {
		input_tokens: inputTokens,
		input_tokens_details: { cached_tokens: Math.min(c.cacheRead, inputTokens) },
		output_tokens: nTok,
		output_tokens_details: { reasoning_tokens: 0 },
		total_tokens: inputTokens + nTok,
	};
	const id = newId('resp', '_');
	const msgId = newId('msg', '_');
	const createdAt = nowSeconds();
	const text = replyContent(nTok);
	const part = (t) => ({ type: 'output_text', annotations: [], logprobs: [], text: t });
	const message = (st, content) => ({ id: msgId, type: 'message', status: st,
		content, role: 'assistant' });

	if (body.stream !== true) {
		const obj = responseObject(body, id, createdAt, status,
			[message(status, [part(text)])], usage);
		if (usage === null)
			delete obj.usage;
		sendJsonLater(res, c, b, obj);
		return;
	}

	// Events: created, in_progress, output_item.added, content_part.added,
	// nTok output_text.delta, output_text.done, content_part.done,
	// output_item.done, completed (or incomplete).
	const head = 4;
	const total = head + nTok + 4;
	const ev = (i, o) => sseEvent(o.type, { ...o, sequence_number: i });
	const ids = { item_id: msgId, output_index: 0, content_index: 0 };
	const eventAt = (i) => {
		if (i === 0) {
			return ev(i, { type: 'response.created', response: responseObject(body, id,
				createdAt, 'in_progress', [], null) });
		}
		if (i === 1) {
			return ev(i, { type: 'response.in_progress', response: responseObject(body, id,
				createdAt, 'in_progress', [], null) });
		}
		if (i === 2) {
			return ev(i, { type: 'response.output_item.added', output_index: 0,
				item: message('in_progress', []) });
		}
		if (i === 3) {
			return ev(i, { type: 'response.content_part.added', ...ids,
				part: part('') });
		}
		if (i < head + nTok) {
			return ev(i, { type: 'response.output_text.delta', ...ids,
				delta: tokenText(i - head), logprobs: [] });
		}
		switch (i - head - nTok) {
		case 0:
			return ev(i, { type: 'response.output_text.done', ...ids, text, logprobs: [] });
		case 1:
			return ev(i, { type: 'response.content_part.done', ...ids, part: part(text) });
		case 2:
			return ev(i, { type: 'response.output_item.done', output_index: 0,
				item: message(status, [part(text)]) });
		default:
			return ev(i, { type: capped ? 'response.incomplete' : 'response.completed',
				response: responseObject(body, id, createdAt, status,
					[message(status, [part(text)])], usage) });
		}
	};
	streamEvents(res, c, total, eventAt, { cutAfter: b === 'mock-cut' ? 2 : Infinity });
}
