// Pay per request with X-Cashu, end to end: routstr.fcgi under lighttpd, the
// mock upstream, the Node test mint (input fee 0) and the fake ticker. A test
// mint token goes in the X-Cashu request header; the change comes back as a
// token in the X-Cashu response header (whole answers). A stream gets the
// change above what it reserved in the X-Cashu header, before the first
// event (Routstr's clients read it there), and the rest of the reservation
// that was not spent in a ': x-cashu-change <token>' SSE comment at the end
// when it is a whole sat or more. The last change can be fetched again with
// POST /v1/balance/refund and the same X-Cashu header. Every change token
// is redeemed at the test mint with cashu-ts. The run ends with a clean
// `routstrctl audit`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertEnvelope, mintToken, postJson, startStack } from './lib/harness.mjs';
import {
	chat, chatBody, expectedCost, expectedReservation, moneyPrerequisites, readStream, redeemAtMint,
	stopAndAudit, tokenUnit, tokenValue,
} from './lib/money.mjs';

const FEES = { exchangeFee: '1.005', providerFee: '1.05' };	// the defaults
const PROMPT = 'Say hello.';
const mockPromptTokens = (s) => Math.max(1, Math.ceil([...s].length / 4));
const cost = (model, prompt, completion) =>
	Number(expectedCost({ model, prompt, completion, ...FEES }).total);

// The change of a token of `sats` after a charge of `msat`: the key keeps the
// sub-sat rest, whole sats go back (docs/money.md: payouts round down).
const changeSats = (sats, msat) => Math.floor((sats * 1000 - msat) / 1000);

const pre = moneyPrerequisites(['lighttpd']);

describe('X-Cashu under lighttpd', { skip: pre.skip }, () => {
	let h;
	const refund = (token) => postJson(`${h.baseUrl}/v1/balance/refund`, {}, { 'x-cashu': token });

	before(async () => {
		h = await startStack('lighttpd');
	});
	after(async () => {
		if (!h)
			return;
		const { report, audit } = await stopAndAudit(h);
		assert.deepEqual(report.forced, [], `clean stop: ${JSON.stringify(report)}`);
		process.stderr.write(audit);
	});

	it('non-streamed chat: X-Cashu change header = token - charge, accepted by the mint', async () => {
		const tok = await mintToken(h, 200);
		const r = await chat(h, chatBody({ max_tokens: 1000 }), { 'x-cashu': tok, 'x-mock-tokens': '9' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		const charged = Number(r.headers.get('x-routstr-cost-msats'));
		assert.equal(charged, cost('mock-model', mockPromptTokens(PROMPT), 9));
		assert.equal(r.json.usage.cost.total_msats, charged);
		const change = r.headers.get('x-cashu');
		assert.ok(change && change.startsWith('cashu'), `X-Cashu change header: ${change}`);
		assert.notEqual(change, tok);
		assert.equal(tokenUnit(change), 'sat');
		assert.equal(tokenValue(change), changeSats(200, charged));
		// Fetching it again returns the same change.
		const again = await refund(tok);
		assert.equal(again.status, 200, again.text);
		assert.equal(again.json.token, change);
		assert.equal(Number(again.json.sats), changeSats(200, charged));
		assert.equal(await redeemAtMint(h, change), changeSats(200, charged));
		// The paying token itself is spent: the node swapped it.
		await assert.rejects(redeemAtMint(h, tok));
	});

	it('streamed chat: the change above the reservation in the X-Cashu header, the rest in a comment; refund returns the last, twice', async () => {
		const tok = await mintToken(h, 100);
		const res = Number(expectedReservation({ model: 'mock-model', promptChars: [...PROMPT].length,
			maxTokens: 500, ...FEES }));
		const s = await readStream(h, chatBody({ stream: true, max_tokens: 500,
			stream_options: { include_usage: true } }), { 'x-cashu': tok, 'x-mock-tokens': '5' });
		assert.equal(s.status, 200, s.text);
		assert.equal(s.events.at(-1), '[DONE]');
		const usage = JSON.parse(s.events.at(-2)).usage;
		const charged = usage.cost.total_msats;
		assert.equal(charged, cost('mock-model', mockPromptTokens(PROMPT), 5));
		// Up front: what the reservation does not hold, less as much again
		// (the margin that pays an overrun), in whole sats.
		const upfront = s.headers.get('x-cashu');
		assert.match(upfront, /^cashu[AB]/);
		assert.equal(tokenValue(upfront), Math.floor((100000 - 2 * res) / 1000));
		// At the end: what the reservation held and was not spent, when a
		// whole sat; after the content, before [DONE].
		const cm = s.comments.filter((c) => c.startsWith('x-cashu-change '));
		const restSats = Math.floor((100000 - tokenValue(upfront) * 1000 - charged) / 1000);
		assert.equal(cm.length, restSats > 0 ? 1 : 0, JSON.stringify(s.comments));
		const last = restSats > 0 ? cm[0].slice('x-cashu-change '.length) : upfront;
		if (restSats > 0) {
			assert.equal(tokenValue(last), restSats);
			const raw = s.order;
			assert.ok(raw.indexOf('comment') > raw.lastIndexOf('content'), `order ${raw.join(',')}`);
			assert.ok(raw.indexOf('comment') < raw.indexOf('done'), `order ${raw.join(',')}`);
		}
		// Nothing lost to the split: the same whole sats as one change.
		assert.equal(tokenValue(upfront) + restSats, changeSats(100, charged));

		const r1 = await refund(tok);
		assert.equal(r1.status, 200, r1.text);
		assert.deepEqual(Object.keys(r1.json).sort(), ['sats', 'token']);
		assert.equal(r1.json.token, last);
		assert.equal(r1.headers.get('x-cashu'), last);
		const r2 = await refund(tok);
		assert.equal(r2.status, 200, r2.text);
		assert.deepEqual(r2.json, r1.json, 'the same change again');
		assert.equal(await redeemAtMint(h, upfront), tokenValue(upfront));
		if (restSats > 0)
			assert.equal(await redeemAtMint(h, last), restSats);
	});

	it('streamed chat without include_usage: header and comment changes add up, and are right', async () => {
		const tok = await mintToken(h, 50);
		const s = await readStream(h, chatBody({ stream: true, max_tokens: 200 }),
			{ 'x-cashu': tok, 'x-mock-tokens': '3' });
		assert.equal(s.status, 200, s.text);
		const cm = s.comments.filter((c) => c.startsWith('x-cashu-change cashu'));
		let back = await redeemAtMint(h, s.headers.get('x-cashu'));
		for (const c of cm)
			back += await redeemAtMint(h, c.slice('x-cashu-change '.length));
		const charged = cost('mock-model', mockPromptTokens(PROMPT), 3);
		assert.equal(back, changeSats(50, charged));
	});

	it('a token too small for the worst case: 402, the token echoed back in X-Cashu and still spendable', async () => {
		const tok = await mintToken(h, 2);
		const need = Number(expectedReservation({ model: 'mock-model', promptChars: [...PROMPT].length,
			maxTokens: 5000, ...FEES }));
		assert.ok(need > 2000, `worst case ${need} msat`);
		const r = await chat(h, chatBody({ max_tokens: 5000 }), { 'x-cashu': tok });
		assert.equal(r.status, 402, r.text);
		assert.equal(r.headers.get('x-cashu'), tok, 'the same token back');
		assert.equal(r.json.error.code, 'insufficient_balance');
		assert.equal(r.json.error.amount_required_msat, need);
		assert.equal(r.json.error.model, 'mock-model');
		assert.equal(r.json.request_id, r.headers.get('x-routstr-request-id'));
		// Routstr's shape, for its clients
		assert.deepEqual(r.json.detail, { reason: 'Insufficient balance', amount_required_msat: need,
			model: 'mock-model', type: 'minimum_balance_required' });
		assert.equal(await redeemAtMint(h, tok), 2, 'the node did not take it');
	});

	it('a garbage X-Cashu header: 401', async () => {
		for (const bad of ['cashuBnot-a-token', 'hello', 'cashuA' + 'x'.repeat(50)]) {
			const r = await chat(h, chatBody(), { 'x-cashu': bad });
			assertEnvelope(r, 401);
			assert.equal(r.json.error.code, 'invalid_api_key');
		}
	});

	it('upstream 500: the status, and X-Cashu change worth the whole token', async () => {
		const tok = await mintToken(h, 64);
		const r = await chat(h, chatBody({ model: 'mock-error-500', max_tokens: 100 }), { 'x-cashu': tok });
		assert.equal(r.status, 500, r.text);
		const change = r.headers.get('x-cashu');
		assert.ok(change && change.startsWith('cashu') && change !== tok, `change: ${change}`);
		assert.equal(tokenValue(change), 64, 'nothing kept (mint input fee 0)');
		// Routstr's body: the refund in it as well
		assert.equal(r.json.error.message, 'Error forwarding request to upstream');
		assert.equal(r.json.error.type, 'upstream_error');
		assert.equal(r.json.error.code, 500);
		assert.equal(r.json.error.refund_token, change);
		assert.equal(await redeemAtMint(h, change), 64);
		// Streamed too.
		const tok2 = await mintToken(h, 32);
		const s = await readStream(h, chatBody({ model: 'mock-error-500', stream: true, max_tokens: 100 }),
			{ 'x-cashu': tok2 });
		assert.equal(s.status, 500);
		const change2 = s.headers.get('x-cashu');
		assert.ok(change2, 'X-Cashu change on a streamed request refused upstream');
		assert.equal(await redeemAtMint(h, change2), 32);
	});

	it('a spent X-Cashu token presented again buys nothing more', async () => {
		const tok = await mintToken(h, 30);
		const r = await chat(h, chatBody({ max_tokens: 100 }), { 'x-cashu': tok, 'x-mock-tokens': '2' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		const change = r.headers.get('x-cashu');
		assert.ok(change);
		// The same token again: its key holds only the sub-sat rest now.
		const again = await chat(h, chatBody({ max_tokens: 5000 }), { 'x-cashu': tok });
		assert.ok(again.status === 400 || again.status === 402, `${again.status} ${again.text}`);
		assert.equal(await redeemAtMint(h, change), tokenValue(change));
	});

	it('one X-Cashu token on 4 concurrent requests: changes + charges + what stays = the token', async (t) => {
		const tok = await mintToken(h, 100);
		const rs = await Promise.all([0, 1, 2, 3].map((i) => (i % 2
			? chat(h, chatBody({ max_tokens: 100 }), { 'x-cashu': tok, 'x-mock-tokens': '3', 'x-mock-delay-ms': '100' })
			: readStream(h, chatBody({ stream: true, max_tokens: 100, stream_options: { include_usage: true } }),
				{ 'x-cashu': tok, 'x-mock-tokens': '3', 'x-mock-delay-ms': '50' }))));
		let charged = 0;
		const changes = new Set();
		const seen = [];
		for (const r of rs) {
			seen.push(r.status);
			if (r.status === 200) {
				const streamed = r.events !== undefined && r.events.length > 0;
				charged += streamed ? JSON.parse(r.events.at(-2)).usage.cost.total_msats : r.json.usage.cost.total_msats;
				const c = !streamed ? r.headers.get('x-cashu')
					: r.comments.find((x) => x.startsWith('x-cashu-change cashu'))?.slice(15);
				if (c)
					changes.add(c);
				if (streamed && r.headers.get('x-cashu'))
					changes.add(r.headers.get('x-cashu'));
			} else {
				assert.equal(r.status, 400, r.text);
				assert.equal(r.json.error.code, 'cashu_token_already_spent');
			}
		}
		t.diagnostic(`statuses ${seen.join(',')}; change tokens in answers: ${changes.size}`);
		assert.ok(seen.includes(200));
		// Whatever could not be given back during the requests is fetched now.
		const rf = await refund(tok);
		assert.equal(rf.status, 200, rf.text);
		changes.add(rf.json.token);
		let back = 0;
		for (const c of changes)
			back += await redeemAtMint(h, c);
		const rest = 100000 - charged - back * 1000;
		assert.ok(rest >= 0 && rest < 1000, `token 100 sat = ${back} sat back + ${charged} msat charged + ${rest} msat rest`);
	});

	it('a client that leaves an X-Cashu stream: the change is kept and fetched with POST /v1/balance/refund', async (t) => {
		const tok = await mintToken(h, 80);
		const res = Number(expectedReservation({ model: 'mock-model', promptChars: [...PROMPT].length,
			maxTokens: 500, ...FEES }));
		const s = await readStream(h, chatBody({ stream: true, max_tokens: 500 }),
			{ 'x-cashu': tok, 'x-mock-tokens': '20', 'x-mock-delay-ms': '200' }, { stopAfter: 2 });
		assert.equal(s.status, 200);
		assert.ok(s.aborted);
		// 425 refund_pending while the request still runs (and, see the
		// next test, a 404 while its change is being minted).
		const seen = [];
		let r;
		const end = Date.now() + 10000;
		for (;;) {
			r = await refund(tok);
			seen.push(r.status);
			if (r.status === 200 || Date.now() > end)
				break;
			assert.ok(r.status === 425 || r.status === 404, r.text);
			await new Promise((ok) => setTimeout(ok, 100));
		}
		t.diagnostic(`refund answers while the request ended: ${seen.join(',')}`);
		assert.equal(r.status, 200, r.text);
		// The change above the reservation came up front, in the header.
		const upfront = s.headers.get('x-cashu');
		assert.equal(tokenValue(upfront), Math.floor((80000 - 2 * res) / 1000));
		let back = await redeemAtMint(h, upfront);
		if (r.json.token !== upfront) {
			const rest = await redeemAtMint(h, r.json.token);
			assert.equal(rest, Number(r.json.sats));
			back += rest;
		}
		// Charged something, at most the reservation.
		assert.ok(back < 80 && back >= Math.floor((80000 - 2 * res) / 1000), `change ${back} sat, reservation ${res}`);
	});

	it('while the change of a request is being minted, refund answers 425, never 404', async (t) => {
		// Slow mint (every NUT call 500 ms), a 300 ms upstream: the change
		// is minted for about 500 ms after the request settles.
		const tok = await mintToken(h, 40);
		await h.mint.ctl('POST', '/_test/delay', { ms: 500 });
		const seen = [];
		try {
			const req = chat(h, chatBody({ max_tokens: 100 }),
				{ 'x-cashu': tok, 'x-mock-tokens': '3', 'x-mock-delay-ms': '300' });
			let done = false;
			req.finally(() => { done = true; });
			const end = Date.now() + 10000;
			while (!done && Date.now() < end) {
				seen.push((await refund(tok)).status);
				await new Promise((ok) => setTimeout(ok, 50));
			}
			const r = await req;
			assert.equal(r.status, 200, r.text.slice(0, 300));
			assert.ok(r.headers.get('x-cashu'));
		} finally {
			await h.mint.ctl('POST', '/_test/delay', { ms: 0 });
		}
		t.diagnostic(`refund answers during the request: ${seen.join(',')}`);
		// Before the token is redeemed, 404 is fair (the node never saw it);
		// once a 425 was seen, the next answers must be 425 or 200.
		const first425 = seen.indexOf(425);
		assert.ok(first425 >= 0, `a 425 while the request ran: ${seen.join(',')}`);
		assert.deepEqual(seen.slice(first425).filter((x) => x !== 425 && x !== 200), [],
			`after the first 425: ${seen.slice(first425).join(',')}`);
	});
});
