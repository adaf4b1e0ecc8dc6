// The paid chat relay against a hostile client: prompts hidden outside
// "content", NUL characters in strings, headers meant for the upstream,
// parameters of the wrong type, and a process killed mid-stream. One node
// under lighttpd, in front of the mock upstream, the test mint and the fake
// ticker; every balance is checked, and the run ends with a clean
// `routstrctl audit`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UPSTREAM_API_KEY, assertEnvelope, fundedKey, postJson, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, balanceInfo, bearer, chat, chatBody, expectedCost, expectedReservation,
	moneyPrerequisites, readStream, routstrctl, stopAndAudit, waitBalance,
} from './lib/money.mjs';

const FEES = { exchangeFee: '1.01', providerFee: '1.1' };
const CONF = {
	EXCHANGE_FEE: FEES.exchangeFee,
	UPSTREAM_PROVIDER_FEE: FEES.providerFee,
	TOLERANCE_PERCENTAGE: '1.0',
	MIN_REQUEST_MSAT: 1,
};
const cost = (model, prompt, completion) =>
	Number(expectedCost({ model, prompt, completion, ...FEES }).total);
const reservation = (model, promptChars, maxTokens) =>
	Number(expectedReservation({ model, promptChars, maxTokens, ...FEES, tolerance: '1.0' }));

const BIG = 'x'.repeat(400 * 1024);	// 400 KB of prompt

// Request bodies that hide BIG outside "content", each with a tiny visible
// prompt and max_tokens 10, so only the hidden text can make them costly.
const HIDDEN = {
	'a message name': {
		messages: [{ role: 'user', name: BIG, content: 'hi' }],
	},
	'an image_url': {
		messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' },
			{ type: 'image_url', image_url: { url: `data:image/png;base64,${BIG}` } }] }],
	},
	'tool_calls arguments': {
		messages: [{ role: 'user', content: 'hi' },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
				function: { name: 'f', arguments: BIG } }] },
			{ role: 'tool', tool_call_id: 'call_1', content: 'ok' }],
	},
	'a tool description': {
		messages: [{ role: 'user', content: 'hi' }],
		tools: [{ type: 'function', function: { name: 'f', description: BIG,
			parameters: { type: 'object', properties: {} } } }],
	},
	'a tool schema property name': {
		messages: [{ role: 'user', content: 'hi' }],
		tools: [{ type: 'function', function: { name: 'f',
			parameters: { type: 'object', properties: { [BIG]: { type: 'string' } } } } }],
	},
	'a legacy function': {
		messages: [{ role: 'user', content: 'hi' }],
		functions: [{ name: 'f', description: BIG }],
	},
};
const hidden = (where) => ({ model: 'mock-model-large', max_tokens: 10, ...HIDDEN[where] });

const pre = moneyPrerequisites(['lighttpd']);

describe('billing hardening under lighttpd', { skip: pre.skip }, () => {
	let h;

	before(async () => {
		h = await startStack('lighttpd', { conf: CONF });
	});
	after(async () => {
		if (!h)
			return;
		const { audit } = await stopAndAudit(h);
		process.stderr.write(audit);
	});

	// The upstream's request count, to prove a refused request never reached it.
	const upstreamRequests = async () => (await h.mock.stats()).requests;

	describe('a prompt hidden outside "content" is reserved for', () => {
		for (const where of Object.keys(HIDDEN)) {
			it(`${where}: a 2-sat key gets 402 before the upstream is called`, async () => {
				const key = await fundedKey(h, 2);
				const n0 = await upstreamRequests();
				const r = await chat(h, hidden(where), { ...bearer(key), 'x-mock-prompt-tokens': 'bytes' });
				assertEnvelope(r, 402, 'insufficient_quota', 'insufficient_balance');
				assert.equal(await upstreamRequests(), n0, 'the upstream was not called');
				const info = await balanceInfo(h, key);
				assert.equal(info.balance, 2000);
				assert.equal(info.reserved, 0);
			});
		}

		it('each place, on a key that covers it: charged exactly what the upstream reports, nothing forgiven', async (t) => {
			const key = await fundedKey(h, 3000);
			for (const where of Object.keys(HIDDEN)) {
				const b0 = (await balanceInfo(h, key)).balance;
				const r = await chat(h, hidden(where),
					{ ...bearer(key), 'x-mock-tokens': '3', 'x-mock-prompt-tokens': 'bytes' });
				assert.equal(r.status, 200, `${where}: ${r.text.slice(0, 300)}`);
				const prompt = r.json.usage.prompt_tokens;
				assert.ok(prompt > 100000, `${where}: the upstream counted ${prompt} prompt tokens`);
				const want = cost('mock-model-large', prompt, 3);
				const b1 = (await balanceInfo(h, key)).balance;
				assert.equal(b0 - b1, want, `${where}: balance delta`);
				assert.equal(Number(r.headers.get('x-routstr-cost-msats')), want, `${where}: header`);
				assert.equal(r.json.usage.cost.total_msats, want, `${where}: usage.cost`);
				t.diagnostic(`${where}: ${prompt} prompt tokens, charged ${want} msat`);
			}
		});

		it('a usage beyond the reservation: header, usage.cost and balance say what was taken, not the forgiven cost', async () => {
			const key = await fundedKey(h, 2);
			const r = await chat(h, chatBody({ model: 'mock-model-large', max_tokens: 10 }),
				{ ...bearer(key), 'x-mock-tokens': '3', 'x-mock-prompt-tokens': '100011' });
			assert.equal(r.status, 200, r.text.slice(0, 300));
			assert.ok(cost('mock-model-large', 100011, 3) > 2000, 'the real cost is more than the key holds');
			const info = await balanceInfo(h, key);
			const taken = 2000 - info.balance;
			assert.equal(taken, 2000, 'the free balance is taken');
			assert.equal(info.reserved, 0);
			assert.equal(Number(r.headers.get('x-routstr-cost-msats')), taken);
			assert.equal(Number(r.headers.get('x-routstr-input-cost-msats')) +
				Number(r.headers.get('x-routstr-output-cost-msats')), taken);
			assert.equal(r.json.usage.cost.total_msats, taken);
			assert.equal(r.json.usage.cost_sats, 2);
			assert.equal(r.json.cost.total_msats, taken);
			assert.equal(r.json.usage.remaining_balance_msats, 0);
			assert.equal(r.headers.get('x-routstr-cost-usd'), null, 'no USD figure of the uncharged cost');
		});
	});

	describe('NUL characters and the model name', () => {
		it('"\\u0000" in the model, a content, a name or a key: 400 invalid_request_error, nothing reserved, upstream not called', async () => {
			const key = await fundedKey(h, 100);
			const n0 = await upstreamRequests();
			const bodies = [
				'{"model":"mock-model\\u0000-words-300","messages":[{"role":"user","content":"hi"}]}',
				'{"model":"mock-model","messages":[{"role":"user","content":"hi\\u0000there"}]}',
				'{"model":"mock-model","messages":[{"role":"user","name":"a\\u0000b","content":"hi"}]}',
				'{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"metadata":{"k\\u0000":"v"}}',
			];
			for (const body of bodies) {
				const r = await postJson(`${h.baseUrl}/v1/chat/completions`, body, bearer(key));
				assertEnvelope(r, 400, 'invalid_request_error', 'invalid_json');
			}
			assert.equal(await upstreamRequests(), n0, 'the upstream was not called');
			const info = await balanceInfo(h, key);
			assert.equal(info.balance, 100000);
			assert.equal(info.reserved, 0);
			// An escaped backslash before "u0000" is text, not a NUL.
			const ok = await postJson(`${h.baseUrl}/v1/chat/completions`,
				'{"model":"mock-model","messages":[{"role":"user","content":"a\\\\u0000b"}]}',
				{ ...bearer(key), 'x-mock-tokens': '1' });
			assert.equal(ok.status, 200, ok.text.slice(0, 300));
			assert.equal((await h.mock.last()).body.messages[0].content, 'a\\u0000b');
		});

		it('the upstream receives the catalogue id the request was priced by, not the client\'s spelling', async () => {
			const key = await fundedKey(h, 100);
			for (const [model, stream] of [['MOCK-Model', false], ['Mock-Model', true]]) {
				const body = chatBody({ model, max_tokens: 50, stream });
				if (stream) {
					const s = await readStream(h, body, { ...bearer(key), 'x-mock-tokens': '1' });
					assert.equal(s.status, 200);
				} else {
					const r = await chat(h, body, { ...bearer(key), 'x-mock-tokens': '1' });
					assert.equal(r.status, 200, r.text.slice(0, 300));
				}
				assert.equal((await h.mock.last()).body.model, 'mock-model', model);
			}
		});
	});

	it('client headers: only content negotiation and provider API-version headers reach the upstream', async () => {
		const key = await fundedKey(h, 100);
		const sent = {
			'openai-organization': 'org-client',
			'openai-project': 'proj-client',
			'x-api-key': 'client-anthropic-key',
			'api-key': 'client-azure-key',
			forwarded: 'for=203.0.113.7',
			'x-forwarded-for': '203.0.113.7',
			'x-real-ip': '203.0.113.7',
			cookie: 'session=client',
			'x-stainless-os': 'Linux',
			'x-stainless-lang': 'js',
			'user-agent': 'client-agent/1.0',
			'x-something-else': 'client',
		};
		const r = await chat(h, chatBody({ max_tokens: 20 }), {
			...bearer(key), ...sent, 'x-mock-tokens': '1',
			accept: 'application/json', 'openai-beta': 'assistants=v2',
			'anthropic-version': '2023-06-01',
		});
		assert.equal(r.status, 200, r.text.slice(0, 300));
		const seen = (await h.mock.last()).headers;
		for (const name of Object.keys(sent))
			assert.equal(seen[name], undefined, `${name} reached the upstream: ${seen[name]}`);
		assert.equal(seen.authorization, `Bearer ${UPSTREAM_API_KEY}`, 'the operator key is the credential');
		assert.equal(seen['openai-beta'], 'assistants=v2');
		assert.equal(seen['anthropic-version'], '2023-06-01');
		assert.equal(seen.accept, 'application/json');
		assert.match(seen['content-type'], /^application\/json/);
		assert.equal(seen['x-cashu'], undefined);
	});

	it('stream, stream_options, max_tokens and max_completion_tokens of the wrong type: 400, the balance does not move', async () => {
		const key = await fundedKey(h, 100);
		const n0 = await upstreamRequests();
		const cases = [
			[{ stream: 1 }, 'invalid_stream'],
			[{ stream: 'yes' }, 'invalid_stream'],
			[{ stream: true, stream_options: 'usage' }, 'invalid_stream_options'],
			[{ stream: true, stream_options: [true] }, 'invalid_stream_options'],
			[{ max_tokens: -1 }, 'invalid_max_tokens'],
			[{ max_tokens: 1.5 }, 'invalid_max_tokens'],
			[{ max_tokens: '10' }, 'invalid_max_tokens'],
			[{ max_completion_tokens: -5 }, 'invalid_max_completion_tokens'],
			[{ max_completion_tokens: 'many' }, 'invalid_max_completion_tokens'],
		];
		for (const [extra, code] of cases) {
			const r = await chat(h, chatBody(extra), bearer(key));
			assertEnvelope(r, 400, 'invalid_request_error', code);
		}
		assert.equal(await upstreamRequests(), n0, 'the upstream was not called');
		const info = await balanceInfo(h, key);
		assert.equal(info.balance, 100000);
		assert.equal(info.reserved, 0);
		assert.equal(info.total_requests, 0);
		// null is "absent", as OpenAI takes it.
		const ok = await chat(h, chatBody({ stream: null, stream_options: null, max_tokens: 20 }),
			{ ...bearer(key), 'x-mock-tokens': '1' });
		assert.equal(ok.status, 200, ok.text.slice(0, 300));
	});

	it('max_tokens and max_completion_tokens both given: the larger one bounds the reservation', async () => {
		const key = await fundedKey(h, 2);
		const chars = 'Say hello.'.length;
		assert.ok(reservation('mock-model', chars, 10) <= 2000);
		assert.ok(reservation('mock-model', chars, 16384) > 2000);
		const r = await chat(h, chatBody({ max_tokens: 10, max_completion_tokens: 16384 }), bearer(key));
		assertEnvelope(r, 402, 'insufficient_quota', 'insufficient_balance');
		assert.match(r.json.error.message, new RegExp(`\\(${reservation('mock-model', chars, 16384)} msats\\) required`));
	});

	it('routstr.fcgi killed -9 two seconds into a stream: the sweeper charges what was delivered (> 0, <= the reservation)', async (t) => {
		const key = await fundedKey(h, 100);
		const body = chatBody({ stream: true, max_tokens: 500 });
		const res = reservation('mock-model', 'Say hello.'.length, 500);
		const pids = h.server.routstrPids();
		assert.ok(pids.length > 0, 'routstr.fcgi is running');
		// 60 tokens, one every 100 ms: a 6-second stream.
		const running = readStream(h, body, { ...bearer(key), 'x-mock-tokens': '60', 'x-mock-delay-ms': '100' },
			{ timeoutMs: 15000 }).catch((e) => ({ error: e }));
		const mid = await waitBalance(h, key, (i) => i.reserved > 0, 3000);
		assert.equal(mid.reserved, res, 'reserved while streaming');
		await new Promise((r) => setTimeout(r, 2000));
		for (const pid of pids)
			process.kill(pid, 'SIGKILL');
		await running;	// cut off by the kill
		// The process is gone; its reservation is still held until the sweep.
		const sw = routstrctl(h, ['cron']);
		assert.equal(sw.status, 0, sw.out);
		const info = await waitBalance(h, key, (i) => i.reserved === 0, 10000);
		assert.equal(info.reserved, 0, 'the sweeper settled the reservation');
		const charged = 100000 - info.balance;
		t.diagnostic(`charged ${charged} msat of a ${res} msat reservation; cron: ${sw.out.trim()}`);
		assert.ok(charged > 0, `a killed stream is not free (charged ${charged})`);
		assert.ok(charged <= res, `charged ${charged} <= reservation ${res}`);
		// At least the prompt and the first output (recorded as it is delivered).
		assert.ok(charged >= cost('mock-model', 4, 2), `charged ${charged}`);
		assertAuditClean(h, 'after the kill and the sweep');
	});
});
