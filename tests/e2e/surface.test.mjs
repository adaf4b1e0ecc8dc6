// The whole API surface through one relay engine, driven by the official
// OpenAI and Anthropic SDKs under lighttpd and Apache (mod_fcgid and
// mod_proxy_fcgi): every endpoint, streamed and not where it streams, and
// for each one the balance moves by exactly the cost the answer reported.
// Then failover across providers (lighttpd): one down, one rate-limited,
// one out of credit, one that refuses a parameter. Every stack ends with a
// clean audit.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import {
	REPO_ROOT, fundedKey, getJson, mintToken, postJson, prerequisites, rawRequest, startStack,
} from './lib/harness.mjs';
import {
	balanceInfo, bearer, moneyPrerequisites, redeemAtMint, routstrctl, stopAndAudit, tokenValue,
} from './lib/money.mjs';
import { makePng } from '../fakes/png.mjs';
import { freePort } from './lib/servers.mjs';

const WAV = fs.readFileSync(path.join(REPO_ROOT, 'tests', 'data', 'tone-8k-1s.wav'));

// The balance of key (msat).
async function balance(h, key) {
	return (await balanceInfo(h, key)).balance;
}

// Run fn; assert the balance fell by exactly the cost it returns (msat),
// and that the cost is positive. Returns fn's result.
async function costs(h, key, fn) {
	const before = await balance(h, key);
	const { cost, result } = await fn();
	const after = await balance(h, key);
	assert.ok(Number.isInteger(cost) && cost > 0, `reported cost ${cost}`);
	assert.equal(before - after, cost, `balance moved ${before - after}, answer said ${cost}`);
	return result;
}

const headerCost = (response) => Number(response.headers.get('x-routstr-cost-msats'));

// POST a streaming request and collect its SSE events as { event, data }.
async function sse(url, body, headers) {
	const r = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(20000),
	});
	assert.equal(r.status, 200, await r.clone().text());
	assert.match(r.headers.get('content-type'), /text\/event-stream/);
	const text = await r.text();
	const events = [];
	for (const block of text.split('\n\n')) {
		let event = '';
		const data = [];
		for (const line of block.split('\n')) {
			if (line.startsWith('event:'))
				event = line.slice(6).trim();
			else if (line.startsWith('data:'))
				data.push(line.slice(5).trimStart());
		}
		if (data.length)
			events.push({ event, data: data.join('\n') });
	}
	return events;
}

function surface(setup) {
	const pre = prerequisites([setup]);
	const money = moneyPrerequisites([setup]);

	describe(`API surface under ${setup}`, { skip: pre.skip || money.skip }, () => {
		let h;
		let key;
		let openai;
		let anthropic;

		before(async () => {
			h = await startStack(setup);
			key = await fundedKey(h, 20000);
			openai = new OpenAI({ baseURL: `${h.baseUrl}/v1`, apiKey: key, maxRetries: 0,
				timeout: 20000 });
			anthropic = new Anthropic({ baseURL: h.baseUrl, apiKey: key, maxRetries: 0,
				timeout: 20000 });
		});
		after(async () => {
			if (h)
				await stopAndAudit(h);
		});

		it('chat completions, whole and streamed', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.chat.completions.create({
					model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
				}, { headers: { 'x-mock-tokens': '4' } }).withResponse();
				assert.equal(data.choices[0].message.content, 'tok0 tok1 tok2 tok3');
				assert.equal(data.provider, 'generic');
				assert.equal(data.usage.cost.total_msats, headerCost(response));
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const stream = await openai.chat.completions.create({
					model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
					stream: true, stream_options: { include_usage: true },
				}, { headers: { 'x-mock-tokens': '5' } });
				let text = '';
				let usage;
				for await (const c of stream) {
					text += c.choices[0]?.delta?.content ?? '';
					usage = c.usage ?? usage;
				}
				assert.equal(text, 'tok0 tok1 tok2 tok3 tok4');
				return { cost: usage.cost.total_msats };
			});
		});

		it('legacy completions, whole and streamed', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.completions.create({
					model: 'mock-model', prompt: 'Say', max_tokens: 10,
				}, { headers: { 'x-mock-tokens': '3' } }).withResponse();
				assert.equal(data.object, 'text_completion');
				assert.equal(data.usage.completion_tokens, 3);
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const stream = await openai.completions.create({
					model: 'mock-model', prompt: 'Say', stream: true,
					stream_options: { include_usage: true },
				}, { headers: { 'x-mock-tokens': '3' } });
				let text = '';
				let usage;
				for await (const c of stream) {
					text += c.choices[0]?.text ?? '';
					usage = c.usage ?? usage;
				}
				assert.ok(text.length > 0);
				assert.equal(usage.completion_tokens, 3);
				return { cost: usage.cost.total_msats };
			});
		});

		it('embeddings and moderations', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.embeddings.create({
					model: 'mock-embedding', input: ['one', 'two'],
				}).withResponse();
				assert.equal(data.data.length, 2);
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const { data, response } = await openai.moderations.create({
					model: 'omni-moderation-latest', input: 'a mock-flag text',
				}).withResponse();
				assert.equal(data.results[0].flagged, true);
				return { cost: headerCost(response) };
			});
		});

		it('responses, whole and streamed (usage from response.completed)', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.responses.create({
					model: 'mock-model', input: 'Say hello',
				}, { headers: { 'x-mock-tokens': '4' } }).withResponse();
				assert.equal(data.output_text, 'tok0 tok1 tok2 tok3');
				assert.equal(data.usage.output_tokens, 4);
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const stream = await openai.responses.create({
					model: 'mock-model', input: 'Say hello', stream: true,
				}, { headers: { 'x-mock-tokens': '4' } });
				let text = '';
				let done;
				for await (const ev of stream) {
					if (ev.type === 'response.output_text.delta')
						text += ev.delta;
					if (ev.type === 'response.completed')
						done = ev;
				}
				assert.equal(text, 'tok0 tok1 tok2 tok3');
				assert.ok(done, 'response.completed came, last');
				assert.equal(done.response.usage.output_tokens, 4);
				assert.equal(done.response.model, 'mock-model');
				return { cost: done.cost.total_msats };
			});
		});

		it('images: generation (JSON) and an edit (multipart)', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.images.generate({
					model: 'gpt-image-1', prompt: 'a red square', n: 2,
				}).withResponse();
				assert.equal(data.data.length, 2);
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const { data, response } = await openai.images.edit({
					model: 'gpt-image-1', prompt: 'bluer',
					image: await toFile(makePng(4, 4, [255, 0, 0]), 'red.png', { type: 'image/png' }),
				}).withResponse();
				assert.equal(data.data.length, 1);
				const sent = await (await fetch(`http://127.0.0.1:${h.mock.port}/_mock/last?path=/v1/images/edits`)).json();
				assert.equal(sent.form.fields.model, 'gpt-image-1');
				assert.equal(sent.form.files[0].filename, 'red.png');
				return { cost: headerCost(response) };
			});
		});

		it('audio: transcription and translation of a real WAV, byte for byte', async () => {
			await costs(h, key, async () => {
				const { data, response } = await openai.audio.transcriptions.create({
					model: 'gpt-4o-mini-transcribe',
					file: await toFile(WAV, 'tone.wav', { type: 'audio/wav' }),
				}).withResponse();
				assert.match(data.text, /mock transcript/);
				assert.equal(data.usage.type, 'tokens');
				const sent = await (await fetch(`http://127.0.0.1:${h.mock.port}/_mock/last?path=/v1/audio/transcriptions`)).json();
				assert.equal(sent.form.files[0].bytes, WAV.length);
				return { cost: headerCost(response) };
			});
			await costs(h, key, async () => {
				const { data, response } = await openai.audio.translations.create({
					model: 'whisper-1',
					file: await toFile(WAV, 'tone.wav', { type: 'audio/wav' }),
				}).withResponse();
				assert.match(data.text, /mock translation/);
				return { cost: headerCost(response) };
			});
		});

		it('audio: speech streams its binary answer back', async () => {
			const before = await balance(h, key);
			const res = await openai.audio.speech.create({
				model: 'tts-1', voice: 'alloy', input: 'hello world', response_format: 'wav',
			});
			assert.equal(res.headers.get('content-type'), 'audio/wav');
			const buf = Buffer.from(await res.arrayBuffer());
			assert.equal(buf.subarray(0, 4).toString(), 'RIFF');
			// The cost cannot ride a binary answer: read it from the ledger
			// (the answer is complete, so the request is settled).
			const spent = before - await balance(h, key);
			assert.ok(spent > 0, `speech cost ${spent}`);
		});

		it('Anthropic messages, whole and streamed, and count_tokens', async () => {
			await costs(h, key, async () => {
				const { data, response } = await anthropic.messages.create({
					model: 'claude-mock', max_tokens: 50,
					messages: [{ role: 'user', content: 'hi' }],
				}, { headers: { 'x-mock-tokens': '3', 'x-mock-cache-read': '7' } }).withResponse();
				assert.equal(data.type, 'message');
				assert.equal(data.usage.output_tokens, 3);
				assert.equal(data.usage.cache_read_input_tokens, 7);
				return { cost: headerCost(response) };
			});
			// The SDK streams it; the cost comes after message_stop as an
			// "event: cost" the SDK skips, so the raw stream is read too.
			const stream = anthropic.messages.stream({
				model: 'claude-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }],
			}, { headers: { 'x-mock-tokens': '4' } });
			const msg = await stream.finalMessage();
			assert.equal(msg.content[0].text, 'tok0 tok1 tok2 tok3');
			assert.equal(msg.usage.output_tokens, 4);
			await costs(h, key, async () => {
				const events = await sse(`${h.baseUrl}/v1/messages`, {
					model: 'claude-mock', max_tokens: 50, stream: true,
					messages: [{ role: 'user', content: 'hi' }],
				}, { ...bearer(key), 'anthropic-version': '2023-06-01', 'x-mock-tokens': '4' });
				assert.deepEqual(events.slice(0, 1).map((e) => e.event), ['message_start']);
				const last = events[events.length - 1];
				assert.equal(last.event, 'cost');
				const c = JSON.parse(last.data);
				assert.equal(c.usage.output_tokens, 4);
				return { cost: c.cost.total_msats };
			});
			const before = await balance(h, key);
			const n = await anthropic.messages.countTokens({
				model: 'claude-mock', messages: [{ role: 'user', content: 'hello there' }],
			});
			assert.ok(n.input_tokens > 0);
			assert.equal(await balance(h, key), before, 'count_tokens is free');
		});

		it('X-Cashu pays for other endpoints too: embeddings (JSON) and a transcription (multipart)', async () => {
			for (const run of [
				async (tok) => openai.embeddings.create({ model: 'mock-embedding', input: 'one two' },
					{ headers: { 'x-cashu': tok, authorization: '' } }).withResponse(),
				async (tok) => openai.audio.transcriptions.create({ model: 'gpt-4o-mini-transcribe',
					file: await toFile(WAV, 'tone.wav', { type: 'audio/wav' }) },
					{ headers: { 'x-cashu': tok, authorization: '' } }).withResponse(),
			]) {
				const tok = await mintToken(h, 30);
				const { response } = await run(tok);
				const charged = headerCost(response);
				const change = response.headers.get('x-cashu');
				assert.ok(charged > 0 && change && change !== tok, `${charged} ${change}`);
				const back = tokenValue(change);
				assert.equal(back, Math.floor((30000 - charged) / 1000));
				assert.equal(await redeemAtMint(h, change), back);
			}
		});

		it('parameters that raise the upstream\'s price are refused at the door', async () => {
			for (const extra of [{ service_tier: 'priority' }, { models: ['mock-model', 'mock-model-large'] }]) {
				const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
					model: 'mock-model', messages: [{ role: 'user', content: 'hi' }], ...extra,
				}, bearer(key));
				assert.equal(r.status, 400, r.text);
			}
			const ok = await postJson(`${h.baseUrl}/v1/chat/completions`, {
				model: 'mock-model', messages: [{ role: 'user', content: 'hi' }], service_tier: 'flex',
			}, bearer(key));
			assert.equal(ok.status, 200, ok.text);
		});

		it('a count that is not a clean integer is refused, not read as 1', async () => {
			for (const n of ['4', 4.5, 0, 129]) {
				const r = await postJson(`${h.baseUrl}/v1/images/generations`, {
					model: 'gpt-image-1', prompt: 'x', n,
				}, bearer(key));
				assert.equal(r.status, 400, `${n}: ${r.text}`);
			}
		});

		it('non-streamed answers carry X-Routstr-Cost-Usd', async () => {
			const { response } = await openai.chat.completions.create({
				model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
			}).withResponse();
			assert.match(response.headers.get('x-routstr-cost-usd') ?? '', /^0\.[0-9]+$/);
		});

		it('an upstream 429 is UPSTREAM_RATE_LIMIT with its details; 5xx names the upstream', async () => {
			const before = await balance(h, key);
			const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
				model: 'mock-error-429', messages: [{ role: 'user', content: 'hi' }],
			}, bearer(key));
			assert.equal(r.status, 429, r.text);
			assert.equal(r.headers.get('retry-after'), '2');
			assert.equal(r.json.error.code, 'UPSTREAM_RATE_LIMIT');
			const d = r.json.error.details;
			assert.equal(d.code, 'UPSTREAM_RATE_LIMIT');
			assert.equal(d.model, 'mock-error-429');
			assert.equal(d.retry_after_seconds, 2);
			assert.ok(Number.isInteger(d.limit) && Number.isInteger(d.requested), JSON.stringify(d));
			const s = await postJson(`${h.baseUrl}/v1/chat/completions`, {
				model: 'mock-error-502', messages: [{ role: 'user', content: 'hi' }],
			}, bearer(key));
			assert.equal(s.status, 502, s.text);
			assert.match(s.json.error.message, /^Upstream generic returned 502 for model mock-error-502: /);
			assert.equal(s.json.error.upstream_status, 502);
			assert.equal(await balance(h, key), before, 'errors are not charged');
		});

		it('GET /v1/models/{id}, an unknown model, and a passthrough naming none', async () => {
			const m = await openai.models.retrieve('mock-model');
			assert.equal(m.id, 'mock-model');
			// Routstr's discovery routes
			const paths = (await getJson(`${h.baseUrl}/v1/models/paths`)).json;
			const mp = paths.data.find((x) => x.id === 'mock-model');
			assert.equal(mp.paths[0].provider.slug, 'generic');
			assert.match(mp.paths[0].path, /^url=http%3A%2F%2F127\.0\.0\.1%3A[0-9]+%2Fv1&provider-id=[0-9]+&model-id=mock-model$/);
			const one = await getJson(`${h.baseUrl}/v1/models/paths/model?model_id=openai%2Fmock-model`);
			assert.equal(one.status, 200, one.text);
			assert.deepEqual(one.json.data, mp.paths);
			const none = await getJson(`${h.baseUrl}/v1/models/paths/model?model_id=nope`);
			assert.equal(none.status, 404);
			assert.equal(none.json.detail, 'Model not found');
			assert.equal((await getJson(`${h.baseUrl}/v1/models/paths/model`)).status, 422);
			await assert.rejects(openai.models.retrieve('no-such-model'),
				(e) => e instanceof OpenAI.NotFoundError);
			const r = await postJson(`${h.baseUrl}/v1/some/custom/endpoint`, { model: 'nope' },
				bearer(key));
			assert.equal(r.status, 400, r.text);
			assert.equal(r.json.error.type, 'invalid_model');
			// a passthrough to a path the upstream does not know: its 404,
			// and nothing charged
			const before = await balance(h, key);
			const p = await postJson(`${h.baseUrl}/v1/some/custom/endpoint`, { model: 'mock-model' },
				bearer(key));
			assert.equal(p.status, 404, p.text);
			assert.equal(await balance(h, key), before);
		});
		// Last: Apache gives up on some of these malformed requests while
		// it relays them, which can cost one pooled connection to routstr
		// (apache-example.conf's retry=0 makes the next request reconnect).
		it('paths that could reach another endpoint are refused; /v1/v1/messages is messages', async () => {
			// Sent as written (fetch would resolve dot segments itself).
			const body = JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] });
			for (const p of ['/v1/chat/completions%3F', '/v1/chat/completions%23x',
				'/v1/x/%2e%2e/chat/completions', '/v1/x/../chat/completions', '/v1//chat/completions',
				'/v1/files%2F..%2Fchat%2Fcompletions', '/v1/x/./chat/completions']) {
				const r = await rawRequest(h.port, `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
					`Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
					`Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
				assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status} ${r.body.slice(0, 200)}`);
				assert.doesNotMatch(r.body, /chat\.completion/, p);
			}
			const m = await postJson(`${h.baseUrl}/v1/v1/messages`, {
				model: 'claude-mock', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
			}, { ...bearer(key), 'anthropic-version': '2023-06-01' });
			assert.equal(m.status, 200, m.text);
			assert.equal(m.json.type, 'message');
		});
	});
}

for (const setup of ['lighttpd', 'apache-fcgid', 'apache-proxy-fcgi'])
	surface(setup);

// A mock upstream with provider flags (tests/fakes/README.md).
async function startProviderMock(args) {
	const script = path.join(REPO_ROOT, 'tests', 'fakes', 'mock-upstream.mjs');
	const proc = spawn(process.execPath, [script, '--port', '0', ...args],
		{ stdio: ['ignore', 'pipe', 'pipe'] });
	const port = await new Promise((resolve, reject) => {
		const rl = readline.createInterface({ input: proc.stdout });
		rl.once('line', (line) => resolve(JSON.parse(line).port));
		proc.once('exit', (code) => reject(new Error(`mock exited ${code}`)));
	});
	const root = `http://127.0.0.1:${port}`;
	return {
		url: `${root}/v1`,
		requests: async () => (await (await fetch(`${root}/_mock/stats`)).json()).requests,
		stop: () => proc.kill('SIGTERM'),
	};
}

describe('failover across providers under lighttpd', { skip: prerequisites(['lighttpd']).skip ||
    moneyPrerequisites(['lighttpd']).skip }, () => {
	let h;
	let key;
	const mocks = [];

	before(async () => {
		h = await startStack('lighttpd');
		key = await fundedKey(h, 5000);
	});
	after(async () => {
		for (const m of mocks)
			m.stop();
		if (h)
			await stopAndAudit(h);
	});

	const add = (args) => {
		const r = routstrctl(h, ['provider', 'add', ...args]);
		assert.equal(r.status, 0, r.out);
	};

	it('a down, a rate-limited and an out-of-credit provider fail over; the client pays once', async () => {
		const rl = await startProviderMock(['--name', 'rl', '--status', '429']);
		const broke = await startProviderMock(['--name', 'broke', '--status', '402']);
		mocks.push(rl, broke);
		const closed = await freePort();
		add(['down', 'openai', `http://127.0.0.1:${closed}/v1`, '-p', '-3']);
		add(['rl', 'openai', rl.url, '-p', '-2']);
		add(['broke', 'openrouter', broke.url, '-p', '-1']);
		const list = routstrctl(h, ['provider', 'list']);
		assert.match(list.out, /down[\s\S]*rl[\s\S]*broke/);
		await costs(h, key, async () => {
			const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
				model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
			}, { ...bearer(key), 'x-mock-tokens': '2' });
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.provider, 'generic', 'served by the env provider, last in line');
			return { cost: Number(r.headers.get('x-routstr-cost-msats')) };
		});
		assert.equal(await rl.requests(), 1);
		assert.equal(await broke.requests(), 1);
		// With the env provider off, every candidate fails: the last
		// one's error is relayed and nothing is charged.
		routstrctl(h, ['provider', 'disable', 'generic']);
		const before = await balance(h, key);
		const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
		}, bearer(key));
		assert.ok([402, 429, 502].includes(r.status), `${r.status} ${r.text}`);
		assert.equal(await balance(h, key), before);
		routstrctl(h, ['provider', 'enable', 'generic']);
		for (const s of ['down', 'rl', 'broke'])
			routstrctl(h, ['provider', 'remove', s]);
	});

	it('an Anthropic provider gets x-api-key and serves only the Messages API', async () => {
		const anth = await startProviderMock(['--name', 'anth', '--anthropic-auth', 'ak-test-123']);
		mocks.push(anth);
		add(['anth', 'anthropic', anth.url, '-k', 'ak-test-123', '-p', '-5']);
		const m = await postJson(`${h.baseUrl}/v1/messages`, {
			model: 'claude-mock', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }],
		}, { ...bearer(key), 'anthropic-version': '2023-06-01' });
		assert.equal(m.status, 200, m.text);
		assert.equal(m.json.provider, 'anth');
		const c = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'claude-mock', messages: [{ role: 'user', content: 'hi' }],
		}, bearer(key));
		assert.equal(c.status, 200, c.text);
		assert.equal(c.json.provider, 'generic', 'not an OpenAI-API provider');
		assert.equal(await anth.requests(), 1);
		routstrctl(h, ['provider', 'remove', 'anth']);
	});

	it('a provider that refuses max_tokens gets it as max_completion_tokens; a 401 fails over', async () => {
		const strict = await startProviderMock(['--name', 'strict', '--reject-param', 'max_tokens']);
		const badkey = await startProviderMock(['--name', 'badkey', '--status', '401']);
		mocks.push(strict, badkey);
		add(['badkey', 'openai', badkey.url, '-p', '-9']);
		add(['strict', 'openai', strict.url, '-p', '-8']);
		const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'mock-model', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }],
		}, { ...bearer(key), 'x-mock-tokens': '9' });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.provider, 'strict');
		assert.equal(await badkey.requests(), 1);
		const sent = await (await fetch(strict.url.replace('/v1', '/_mock/last?path=/v1/chat/completions'))).json();
		assert.equal(sent.body.max_completion_tokens, 3);
		assert.equal(sent.body.max_tokens, undefined);
		// With only the provider whose key is refused: 502, not the
		// upstream's 401 (which an SDK would read as its own key).
		routstrctl(h, ['provider', 'remove', 'strict']);
		routstrctl(h, ['provider', 'disable', 'generic']);
		const b = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
		}, bearer(key));
		assert.equal(b.status, 502, b.text);
		assert.equal(b.json.error.upstream_status, 401);
		routstrctl(h, ['provider', 'enable', 'generic']);
		routstrctl(h, ['provider', 'remove', 'badkey']);
	});

	it('a provider that refuses a parameter gets the request again without it', async () => {
		const picky = await startProviderMock(['--name', 'picky', '--reject-param', 'logprobs']);
		mocks.push(picky);
		add(['picky', 'openai', picky.url]);
		assert.equal(routstrctl(h, ['provider', 'map', 'picky', 'mock-model-large']).status, 0);
		const r = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'mock-model-large', logprobs: true, messages: [{ role: 'user', content: 'hi' }],
		}, bearer(key));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.provider, 'picky');
		assert.equal(await picky.requests(), 2);
		routstrctl(h, ['provider', 'remove', 'picky']);
	});
});
