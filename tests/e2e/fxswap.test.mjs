// Tokens of a mint the node does not trust, under lighttpd: the node swaps
// them into its primary mint over Lightning (lib/fxswap.c). Two test mints:
// the primary, whose invoices are paid only when really paid
// (--no-auto-pay), and a foreign one that pays them (--peer). Every flow
// ends with the audit; a swap killed at each point of each step (quote,
// receive, melt, mint, credit) is finished by the same token again or by
// routstrctl cron, and credits exactly once.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet, getEncodedToken } from '@cashu/cashu-ts';
import { startMint } from '../fakes/mint/spawn.mjs';
import { arm, dies } from './lib/crash.mjs';
import { assertEnvelope, postJson, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, balanceInfo, bearer, chat, chatBody, moneyPrerequisites, routstrctl, stopAndAudit,
} from './lib/money.mjs';

const pre = moneyPrerequisites(['lighttpd']);
const FEE_RESERVE = 2;		// the test mint's melt quotes

const create = (h, token) => postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: token });
const topup = (h, key, token) => postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: token }, bearer(key));

// A token of `sats` from a mint that pays its own quotes.
async function tokenOf(mint, sats) {
	const w = new Wallet(mint.url, { unit: 'sat' });
	await w.loadMint();
	const q = await w.createMintQuoteBolt11(sats);
	const proofs = await w.mintProofsBolt11(sats, q.quote);
	const token = getEncodedToken({ mint: mint.url, unit: 'sat', proofs });
	minted.set(token, proofs);
	return token;
}
const minted = new Map();	// token -> its proofs

// Whether a token's proofs are still unspent at its mint (its holder's).
async function unspent(mint, token) {
	const w = new Wallet(mint.url, { unit: 'sat' });
	await w.loadMint();
	const states = await w.checkProofsStates(minted.get(token));
	return states.every((s) => s.state === 'UNSPENT');
}

describe('foreign-mint tokens under lighttpd', { skip: pre.skip }, () => {
	let h;
	let primary;
	let foreign;

	before(async () => {
		primary = await startMint(['--no-auto-pay']);
		foreign = await startMint(['--peer', primary.url, '--name', 'foreign test mint']);
		h = await startStack('lighttpd', { conf: {
			CASHU_MINTS: primary.url, PRIMARY_MINT_URL: primary.url,
			TEST_CRASH_FILE: '@RUNDIR@/crash-point',
		} });
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
		for (const m of [foreign, primary])
			if (m)
				await m.stop();
	});

	it('create: the key holds the token less the Lightning fee reserve, once, by any route', async () => {
		const t = await tokenOf(foreign, 100);
		const c = await create(h, t);
		assert.equal(c.status, 200, c.text);
		const key = c.json.api_key;
		assert.equal((await balanceInfo(h, key)).balance, (100 - FEE_RESERVE) * 1000);
		assert.equal(await unspent(foreign, t), false, 'the foreign mint took the token');
		// The same token again is the same key, not a second credit.
		const again = await create(h, t);
		assert.equal(again.status, 200, again.text);
		assert.equal(again.json.api_key, key);
		// Through top-up on another key: spent.
		const other = (await create(h, await tokenOf(foreign, 10))).json.api_key;
		assertEnvelope(await topup(h, other, t), 400, 'token_already_spent', 'cashu_token_already_spent');
		assert.equal((await balanceInfo(h, key)).balance, 98000);
		assert.equal((await balanceInfo(h, other)).balance, 8000);
		assertAuditClean(h);
	});

	it('top-up and X-Cashu take foreign tokens too; the change is of the primary mint', async () => {
		const key = (await create(h, await tokenOf(foreign, 20))).json.api_key;
		const up = await topup(h, key, await tokenOf(foreign, 30));
		assert.equal(up.status, 200, up.text);
		assert.equal((await balanceInfo(h, key)).balance, (18 + 28) * 1000);
		const x = await chat(h, chatBody({ max_tokens: 50 }), { 'x-cashu': await tokenOf(foreign, 200), 'x-mock-tokens': '3' });
		assert.equal(x.status, 200, x.text.slice(0, 300));
		const change = x.headers.get('x-cashu');
		assert.ok(change, 'change returned');
		assert.ok(change.startsWith('cashuB'), change);
		const w = new Wallet(primary.url, { unit: 'sat' });
		await w.loadMint();
		assert.ok((await w.receive(change)).length > 0, 'the change is the primary mint\'s');
		assertAuditClean(h);
	});

	it('an unreachable foreign mint, or fees above the token, leave the token with its owner', async () => {
		const t = await tokenOf(foreign, 40);
		await foreign.ctl('POST', '/_test/down', { mode: '503' });
		const r = await create(h, t);
		await foreign.ctl('POST', '/_test/up');
		assertEnvelope(r, 503, 'mint_unreachable', 'cashu_mint_unreachable');
		assert.equal(await unspent(foreign, t), true);
		const small = await tokenOf(foreign, FEE_RESERVE);
		const s = await create(h, small);
		assertEnvelope(s, 422, 'mint_error', 'cashu_token_swap_fees_exceed_amount');
		assert.equal(await unspent(foreign, small), true);
		// It works once the mint is back.
		const ok = await create(h, t);
		assert.equal(ok.status, 200, ok.text);
		assert.equal((await balanceInfo(h, ok.json.api_key)).balance, 38000);
		assertAuditClean(h);
	});

	it('Lightning failing for good gives the value back as a token of its mint, the same every time', async () => {
		const t = await tokenOf(foreign, 60);
		await foreign.ctl('POST', '/_test/fail-next', {
			route: 'POST /v1/melt/bolt11', mode: 'error', code: 20004, detail: 'Lightning payment failed',
		});
		const r = await create(h, t);
		assert.equal(r.status, 422, r.text);
		assert.equal(r.json.error.code, 'cashu_foreign_mint_swap_failed');
		const back = r.json.error.refund_token;
		assert.ok(back, r.text);
		assert.equal(r.headers.get('x-cashu'), back);
		const again = await create(h, t);
		assert.equal(again.status, 422, again.text);
		assert.equal(again.json.error.refund_token, back);
		// The holder redeems it at the foreign mint.
		const w = new Wallet(foreign.url, { unit: 'sat' });
		await w.loadMint();
		const got = await w.receive(back);
		assert.equal(got.reduce((a, p) => a + Number(p.amount), 0), 60);
		assertAuditClean(h);
	});

	it('a swapped token\'s proofs relabelled as the primary mint\'s are spent, not credited again (review)', async () => {
		for (const fail of [false, true]) {
			const t = await tokenOf(foreign, 40);
			if (fail)
				await foreign.ctl('POST', '/_test/fail-next', {
					route: 'POST /v1/melt/bolt11', mode: 'error', code: 20004, detail: 'Lightning payment failed',
				});
			const first = await create(h, t);
			assert.equal(first.status, fail ? 422 : 200, first.text);
			const forged = getEncodedToken({ mint: primary.url, unit: 'sat', proofs: minted.get(t) });
			const r = await create(h, forged);
			assertEnvelope(r, 400, 'token_already_spent', 'cashu_token_already_spent');
		}
		assertAuditClean(h);
	});

	// Each point a swap can die at, and who finishes it.
	const windows = [
		['fx-quoted', 'retry'],
		['fx-receive-sent', 'cron'],
		['fx-receive-answered', 'cron'],
		['fx-receive-done', 'retry'],
		['fx-melt-sent', 'retry'],
		['fx-melt-answered', 'cron'],
		['fx-melt-done', 'retry'],
		['fx-mint-sent', 'cron'],
		['fx-mint-answered', 'retry'],
		['fx-mint-done', 'cron'],
		['fx-credit-done', 'retry'],
	];
	for (const [point, by] of windows) {
		it(`killed at ${point}, finished by ${by === 'cron' ? 'routstrctl cron' : 'the same token again'}: credited once`, async () => {
			const t = await tokenOf(foreign, 50);
			arm(h, point);
			await dies(h, create(h, t));
			if (by === 'cron') {
				const c = routstrctl(h, ['cron', '--force', 'funds']);
				assert.equal(c.status, 0, c.out);
			}
			const r = await create(h, t);
			assert.equal(r.status, 200, r.text);
			assert.equal((await balanceInfo(h, r.json.api_key)).balance, 48000);
			// Once more, and cron again: nothing moves.
			routstrctl(h, ['cron', '--force', 'funds']);
			const again = await create(h, t);
			assert.equal(again.json.api_key, r.json.api_key);
			assert.equal((await balanceInfo(h, r.json.api_key)).balance, 48000);
			assert.equal(await unspent(foreign, t), false);
			assertAuditClean(h);
		});
	}
});
