// The paid path end to end: routstr.fcgi under lighttpd, in front of the mock
// upstream, the Node test mint and the fake BTC ticker (100 000 USD/BTC).
// Keys are made from test-mint tokens; every charge is recomputed by hand
// (lib/money.mjs expectedCost, exact BigInt arithmetic) and compared with what
// the client sees and what the balance says. The run ends with
// `routstrctl audit` on the database, which must be clean.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import {
	assertEnvelope, fundedKey, getJson, mintToken, postJson, startStack,
} from './lib/harness.mjs';
import {
	assertAuditClean, balanceInfo, bearer, chat, chatBody, expectedCost, expectedReservation,
	mintWallet, moneyPrerequisites, readStream, redeemAtMint, routstrctl, stopAndAudit, tokenValue,
	waitBalance,
} from './lib/money.mjs';

// Fees different from the defaults (1.005, 1.05), so the test proves they are read.
const FEES = { exchangeFee: '1.01', providerFee: '1.1' };
const CONF = {
	EXCHANGE_FEE: FEES.exchangeFee,
	UPSTREAM_PROVIDER_FEE: FEES.providerFee,
	TOLERANCE_PERCENTAGE: '1.0',
	MIN_REQUEST_MSAT: 1,
};
const PROMPT = 'Say hello.';	// 10 code points

// Tokens the mock reports for a prompt: ceil(code points / 4), at least 1.
const mockPromptTokens = (s) => Math.max(1, Math.ceil([...s].length / 4));
const cost = (model, prompt, completion) =>
	Number(expectedCost({ model, prompt, completion, ...FEES }).total);
const reservation = (model, promptChars, maxTokens) =>
	Number(expectedReservation({ model, promptChars, maxTokens, ...FEES, tolerance: '1.0' }));

const pre = moneyPrerequisites(['lighttpd']);

describe('money under lighttpd: keys, charges, streams, refunds', { skip: pre.skip }, () => {
	let h;

	before(async () => {
		h = await startStack('lighttpd', { conf: CONF });
	});
	after(async () => {
		if (!h)
			return;
		const { report, audit } = await stopAndAudit(h);
		assert.deepEqual(report.forced, [], `clean stop: ${JSON.stringify(report)}`);
		process.stderr.write(audit);
	});

	it('create (GET, POST, implicit Bearer cashu), idempotent; chat; top-up; refund; history', async () => {
		const tok = await mintToken(h, 100);
		const g = await getJson(`${h.baseUrl}/v1/balance/create?initial_balance_token=${encodeURIComponent(tok)}`);
		assert.equal(g.status, 200, g.text);
		assert.match(g.json.api_key, /^sk-[0-9a-f]{64}$/);
		assert.equal(g.json.balance, 100000);
		const key = g.json.api_key;
		// The same token again, by POST and as a bearer: same key, not credited twice.
		const p = await postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: tok });
		assert.equal(p.status, 200, p.text);
		assert.deepEqual(p.json, { api_key: key, balance: 100000 });
		const viaBearer = await getJson(`${h.baseUrl}/v1/balance/info`, bearer(tok));
		assert.equal(viaBearer.status, 200, viaBearer.text);
		assert.equal(viaBearer.json.api_key, key);
		assert.equal(viaBearer.json.balance, 100000);
		assert.equal(viaBearer.json.reserved, 0);

		// A new token presented only as a bearer creates its key (idempotent too).
		const tok2 = await mintToken(h, 21);
		const i1 = await getJson(`${h.baseUrl}/v1/balance/info`, bearer(tok2));
		assert.equal(i1.status, 200, i1.text);
		assert.equal(i1.json.balance, 21000);
		const i2 = await getJson(`${h.baseUrl}/v1/balance/info`, bearer(tok2));
		assert.deepEqual(i2.json, i1.json);

		// Spend.
		const c = await chat(h, chatBody(), { ...bearer(key), 'x-mock-tokens': '7' });
		assert.equal(c.status, 200, c.text);
		const charged = Number(c.headers.get('x-routstr-cost-msats'));
		assert.equal(charged, cost('mock-model', mockPromptTokens(PROMPT), 7));
		let info = await balanceInfo(h, key);
		assert.equal(info.balance, 100000 - charged);
		assert.equal(info.total_spent, charged);
		assert.equal(info.total_requests, 1);

		// Top up.
		const tok3 = await mintToken(h, 50);
		const t = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tok3 }, bearer(key));
		assert.equal(t.status, 200, t.text);
		assert.deepEqual(t.json, { msats: 50000 });
		info = await balanceInfo(h, key);
		assert.equal(info.balance, 150000 - charged);
		// The same top-up token twice is refused and credits nothing.
		const t2 = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tok3 }, bearer(key));
		assertEnvelope(t2, 400, undefined, 'cashu_token_already_spent');
		assert.equal((await balanceInfo(h, key)).balance, 150000 - charged);

		// Refund everything: whole sats, the sub-sat rest stays on the key.
		const before = (await balanceInfo(h, key)).balance;
		const r = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assert.equal(r.status, 200, r.text);
		assert.match(r.json.token, /^cashu[AB]/);
		assert.equal(Number(r.json.sats), Math.floor(before / 1000));
		assert.equal(tokenValue(r.json.token), Math.floor(before / 1000));
		const got = await redeemAtMint(h, r.json.token);
		assert.equal(got, Math.floor(before / 1000), 'the mint pays out the refund');
		info = await balanceInfo(h, key);
		assert.equal(info.balance, before % 1000, 'sub-sat remainder left on the key');
		assert.equal(info.reserved, 0);

		// History: two "in" rows (100, 50 sats) and one "out" row, newest first.
		const hist = await getJson(`${h.baseUrl}/v1/balance/history`, bearer(key));
		assert.equal(hist.status, 200, hist.text);
		const rows = hist.json.transactions.map((x) => [x.type, x.amount, x.unit]);
		assert.deepEqual(rows, [['out', Math.floor(before / 1000), 'sat'], ['in', 50, 'sat'],
			['in', 100, 'sat']]);
		for (const x of hist.json.transactions)
			assert.equal(x.mint_url, h.mint.url);
	});

	it('a chat with "Authorization: Bearer cashu..." makes the key from the token and bills it', async () => {
		const tok = await mintToken(h, 40);
		const r = await chat(h, chatBody({ max_tokens: 100 }), { ...bearer(tok), 'x-mock-tokens': '2' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		const charged = Number(r.headers.get('x-routstr-cost-msats'));
		assert.equal(charged, cost('mock-model', mockPromptTokens(PROMPT), 2));
		assert.equal(r.json.usage.remaining_balance_msats, 40000 - charged);
		// The same token again is the same key, not a second deposit.
		const again = await chat(h, chatBody({ max_tokens: 100 }), { ...bearer(tok), 'x-mock-tokens': '2' });
		assert.equal(again.status, 200, again.text.slice(0, 300));
		assert.equal(again.json.usage.remaining_balance_msats, 40000 - 2 * charged);
		const c = await postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: tok });
		assert.equal(c.status, 200, c.text);
		assert.equal(c.json.balance, 40000 - 2 * charged);
		assert.equal((await balanceInfo(h, c.json.api_key)).total_requests, 2);
	});

	it('the same top-up token sent 4 times at once is credited once', async () => {
		const key = await fundedKey(h, 10);
		const tok = await mintToken(h, 25);
		const rs = await Promise.all([0, 1, 2, 3].map(() =>
			postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tok }, bearer(key))));
		const ok = rs.filter((r) => r.status === 200);
		assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
		assert.deepEqual(ok[0].json, { msats: 25000 });
		for (const r of rs.filter((x) => x.status !== 200))
			assertEnvelope(r, 400, 'token_already_spent', 'cashu_token_already_spent');
		assert.equal((await balanceInfo(h, key)).balance, 35000);
	});

	it('the same token in 4 concurrent /v1/balance/create calls: every answer is the one key, credited once', async () => {
		const tok = await mintToken(h, 100);
		const rs = await Promise.all([0, 1, 2, 3].map(() =>
			postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: tok })));
		const keys = new Set(rs.filter((r) => r.status === 200).map((r) => r.json.api_key));
		assert.equal(keys.size, 1, 'one key');
		const [key] = keys;
		assert.equal((await balanceInfo(h, key)).balance, 100000, 'credited once');
		for (const r of rs)
			assert.equal(r.status, 200, r.text.slice(0, 200));
	});

	it('refund while a stream runs: 400 ongoing_requests, a top-up still works, the refund works after', async () => {
		const key = await fundedKey(h, 30);
		const running = readStream(h, chatBody({ stream: true, max_tokens: 100 }),
			{ ...bearer(key), 'x-mock-tokens': '5', 'x-mock-delay-ms': '150' });
		await waitBalance(h, key, (i) => i.reserved > 0, 3000);
		const r = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assertEnvelope(r, 400, 'invalid_request_error', 'ongoing_requests');
		const tu = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: await mintToken(h, 5) },
			bearer(key));
		assert.equal(tu.status, 200, tu.text);
		const s = await running;
		assert.equal(s.events.at(-1), '[DONE]');
		const info = await balanceInfo(h, key);
		assert.equal(info.reserved, 0);
		const spent = cost('mock-model', mockPromptTokens(PROMPT), 5);
		assert.equal(info.balance, 35000 - spent);
		const ok = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assert.equal(ok.status, 200, ok.text);
		assert.equal(await redeemAtMint(h, ok.json.token), Math.floor((35000 - spent) / 1000));
		// What is left is under a sat: 400 balance_too_small.
		const again = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assertEnvelope(again, 400, 'invalid_request_error', 'balance_too_small');
	});

	it('exact msat arithmetic: usage.cost, X-Routstr-Cost-Msats and the balance delta agree with a hand computation', async () => {
		const key = await fundedKey(h, 1000);
		// 4001 code points -> the mock reports ceil(4001/4) = 1001 prompt tokens.
		const content = 'abcd'.repeat(1000) + 'e';
		const cases = [
			{ model: 'mock-model-large', content, tokens: 1000 },
			{ model: 'mock-model', content, tokens: 333 },
			{ model: 'mock-model', content: 'hi', tokens: 1 },	// under 1 msat: rounds up to 1
		];
		for (const cs of cases) {
			const prompt = mockPromptTokens(cs.content);
			const exp = expectedCost({ model: cs.model, prompt, completion: cs.tokens, ...FEES });
			const b0 = (await balanceInfo(h, key)).balance;
			const r = await chat(h, { model: cs.model, max_tokens: 2000,
				messages: [{ role: 'user', content: cs.content }] },
				{ ...bearer(key), 'x-mock-tokens': String(cs.tokens) });
			assert.equal(r.status, 200, r.text.slice(0, 300));
			assert.equal(r.json.usage.prompt_tokens, prompt);
			assert.equal(r.json.usage.completion_tokens, cs.tokens);
			const want = Number(exp.total);
			assert.equal(r.json.usage.cost.total_msats, want, `${cs.model}: usage.cost.total_msats`);
			assert.equal(r.json.usage.cost.output_msats, Number(exp.output));
			assert.equal(r.json.usage.cost.input_msats, Number(exp.input));
			assert.equal(r.json.usage.cost_sats, Math.floor(want / 1000));
			assert.equal(Number(r.headers.get('x-routstr-cost-msats')), want);
			assert.equal(Number(r.headers.get('x-routstr-input-cost-msats')), Number(exp.input));
			assert.equal(Number(r.headers.get('x-routstr-output-cost-msats')), Number(exp.output));
			assert.equal(r.json.cost.total_msats, want);
			const b1 = (await balanceInfo(h, key)).balance;
			assert.equal(b0 - b1, want, `${cs.model}: balance delta`);
			assert.equal(r.json.usage.remaining_balance_msats, b1);
		}
		// The first case by hand too (docs: one rounding, at the end):
		// (1001 x 2.5e9 + 1000 x 1e10) fUSD x 1.01 x 1.1 / 100 000 USD/BTC
		// = 13 890.2775 msat -> 13 891.
		assert.equal(cost('mock-model-large', 1001, 1000), 13891);
	});

	it('the reservation: 402 insufficient_balance exactly when the worst case exceeds the balance', async () => {
		const key = await fundedKey(h, 1);	// 1000 msat
		const chars = [...PROMPT].length;
		// The largest max_tokens whose worst case still fits 1000 msat.
		let fit = 0;
		while (reservation('mock-model', chars, fit + 1) <= 1000)
			fit++;
		assert.ok(fit > 100 && fit < 16384, `boundary ${fit}`);
		const over = await chat(h, chatBody({ max_tokens: fit + 1 }), bearer(key));
		assertEnvelope(over, 402, 'insufficient_quota', 'insufficient_balance');
		const need = reservation('mock-model', chars, fit + 1);
		assert.match(over.json.error.message, new RegExp(`\\(${need} msats\\) required`));
		let info = await balanceInfo(h, key);
		assert.equal(info.balance, 1000, 'a refused request costs nothing');
		assert.equal(info.reserved, 0);
		// One token less fits.
		const ok = await chat(h, chatBody({ max_tokens: fit }), { ...bearer(key), 'x-mock-tokens': '2' });
		assert.equal(ok.status, 200, ok.text.slice(0, 300));
		info = await balanceInfo(h, key);
		assert.equal(info.balance, 1000 - cost('mock-model', mockPromptTokens(PROMPT), 2));
		// Without max_tokens the worst case is the model's max completion
		// tokens (16384): far more than what is left.
		const dflt = await chat(h, chatBody(), bearer(key));
		assertEnvelope(dflt, 402, 'insufficient_quota', 'insufficient_balance');
		const need2 = reservation('mock-model', chars, undefined);
		assert.match(dflt.json.error.message, new RegExp(`\\(${need2} msats\\) required`));
	});

	it('stream with include_usage: the last chunk before [DONE] has choices [] and usage.cost', async () => {
		const key = await fundedKey(h, 100);
		const b0 = (await balanceInfo(h, key)).balance;
		const s = await readStream(h, chatBody({ stream: true, stream_options: { include_usage: true } }),
			{ ...bearer(key), 'x-mock-tokens': '6' });
		assert.equal(s.status, 200, s.text);
		assert.equal(s.events.at(-1), '[DONE]');
		const last = JSON.parse(s.events.at(-2));
		assert.deepEqual(last.choices, []);
		const want = cost('mock-model', mockPromptTokens(PROMPT), 6);
		assert.equal(last.usage.completion_tokens, 6);
		assert.equal(last.usage.cost.total_msats, want);
		const chunks = s.events.slice(0, -1).map((e) => JSON.parse(e));
		assert.equal(chunks.filter((c) => c.usage && c.usage.cost).length, 1, 'one usage chunk');
		const info = await balanceInfo(h, key);
		assert.equal(b0 - info.balance, want);
		assert.equal(info.reserved, 0);
	});

	it('stream without include_usage: every chunk has choices[0], none with empty choices; billed by the upstream usage', async () => {
		const key = await fundedKey(h, 100);
		const b0 = (await balanceInfo(h, key)).balance;
		const s = await readStream(h, chatBody({ stream: true }), { ...bearer(key), 'x-mock-tokens': '5' });
		assert.equal(s.status, 200, s.text);
		assert.equal(s.events.at(-1), '[DONE]');
		let text = '';
		for (const e of s.events.slice(0, -1)) {
			const c = JSON.parse(e);
			assert.ok(Array.isArray(c.choices) && c.choices.length > 0 && c.choices[0],
				`chunk with choices[0]: ${e}`);
			assert.ok(c.usage === undefined || c.usage === null, `no usage in ${e}`);
			text += c.choices[0].delta?.content ?? '';
		}
		assert.equal(text, 'tok0 tok1 tok2 tok3 tok4');
		// routstr asked the upstream for usage itself, so the charge is exact.
		const info = await balanceInfo(h, key);
		assert.equal(b0 - info.balance, cost('mock-model', mockPromptTokens(PROMPT), 5));
		assert.equal(info.reserved, 0);
	});

	it('stream from mock-no-usage: billed by estimate, more than 0 and at most the reservation', async () => {
		const key = await fundedKey(h, 100);
		const b0 = (await balanceInfo(h, key)).balance;
		const s = await readStream(h, chatBody({ model: 'mock-no-usage', stream: true, max_tokens: 1000 }),
			{ ...bearer(key), 'x-mock-tokens': '5' });
		assert.equal(s.status, 200, s.text);
		assert.equal(s.events.at(-1), '[DONE]');
		const info = await balanceInfo(h, key);
		const charged = b0 - info.balance;
		const res = reservation('mock-no-usage', [...PROMPT].length, 1000);
		assert.ok(charged > 0 && charged <= res, `charged ${charged}, reservation ${res}`);
		// The documented estimate: prompt ceil(10/3) = 4 tokens, output
		// ceil(chars("tok0 tok1 tok2 tok3 tok4") = 24 / 3) = 8 tokens.
		assert.equal(charged, cost('mock-no-usage', 4, 8));
		assert.equal(info.reserved, 0);
		// Not streamed: the same estimate, shown in usage.cost and the header.
		const r = await chat(h, chatBody({ model: 'mock-no-usage', max_tokens: 1000 }),
			{ ...bearer(key), 'x-mock-tokens': '5' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		assert.equal(Number(r.headers.get('x-routstr-cost-msats')), cost('mock-no-usage', 4, 8));
		assert.equal(info.balance - (await balanceInfo(h, key)).balance, cost('mock-no-usage', 4, 8));
	});

	it('a client that leaves mid-stream: billed > 0 and <= the reservation, reserved back to 0', async () => {
		const key = await fundedKey(h, 100);
		const b0 = (await balanceInfo(h, key)).balance;
		const body = chatBody({ stream: true, max_tokens: 500 });
		const res = reservation('mock-model', [...PROMPT].length, 500);
		// While the stream runs, exactly the reservation is held.
		const running = readStream(h, body, { ...bearer(key), 'x-mock-tokens': '6', 'x-mock-delay-ms': '150' });
		const mid = await waitBalance(h, key, (i) => i.reserved > 0, 3000);
		assert.equal(mid.reserved, res, 'reserved while streaming');
		assert.equal(mid.balance, b0 - res, 'balance shown is available = balance - reserved');
		await running;

		const b1 = (await balanceInfo(h, key)).balance;
		const s = await readStream(h, body, { ...bearer(key), 'x-mock-tokens': '20', 'x-mock-delay-ms': '200' },
			{ stopAfter: 2 });
		assert.equal(s.status, 200);
		assert.ok(s.aborted, 'the client aborted');
		const info = await waitBalance(h, key, (i) => i.reserved === 0, 10000);
		assert.equal(info.reserved, 0, 'reservation settled after the client left');
		const charged = b1 - info.balance;
		assert.ok(charged > 0 && charged <= res, `charged ${charged}, reservation ${res}`);
		// Less than the whole 20-token answer would have cost.
		assert.ok(charged < cost('mock-model', mockPromptTokens(PROMPT), 20) + 1);
	});

	it('upstream 500, 429 and 502: the status reaches the client, the balance is unchanged, nothing reserved', async () => {
		const key = await fundedKey(h, 100);
		const b0 = (await balanceInfo(h, key)).balance;
		for (const [model, status] of [['mock-error-500', 500], ['mock-error-429', 429], ['mock-error-502', 502]]) {
			const r = await chat(h, chatBody({ model }), bearer(key));
			assert.equal(r.status, status, `${model}: ${r.text.slice(0, 300)}`);
			assert.ok(r.json?.error, `${model}: error body`);
			if (status === 429)
				assert.equal(r.headers.get('retry-after'), '2', 'Retry-After relayed');
			const s = await readStream(h, chatBody({ model, stream: true }), bearer(key));
			assert.equal(s.status, status, `${model} streamed`);
			const info = await balanceInfo(h, key);
			assert.equal(info.balance, b0, `${model}: balance unchanged`);
			assert.equal(info.reserved, 0, `${model}: nothing reserved`);
		}
		const info = await balanceInfo(h, key);
		assert.equal(info.total_spent, 0);
	});

	it('200 requests on one key (50 at a time): chats, errors, streams, aborts; reserved 0, sums agree, audit clean', async (t) => {
		const key = await fundedKey(h, 20000);
		const b0 = (await balanceInfo(h, key)).balance;
		const N = 200;
		const CONC = 50;
		const kinds = ['chat', 'error', 'stream', 'abort'];
		const streamRes = reservation('mock-model', [...PROMPT].length, 100);
		let visible = 0;
		let aborted = 0;
		const statuses = {};
		let minSeen = Infinity;
		let next = 0;
		const one = async (i) => {
			const kind = kinds[i % kinds.length];
			const hdr = { ...bearer(key), 'x-mock-tokens': String(1 + (i % 7)) };
			let st;
			if (kind === 'chat') {
				const r = await chat(h, chatBody({ max_tokens: 100 }), hdr, 30000);
				st = r.status;
				if (r.status === 200) {
					visible += Number(r.headers.get('x-routstr-cost-msats'));
					minSeen = Math.min(minSeen, r.json.usage.remaining_balance_msats);
				}
			} else if (kind === 'error') {
				st = (await chat(h, chatBody({ model: 'mock-error-500', max_tokens: 100 }), hdr, 30000)).status;
			} else if (kind === 'stream') {
				const s = await readStream(h, chatBody({ stream: true, max_tokens: 100,
					stream_options: { include_usage: true } }), { ...hdr, 'x-mock-delay-ms': '5' },
					{ timeoutMs: 30000 });
				st = s.status;
				if (s.status === 200) {
					const u = JSON.parse(s.events.at(-2)).usage;
					visible += u.cost.total_msats;
				}
			} else {
				const s = await readStream(h, chatBody({ stream: true, max_tokens: 100 }),
					{ ...hdr, 'x-mock-tokens': '20', 'x-mock-delay-ms': '30' }, { stopAfter: 2, timeoutMs: 30000 });
				st = s.aborted ? 'aborted' : s.status;
				if (s.aborted)
					aborted++;
			}
			statuses[`${kind}:${st}`] = (statuses[`${kind}:${st}`] || 0) + 1;
		};
		const t0 = performance.now();
		await Promise.all(Array.from({ length: CONC }, async () => {
			while (next < N)
				await one(next++);
		}));
		const ms = performance.now() - t0;
		t.diagnostic(`200 mixed requests, concurrency ${CONC}: ${Math.round(ms)} ms, ` +
			`${(N / (ms / 1000)).toFixed(1)} req/s; ${JSON.stringify(statuses)}`);
		assert.equal(statuses['chat:200'], N / 4, JSON.stringify(statuses));
		assert.equal(statuses['error:500'], N / 4, JSON.stringify(statuses));
		assert.equal(statuses['stream:200'], N / 4, JSON.stringify(statuses));
		assert.equal(statuses['abort:aborted'], N / 4, JSON.stringify(statuses));

		const info = await waitBalance(h, key, (i) => i.reserved === 0, 10000);
		assert.equal(info.reserved, 0, 'nothing left reserved');
		assert.ok(info.balance >= 0 && minSeen >= 0, 'never negative');
		const spent = b0 - info.balance;
		assert.equal(info.total_spent, spent, 'total_spent = what left the balance');
		// Aborted streams are billed what was relayed, each at most its reservation.
		const hidden = spent - visible;
		assert.ok(hidden > 0 && hidden <= aborted * streamRes,
			`aborted streams billed ${hidden} msat (max ${aborted} x ${streamRes})`);
		assertAuditClean(h, 'after the concurrent requests');
	});

	it('top-ups racing refunds on one key: refunds + final balance = deposits + top-ups - charges', async (t) => {
		const wallet = await mintWallet(h);
		const tok0 = await mintToken(h, 30);
		const c = await postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: tok0 });
		assert.equal(c.status, 200, c.text);
		const key = c.json.api_key;
		let credited = c.json.balance;
		// A charge first, so a sub-sat remainder is in play.
		const ch = await chat(h, chatBody(), { ...bearer(key), 'x-mock-tokens': '3' });
		assert.equal(ch.status, 200);
		const charged = Number(ch.headers.get('x-routstr-cost-msats'));
		const ROUNDS = 8;
		const tokens = [];
		for (let i = 0; i < ROUNDS; i++)
			tokens.push(await mintToken(h, 10 + i));
		let refundedSats = 0;
		let chats = 0;
		const outcomes = {};
		for (let i = 0; i < ROUNDS; i++) {
			// A chat in flight too, so that some refunds meet a reservation.
			const [tu, rf, cc] = await Promise.all([
				postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tokens[i] }, bearer(key)),
				postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key)),
				chat(h, chatBody({ max_tokens: 50 }), { ...bearer(key), 'x-mock-tokens': '2', 'x-mock-delay-ms': String(5 * i) }),
			]);
			if (cc.status === 200)
				chats += Number(cc.headers.get('x-routstr-cost-msats'));
			else
				assert.equal(cc.status, 402, cc.text);	// the refund emptied the key first
			const kc = `chat:${cc.status}`;
			outcomes[kc] = (outcomes[kc] || 0) + 1;
			assert.equal(tu.status, 200, `top-up ${i}: ${tu.text}`);
			assert.equal(tu.json.msats, (10 + i) * 1000);
			credited += tu.json.msats;
			if (rf.status === 200) {
				const got = await redeemAtMint(h, rf.json.token, wallet);
				assert.equal(got, Number(rf.json.sats));
				refundedSats += got;
			} else {
				// ongoing_requests (the chat held a reservation) or no_balance
				assert.equal(rf.status, 400, rf.text);
			}
			const k = `refund:${rf.status}${rf.json?.error ? `:${rf.json.error.code}` : ''}`;
			outcomes[k] = (outcomes[k] || 0) + 1;
		}
		t.diagnostic(`refund outcomes: ${JSON.stringify(outcomes)}`);
		const info = await balanceInfo(h, key);
		assert.equal(info.reserved, 0);
		assert.equal(refundedSats * 1000 + info.balance, credited - charged - chats,
			`refunded ${refundedSats} sat + balance ${info.balance} msat vs ${credited} - ${charged} - ${chats}`);
		// And the rest can still be refunded, leaving only the sub-sat remainder.
		const last = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assert.equal(last.status, 200, last.text);
		assert.equal(await redeemAtMint(h, last.json.token, wallet), Math.floor(info.balance / 1000));
		assert.equal((await balanceInfo(h, key)).balance, info.balance % 1000);
		assertAuditClean(h, 'after the top-up/refund race');
	});

	it('mint down: top-up answers 503 cashu_mint_unreachable; the same token works once it is up', async () => {
		const key = await fundedKey(h, 10);
		const tok = await mintToken(h, 40);
		await h.mint.ctl('POST', '/_test/down', { mode: 'reset' });
		let r;
		try {
			r = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tok }, bearer(key));
		} finally {
			await h.mint.ctl('POST', '/_test/up');
		}
		assertEnvelope(r, 503, 'mint_unreachable', 'cashu_mint_unreachable');
		assert.equal((await balanceInfo(h, key)).balance, 10000);
		const ok = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: tok }, bearer(key));
		assert.equal(ok.status, 200, ok.text);
		assert.deepEqual(ok.json, { msats: 40000 });
		assert.equal((await balanceInfo(h, key)).balance, 50000);
	});

	it('mint down during a refund: either a token from proofs on hand, or 503 and the balance stays', async (t) => {
		// The node's wallet may hold proofs that add up to the amount, and then
		// needs no mint to make the refund token; otherwise it must answer 503
		// and put the balance back (refund_revert). Both keep the money whole.
		const key = await fundedKey(h, 12);
		await h.mint.ctl('POST', '/_test/down', { mode: 'reset' });
		let r;
		try {
			r = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		} finally {
			await h.mint.ctl('POST', '/_test/up');
		}
		t.diagnostic(`refund with the mint down: ${r.status}`);
		if (r.status === 200) {
			assert.equal(Number(r.json.sats), 12);
			assert.equal(await redeemAtMint(h, r.json.token), 12, 'the offline-made token is good');
			assert.equal((await balanceInfo(h, key)).balance, 0);
			return;
		}
		assertEnvelope(r, 503, 'mint_unreachable', 'cashu_mint_unreachable');
		const info = await balanceInfo(h, key);
		assert.equal(info.balance, 12000);
		assert.equal(info.reserved, 0);
		const ok = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assert.equal(ok.status, 200, ok.text);
		assert.equal(await redeemAtMint(h, ok.json.token), 12);
	});

	describe('a fresh node whose wallet holds one 64-sat proof: a refund that needs a swap', () => {
		// Refunding what is left after a charge (63 sats) of one 64-sat proof
		// needs a swap at the mint.
		let h2;
		let key;
		let left;
		before(async () => {
			h2 = await startStack('lighttpd', { conf: CONF });
			key = await fundedKey(h2, 64);
			const c = await chat(h2, chatBody({ max_tokens: 100 }), { ...bearer(key), 'x-mock-tokens': '50' });
			assert.equal(c.status, 200, c.text.slice(0, 300));
			left = (await balanceInfo(h2, key)).balance;
			assert.ok(left < 64000 && left > 63000, `left ${left}`);
		});
		after(async () => {
			if (h2)
				await stopAndAudit(h2);
		});

		it('mint down during the refund: 503 cashu_mint_unreachable, the balance is put back', async () => {
			await h2.mint.ctl('POST', '/_test/down', { mode: 'reset' });
			let r;
			try {
				r = await postJson(`${h2.baseUrl}/v1/balance/refund`, {}, bearer(key));
			} finally {
				await h2.mint.ctl('POST', '/_test/up');
			}
			assertEnvelope(r, 503, 'mint_unreachable', 'cashu_mint_unreachable');
			const info = await balanceInfo(h2, key);
			assert.equal(info.balance, left, 'balance put back');
			assert.equal(info.reserved, 0);
			assertAuditClean(h2, 'with the swap of unknown outcome');
		});

		it('once the mint is back, the refund recovers the lost swap inline and pays out', async () => {
			// The swap the runner gave up on is resolved at the mint when the
			// same key asks again (lib/funds.c recover_key_ops): its proofs
			// are free and the refund needs no cron run.
			const r = await postJson(`${h2.baseUrl}/v1/balance/refund`, {}, bearer(key));
			assert.equal(r.status, 200, r.text);
			assert.equal(Number(r.json.sats), 63);
			assert.equal(await redeemAtMint(h2, r.json.token), 63);
			assert.equal((await balanceInfo(h2, key)).balance, left - 63000, 'the sub-sat rest stays');
		});

		it('after `routstrctl wallet recover`, the refund pays out and the rest stays', async () => {
			if ((await balanceInfo(h2, key)).balance >= 1000) {
				const rec = routstrctl(h2, ['wallet', 'recover', '--min-age', '0']);
				assert.equal(rec.status, 0, rec.out);
				const ok = await postJson(`${h2.baseUrl}/v1/balance/refund`, {}, bearer(key));
				assert.equal(ok.status, 200, ok.text);
				assert.equal(Number(ok.json.sats), 63);
				assert.equal(await redeemAtMint(h2, ok.json.token), 63);
			}
			assert.equal((await balanceInfo(h2, key)).balance, left - 63000);
		});
	});

	it('a token already spent at the mint: /v1/balance/create answers 400 cashu_token_already_spent', async () => {
		const tok = await mintToken(h, 15);
		assert.equal(await redeemAtMint(h, tok), 15);
		const r = await postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: tok });
		assertEnvelope(r, 400, 'token_already_spent', 'cashu_token_already_spent');
		// No key was made from it.
		const i = await getJson(`${h.baseUrl}/v1/balance/info`, bearer(tok));
		assert.notEqual(i.status, 200, i.text);
	});

	it('OpenAI Node SDK: a funded sk- key pays; unknown key 401; tiny balance 402', async () => {
		const apiKey = await fundedKey(h, 50);
		const client = new OpenAI({ baseURL: `${h.baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 20000 });
		const b0 = (await balanceInfo(h, apiKey)).balance;
		const { data, response } = await client.chat.completions.create({
			model: 'mock-model',
			messages: [{ role: 'user', content: PROMPT }],
		}, { headers: { 'x-mock-tokens': '4' } }).withResponse();
		assert.equal(data.choices[0].message.content, 'tok0 tok1 tok2 tok3');
		const want = cost('mock-model', mockPromptTokens(PROMPT), 4);
		assert.equal(Number(response.headers.get('x-routstr-cost-msats')), want);
		assert.equal(b0 - (await balanceInfo(h, apiKey)).balance, want);

		const unknown = new OpenAI({ baseURL: `${h.baseUrl}/v1`, apiKey: `sk-${'0'.repeat(64)}`, maxRetries: 0 });
		await assert.rejects(unknown.chat.completions.create({
			model: 'mock-model', messages: [{ role: 'user', content: PROMPT }],
		}), (err) => {
			assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err}`);
			assert.equal(err.status, 401);
			return true;
		});

		const tiny = new OpenAI({ baseURL: `${h.baseUrl}/v1`, apiKey: await fundedKey(h, 1), maxRetries: 0 });
		await assert.rejects(tiny.chat.completions.create({
			model: 'mock-model', messages: [{ role: 'user', content: PROMPT }],
		}), (err) => {
			assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
			assert.equal(err.status, 402);
			assert.equal(err.code, 'insufficient_balance');
			assert.equal(err.type, 'insufficient_quota');
			return true;
		});
	});
});
