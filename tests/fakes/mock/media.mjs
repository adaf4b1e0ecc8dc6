// OpenAI media endpoints of the mock upstream: images (generations, edits,
// variations), audio transcriptions and translations (multipart uploads),
// and speech (a binary answer sent in several writes).

import {
	codePoints, estimateTokens, tokenText, nowSeconds, sendError, readControls,
	behaviourOf, answerFixedBehaviour, sendJsonLater, sendLater, streamEvents, sseData,
} from './common.mjs';
import { badJson } from './openai.mjs';
import { makePng } from '../png.mjs';
import { makeWav, wavInfo } from '../wav.mjs';

// The image every images/* answer carries: a valid 1x1 white PNG.
export const IMAGE_PNG = makePng(1, 1, [255, 255, 255]);
const IMAGE_B64 = IMAGE_PNG.toString('base64');

function invalid(res, message, param, code = 'invalid_value') {
	sendError(res, 400, message, 'invalid_request_error', code, undefined, param);
}

function missing(res, name) {
	sendError(res, 400, `Missing required parameter: '${name}'.`,
		'invalid_request_error', 'missing_required_parameter', undefined, name);
}

// The multipart form of a request, or null after answering 400.
function formOf(ctx) {
	const f = ctx.form();
	if (f === null) {
		sendError(ctx.res, 400, `Invalid Content-Type header (${ctx.contentType || 'none'}), ` +
			'expected multipart/form-data with a well-formed body.',
		'invalid_request_error', null);
	}
	return f;
}

// The JSON object body of a request, or null after answering 400.
function jsonObject(ctx) {
	const j = ctx.json();
	if (!j.ok) {
		badJson(ctx.res);
		return null;
	}
	if (j.value === null || typeof j.value !== 'object' || Array.isArray(j.value)) {
		sendError(ctx.res, 400, 'The request body must be a JSON object.',
			'invalid_request_error', null);
		return null;
	}
	return j.value;
}

// A form's numeric field as a number (strings of digits), else the value.
function formNumber(v) {
	return typeof v === 'string' && /^[0-9]{1,6}$/.test(v) ? Number(v) : v;
}

// ---------------------------------------------------------------- images

// gpt-image-1 output tokens per image, by quality and size (OpenAI's table).
const GPT_IMAGE_TOKENS = {
	low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
	medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
	high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};
export const IMAGE_INPUT_TOKENS = 255;	// image_tokens per input image

// The answer of all three images endpoints. p: { model, n, prompt, size,
// quality, responseFormat, background, outputFormat, inputImages }.
function answerImages(ctx, p) {
	const { req, res } = ctx;
	const n = p.n ?? 1;
	if (!Number.isInteger(n) || n < 1 || n > 10)
		return invalid(res, `Invalid 'n': must be an integer between 1 and 10.`, 'n');
	const b = behaviourOf(p.model);
	if (answerFixedBehaviour(b, p.model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;
	const gptImage = p.model.startsWith('gpt-image');
	const data = [];
	for (let i = 0; i < n; i++) {
		const d = p.responseFormat === 'url' && !gptImage
			? { url: `http://${req.headers.host ?? '127.0.0.1'}/_mock/image.png` }
			: { b64_json: IMAGE_B64 };
		if (p.model === 'dall-e-3' && p.prompt !== undefined)
			d.revised_prompt = p.prompt;
		data.push(d);
	}
	const obj = { created: nowSeconds() };
	if (gptImage) {
		const quality = GPT_IMAGE_TOKENS[p.quality] ? p.quality : 'medium';
		const size = GPT_IMAGE_TOKENS.low[p.size] ? p.size : '1024x1024';
		obj.background = p.background === 'transparent' ? 'transparent' : 'opaque';
		obj.data = data;
		obj.output_format = ['png', 'webp', 'jpeg'].includes(p.outputFormat)
			? p.outputFormat : 'png';
		obj.quality = quality;
		obj.size = size;
		const perImage = c.tokensGiven ? c.tokens : GPT_IMAGE_TOKENS[quality][size];
		const textTokens = p.prompt === undefined ? 0 : estimateTokens(codePoints(p.prompt));
		const imageTokens = IMAGE_INPUT_TOKENS * (p.inputImages ?? 0);
		const input = textTokens + imageTokens;
		if (b !== 'mock-no-usage') {
			obj.usage = {
				input_tokens: input,
				input_tokens_details: { image_tokens: imageTokens, text_tokens: textTokens },
				output_tokens: perImage * n,
				total_tokens: input + perImage * n,
			};
		}
	} else {
		obj.data = data;
	}
	sendJsonLater(res, c, b, obj);
}

export function handleImageGenerations(ctx) {
	const body = jsonObject(ctx);
	if (body === null)
		return;
	if (typeof body.prompt !== 'string' || body.prompt === '')
		return missing(ctx.res, 'prompt');
	answerImages(ctx, {
		model: typeof body.model === 'string' && body.model !== '' ? body.model : 'dall-e-2',
		n: body.n, prompt: body.prompt, size: body.size, quality: body.quality,
		responseFormat: body.response_format, background: body.background,
		outputFormat: body.output_format, inputImages: 0,
	});
}

// images/edits: multipart (image or image[] files, optional mask, prompt),
// or JSON with images:[{image_url}|{file_id}] (gpt-image models).
export function handleImageEdits(ctx) {
	const { res } = ctx;
	if (/^\s*application\/json/i.test(ctx.contentType)) {
		const body = jsonObject(ctx);
		if (body === null)
			return;
		if (!Array.isArray(body.images) || body.images.length === 0)
			return missing(res, 'images');
		if (typeof body.prompt !== 'string' || body.prompt === '')
			return missing(res, 'prompt');
		answerImages(ctx, {
			model: typeof body.model === 'string' && body.model !== '' ? body.model : 'dall-e-2',
			n: body.n, prompt: body.prompt, size: body.size, quality: body.quality,
			responseFormat: body.response_format, background: body.background,
			outputFormat: body.output_format, inputImages: body.images.length,
		});
		return;
	}
	const f = formOf(ctx);
	if (f === null)
		return;
	const images = f.files('image');
	if (images.length === 0)
		return missing(res, 'image');
	const prompt = f.field('prompt');
	if (prompt === undefined || prompt === '')
		return missing(res, 'prompt');
	answerImages(ctx, {
		model: f.field('model') || 'dall-e-2', n: formNumber(f.field('n')), prompt,
		size: f.field('size'), quality: f.field('quality'),
		responseFormat: f.field('response_format'), background: f.field('background'),
		outputFormat: f.field('output_format'), inputImages: images.length,
	});
}

export function handleImageVariations(ctx) {
	const f = formOf(ctx);
	if (f === null)
		return;
	const images = f.files('image');
	if (images.length === 0)
		return missing(ctx.res, 'image');
	answerImages(ctx, {
		model: f.field('model') || 'dall-e-2', n: formNumber(f.field('n')),
		size: f.field('size'), responseFormat: f.field('response_format'),
		inputImages: images.length,
	});
}

// ---------------------------------------------------------------- audio in

const LANGUAGES = {
	en: 'english', de: 'german', fr: 'french', es: 'spanish', it: 'italian', pt: 'portuguese',
	nl: 'dutch', ja: 'japanese', zh: 'chinese', ru: 'russian', pl: 'polish', ko: 'korean',
};
const AUDIO_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'];
export const AUDIO_TOKENS_PER_SECOND = 10;

const r3 = (x) => Math.round(x * 1000) / 1000;

function timestamp(sec, sep) {
	const ms = Math.round(sec * 1000);
	const p = (v, w) => String(v).padStart(w, '0');
	return `${p(Math.floor(ms / 3600000), 2)}:${p(Math.floor(ms / 60000) % 60, 2)}:` +
		`${p(Math.floor(ms / 1000) % 60, 2)}${sep}${p(ms % 1000, 3)}`;
}

// POST /audio/transcriptions (task 'transcribe') and /audio/translations
// (task 'translate').
function handleAudioText(ctx, task) {
	const { req, res } = ctx;
	const f = formOf(ctx);
	if (f === null)
		return;
	const model = f.field('model');
	if (model === undefined || model === '')
		return missing(res, 'model');
	const file = f.files('file')[0];
	if (file === undefined)
		return missing(res, 'file');
	const rf = f.field('response_format') || 'json';
	if (!AUDIO_FORMATS.includes(rf))
		return invalid(res, `Invalid value for 'response_format': '${rf}'.`, 'response_format');
	const tokenModel = model.includes('gpt-4o');
	if (tokenModel && rf !== 'json' && rf !== 'text') {
		return invalid(res, `response_format '${rf}' is not compatible with model ` +
			`'${model}'. Use 'json' or 'text'.`, 'response_format', 'unsupported_value');
	}
	const b = behaviourOf(model);
	if (answerFixedBehaviour(b, model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;

	const info = wavInfo(file.data);
	const seconds = info === null ? 1 : info.seconds;
	const words = [];
	if (c.tokensGiven) {
		for (let i = 0; i < c.tokens; i++)
			words.push(tokenText(i));
	} else {
		const noun = task === 'transcribe' ? 'transcript' : 'translation';
		`mock ${noun} of ${file.data.length} bytes`.split(' ')
			.forEach((w, i) => words.push(i === 0 ? w : ` ${w}`));
	}
	const text = words.join('');
	const prompt = f.field('prompt');
	const textTokens = prompt ? estimateTokens(codePoints(prompt)) : 0;
	const audioTokens = Math.max(1, Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND));
	const usage = b === 'mock-no-usage' ? undefined : tokenModel ? {
		type: 'tokens',
		input_tokens: textTokens + audioTokens,
		input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
		output_tokens: words.length,
		total_tokens: textTokens + audioTokens + words.length,
	} : { type: 'duration', seconds: Math.ceil(seconds) };

	// Streaming: gpt-4o transcriptions only; whisper-1 ignores stream, as OpenAI's does.
	if (task === 'transcribe' && tokenModel && f.field('stream') === 'true') {
		const total = words.length + 1;
		const eventAt = (i) => i < words.length
			? sseData({ type: 'transcript.text.delta', delta: words[i] })
			: sseData({ type: 'transcript.text.done', text, ...(usage && { usage }) });
		streamEvents(res, c, total, eventAt, { cutAfter: b === 'mock-cut' ? 2 : Infinity });
		return;
	}

	const plain = (s) => sendLater(res, c, b, 200, 'text/plain; charset=utf-8', s);
	switch (rf) {
	case 'text':
		return plain(`${text}\n`);
	case 'srt':
		return plain(`1\n${timestamp(0, ',')} --> ${timestamp(seconds, ',')}\n${text}\n\n`);
	case 'vtt':
		return plain(`WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(seconds, '.')}\n${text}\n\n`);
	case 'verbose_json': {
		const lang = task === 'translate' ? 'english'
			: LANGUAGES[f.field('language')] ?? f.field('language') ?? 'english';
		const grains = f.fieldAll('timestamp_granularities');
		const obj = { task, language: lang, duration: r3(seconds), text };
		if (grains.length === 0 || grains.includes('segment')) {
			obj.segments = [{
				id: 0, seek: 0, start: 0, end: r3(seconds), text: ` ${text.trimStart()}`,
				tokens: words.map((_, i) => 50364 + i), temperature: 0,
				avg_logprob: -0.25, compression_ratio: 1, no_speech_prob: 0.01,
			}];
		}
		if (grains.includes('word')) {
			obj.words = words.map((w, i) => ({ word: w.trim(),
				start: r3(seconds * i / words.length),
				end: r3(seconds * (i + 1) / words.length) }));
		}
		if (usage !== undefined)
			obj.usage = usage;
		return sendJsonLater(res, c, b, obj);
	}
	default: {
		const obj = { text };
		if (usage !== undefined)
			obj.usage = usage;
		return sendJsonLater(res, c, b, obj);
	}
	}
}

export const handleTranscriptions = (ctx) => handleAudioText(ctx, 'transcribe');
export const handleTranslations = (ctx) => handleAudioText(ctx, 'translate');

// ---------------------------------------------------------------- speech

export const SPEECH_RATE = 24000;		// samples/s of wav and pcm answers
export const SPEECH_SECONDS_PER_CHAR = 0.05;	// audio length per input character
const SPEECH_TYPES = {
	mp3: 'audio/mpeg', opus: 'audio/opus', aac: 'audio/aac', flac: 'audio/flac',
	wav: 'audio/wav', pcm: 'audio/pcm',
};

// Silent MPEG-2 Layer III frames: 24 kHz mono 64 kbit/s, 576 samples and
// 192 bytes each (a 4-byte header and zeroed side info and data).
function silentMp3(samples) {
	const frames = Math.max(1, Math.ceil(samples / 576));
	const frame = Buffer.alloc(192);
	frame.set([0xff, 0xf3, 0x84, 0xc4]);
	return Buffer.concat(Array.from({ length: frames }, () => frame));
}

// The audio of `seconds`, in a format. mp3, wav and pcm are real audio;
// opus, aac and flac are the format's magic bytes then zeros (not
// decodable), of the size a 64 kbit/s stream would have.
function speechAudio(format, seconds) {
	const samples = Math.round(seconds * SPEECH_RATE);
	switch (format) {
	case 'mp3':
		return silentMp3(samples);
	case 'wav':
		return makeWav({ seconds: samples / SPEECH_RATE, sampleRate: SPEECH_RATE });
	case 'pcm':
		return makeWav({ seconds: samples / SPEECH_RATE, sampleRate: SPEECH_RATE }).subarray(44);
	default: {
		const magic = { opus: 'OggS', aac: '\xff\xf1', flac: 'fLaC' }[format];
		const buf = Buffer.alloc(Math.max(16, Math.ceil(seconds * 8000)));
		buf.write(magic, 0, 'latin1');
		return buf;
	}
	}
}

export function handleSpeech(ctx) {
	const { req, res } = ctx;
	const body = jsonObject(ctx);
	if (body === null)
		return;
	if (typeof body.model !== 'string' || body.model === '')
		return missing(res, 'model');
	if (typeof body.input !== 'string')
		return missing(res, 'input');
	if (codePoints(body.input) > 4096) {
		return invalid(res, 'Invalid \'input\': string too long. Expected a string with ' +
			'maximum length 4096.', 'input', 'string_above_max_length');
	}
	if (typeof body.voice !== 'string' || body.voice === '')
		return missing(res, 'voice');
	const format = body.response_format ?? 'mp3';
	if (SPEECH_TYPES[format] === undefined)
		return invalid(res, `Invalid value for 'response_format': '${format}'.`, 'response_format');
	const speed = typeof body.speed === 'number' && body.speed >= 0.25 && body.speed <= 4
		? body.speed : 1;
	const b = behaviourOf(body.model);
	if (answerFixedBehaviour(b, body.model, res))
		return;
	const c = readControls(req, res);
	if (c === null)
		return;
	const audio = speechAudio(format,
		Math.max(1, codePoints(body.input)) * SPEECH_SECONDS_PER_CHAR / speed);
	// At least 4 writes, of at most 4 KiB; chunked, no content-length, as
	// OpenAI streams it. x-mock-delay-ms paces the writes.
	const size = Math.max(1, Math.min(4096, Math.ceil(audio.length / 4)));
	const total = Math.ceil(audio.length / size);
	streamEvents(res, c, total, (i) => audio.subarray(i * size, (i + 1) * size), {
		cutAfter: b === 'mock-cut' ? Math.max(1, Math.floor(total / 2)) : Infinity,
		headers: { 'content-type': SPEECH_TYPES[format] },
		yieldBetween: true,
	});
}
