// Many streams at once on one node (issue 8): 300 concurrent paid chat
// streams on one funded key under lighttpd. No stream waits for another
// (every stream's first event arrives before any stream ends), every stream
// is charged exactly its cost, nothing stays reserved, and the audit is clean.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fundedKey, startStack } from './lib/harness.mjs';
import {
	balanceInfo, bearer, chatBody, expectedCost, moneyPrerequisites, readStream, stopAndAudit,
} from './lib/money.mjs';

const N = Number(process.env.STREAMS_N || 300);
const TOKENS = 4;
const DELAY_MS = 1000;	// between the mock's events: each stream lasts ~4 s
const PROMPT = 'Say hello.';
const mockPromptTokens = (s) => Math.max(1, Math.ceil([...s].length / 4));

const pre = moneyPrerequisites(['lighttpd']);

describe(`${N} concurrent streams under lighttpd`, { skip: pre.skip }, () => {
	let h;

	before(async () => {
		h = await startStack('lighttpd');
	});
	after(async () => {
		if (!h)
			return;
		const { audit } = await stopAndAudit(h);
		process.stderr.write(audit);
	});

	it('no stream waits for another; each is charged its cost; reserved back to 0', async () => {
		const key = await fundedKey(h, 4000);
		const b0 = (await balanceInfo(h, key)).balance;
		const t0 = Date.now();
		const first = [];
		const done = [];
		const results = await Promise.all(Array.from({ length: N }, (_, i) =>
			readStream(h, chatBody({ stream: true, max_tokens: 16, stream_options: { include_usage: true } }), {
				...bearer(key), 'x-mock-tokens': String(TOKENS), 'x-mock-delay-ms': String(DELAY_MS),
			}, {
				timeoutMs: 120000,
				onEvent: () => { if (first[i] === undefined) first[i] = Date.now() - t0; },
			}).then((r) => { done[i] = Date.now() - t0; return r; })));
		const failed = results.filter((r) => r.status !== 200 || r.aborted);
		assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3).map((r) => [r.status, r.text?.slice(0, 200)]))}`);
		const parsed = (r) => r.events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e));
		for (const r of results) {
			const content = parsed(r).filter((e) => e.choices?.[0]?.delta?.content).length;
			assert.equal(content, TOKENS, 'every event arrived');
			assert.equal(r.events.at(-1), '[DONE]');
		}
		const lastFirst = Math.max(...first);
		const firstDone = Math.min(...done);
		process.stderr.write(`# ${N} streams: first events by ${lastFirst} ms, first stream done at ${firstDone} ms, all done at ${Math.max(...done)} ms\n`);
		assert.ok(lastFirst < firstDone, `a stream got its first event (${lastFirst} ms) only after another had ended (${firstDone} ms)`);

		const each = Number(expectedCost({
			model: 'mock-model', prompt: mockPromptTokens(PROMPT), completion: TOKENS,
			exchangeFee: '1.005', providerFee: '1.05',
		}).total);
		for (const r of results) {
			const cost = parsed(r).find((e) => e.usage?.cost)?.usage.cost.total_msats;
			assert.equal(cost, each, 'usage.cost of each stream');
		}
		const info = await balanceInfo(h, key);
		assert.equal(info.reserved, 0);
		assert.equal(b0 - info.balance, N * each, 'the balance moved by exactly the charges');
	});
});

describe('at MAX_WORKERS the node answers 503 with Retry-After, not a queue', { skip: pre.skip }, () => {
	let h;

	before(async () => {
		// lighttpd-example.conf keeps WORKERS=4 waiting; 5 at once at most.
		h = await startStack('lighttpd', { conf: { MAX_WORKERS: 5 } });
	});
	after(async () => {
		if (!h)
			return;
		const { audit } = await stopAndAudit(h);
		process.stderr.write(audit);
	});

	it('5 streams run; the 6th and 7th request get 503 at once; afterwards it serves again', async () => {
		const key = await fundedKey(h, 200);
		const headers = { ...bearer(key), 'x-mock-tokens': '3', 'x-mock-delay-ms': '1000' };
		const started = new Set();
		const streams = Array.from({ length: 5 }, (_, i) => readStream(h,
			chatBody({ stream: true, max_tokens: 16 }), headers,
			{ timeoutMs: 60000, onEvent: () => { started.add(i); } }));
		while (started.size < 5)
			await new Promise((r) => setTimeout(r, 50));
		const extra = await Promise.all([1, 2].map(() => readStream(h,
			chatBody({ stream: true, max_tokens: 16 }), headers, { timeoutMs: 60000 })));
		for (const r of extra) {
			assert.equal(r.status, 503, r.text);
			assert.equal(r.json?.error?.code, 'overloaded');
			assert.ok(Number(r.headers.get('retry-after')) > 0);
		}
		for (const r of await Promise.all(streams))
			assert.equal(r.status, 200);
		const again = await readStream(h, chatBody({ stream: true, max_tokens: 16 }), bearer(key));
		assert.equal(again.status, 200);
		assert.equal((await balanceInfo(h, key)).reserved, 0);
	});
});
