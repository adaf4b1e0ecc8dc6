// Value leaving over Lightning, under lighttpd (lib/lnout.c): a key's refund
// to its Refund-LNURL (asked for, or at its Key-Expiry-Time through
// routstrctl cron), and the operator's payouts (cron to RECEIVE_LN_ADDRESS,
// routstrctl withdraw by hand). The recipient is the fake LNURL server
// (tests/fakes/lnurl.mjs), receiving at its own test mint, which the node's
// mint pays as a peer; what it was paid is read back from there. A refund
// killed at each step is finished by recovery: paid once, or given back.
// Every flow ends with the audit.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet, getEncodedToken } from '@cashu/cashu-ts';
import { startLnurl } from '../fakes/lnurl-spawn.mjs';
import { startMint } from '../fakes/mint/spawn.mjs';
import { arm, dies } from './lib/crash.mjs';
import { assertEnvelope, fundedKey, postJson, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, balanceInfo, bearer, chat, chatBody, moneyPrerequisites, routstrctl, stopAndAudit,
} from './lib/money.mjs';

const pre = moneyPrerequisites(['lighttpd']);
const refund = (h, key) => postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));

describe('Lightning out under lighttpd', { skip: pre.skip }, () => {
	let h;
	let recv;	// the recipients' mint: its quotes are paid only when paid
	let ln;		// their Lightning addresses
	let addr;

	before(async () => {
		recv = await startMint(['--no-auto-pay', '--name', 'recipient mint']);
		ln = await startLnurl(['--mint', recv.url]);
		addr = (user) => `${user}@127.0.0.1:${ln.port}`;
		h = await startStack('lighttpd', { conf: {
			LNURL_ALLOW_HTTP: 'true',
			RECEIVE_LN_ADDRESS: addr('operator'),
			MIN_PAYOUT_SAT: '20',
			TEST_CRASH_FILE: '@RUNDIR@/crash-point',
		} });
		await h.mint.ctl('POST', '/_test/peers', { add: recv.url });
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
		for (const p of [ln, recv])
			if (p)
				await p.stop();
	});

	const paidTo = async (user) => (await ln.ctl('GET', '/_test/payments')).paid_msat[user] ?? 0;
	// A funded key whose Refund-LNURL (and Key-Expiry-Time) are set the
	// way Routstr's clients set them: headers on a proxied request.
	const keyFor = async (user, sats, extra = {}) => {
		const key = await fundedKey(h, sats);
		const r = await chat(h, chatBody({ max_tokens: 5 }), {
			...bearer(key), 'refund-lnurl': addr(user), 'x-mock-tokens': '1', ...extra,
		});
		assert.equal(r.status, 200, r.text.slice(0, 300));
		return key;
	};

	it('refund to the key\'s Lightning address: paid, the unused fees back on the key', async () => {
		const key = await keyFor('alice', 100);
		const before = (await balanceInfo(h, key)).balance;
		const r = await refund(h, key);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.recipient, addr('alice'));
		assert.equal(r.json.sats, String(Math.floor(before / 1000)));
		assert.ok(r.json.paid_msats >= 90000, r.text);
		assert.equal(await paidTo('alice'), r.json.paid_msats, 'the recipient got the invoice');
		const after = (await balanceInfo(h, key)).balance;
		assert.equal(after, before - r.json.paid_msats - r.json.fee_msats);
		assert.equal(r.json.returned_msats, Math.floor(before / 1000) * 1000 - r.json.paid_msats - r.json.fee_msats);
		assertAuditClean(h);
	});

	it('a Refund-LNURL that is no address is refused at the door', async () => {
		const key = await fundedKey(h, 10);
		for (const bad of ['not an address', 'javascript:alert(1)', 'a@b@c', 'ftp://127.0.0.1/x'])
			assertEnvelope(await chat(h, chatBody({ max_tokens: 5 }), { ...bearer(key), 'refund-lnurl': bad }),
				400, 'invalid_request_error', 'invalid_refund_lnurl');
	});

	it('a recipient that refuses, or sends an invoice for more, gets nothing and the key keeps it', async () => {
		for (const mode of ['error', 'wrong-amount', 'down', 'bad-tag']) {
			const key = await keyFor(`bob-${mode}`, 50);
			const before = (await balanceInfo(h, key)).balance;
			await ln.ctl('POST', '/_test/mode', { mode });
			const r = await refund(h, key);
			await ln.ctl('POST', '/_test/mode', { mode: 'ok' });
			assertEnvelope(r, 502, 'lightning_error', 'refund_recipient_failed');
			assert.equal((await balanceInfo(h, key)).balance, before, mode);
			assert.equal(await paidTo(`bob-${mode}`), 0);
		}
		assertAuditClean(h);
	});

	it('a key past its Key-Expiry-Time is refunded by routstrctl cron, once', async () => {
		const past = String(Math.floor(Date.now() / 1000) - 60);
		const key = await keyFor('carol', 40, { 'key-expiry-time': past });
		const future = await keyFor('dave', 40, { 'key-expiry-time': String(Math.floor(Date.now() / 1000) + 3600) });
		const c = routstrctl(h, ['cron', '--force', 'expiry']);
		assert.equal(c.status, 0, c.out);
		assert.match(c.out, /expiry: 1 expired key\(s\) refunded/);
		assert.ok(await paidTo('carol') > 30000);
		assert.ok((await balanceInfo(h, key)).balance < 5000);
		assert.equal(await paidTo('dave'), 0);
		assert.ok((await balanceInfo(h, future)).balance > 30000);
		const again = routstrctl(h, ['cron', '--force', 'expiry']);
		assert.match(again.out, /expiry: 0 expired/);
		// An address that fails is backed off, not retried every minute
		// ahead of every other expired key.
		const bad = await keyFor('frank', 40, { 'key-expiry-time': past });
		await ln.ctl('POST', '/_test/mode', { mode: 'error' });
		const f1 = routstrctl(h, ['cron', '--force', 'expiry']);
		const f2 = routstrctl(h, ['cron', '--force', 'expiry']);
		await ln.ctl('POST', '/_test/mode', { mode: 'ok' });
		assert.match(f1.out, /expiry: 0 expired key\(s\) refunded over Lightning, 1 failed/);
		assert.match(f2.out, /expiry: 0 expired key\(s\) refunded over Lightning, 0 failed/);
		assert.ok((await balanceInfo(h, bad)).balance > 30000, 'the key keeps its balance');
		assertAuditClean(h);
	});

	// Each step a refund can die at; recovery (cron's funds job) finishes it.
	// paid: whether the recipient ends up paid.
	const windows = [
		['lnout-refund-debited', false],
		['lnout-refund-prepared', false],
		['lnout-refund-sent', false],
		['lnout-refund-answered', true],
		['lnout-refund-melted', true],
	];
	for (const [point, paid] of windows) {
		it(`refund killed at ${point}: recovery ${paid ? 'finishes the payment' : 'gives the debit back'}, once`, async () => {
			const user = `erin-${point}`;
			const key = await keyFor(user, 60);
			const before = (await balanceInfo(h, key)).balance;
			arm(h, point);
			await dies(h, refund(h, key));
			const c = routstrctl(h, ['cron', '--force', 'funds']);
			assert.equal(c.status, 0, c.out);
			const got = await paidTo(user);
			const now = (await balanceInfo(h, key)).balance;
			if (paid) {
				assert.ok(got > 50000, `paid ${got}`);
				// Debited the payment and what Lightning took (at most
				// the test mint's 2-sat fee reserve); the rest is back.
				assert.ok(now <= before - got && now >= before - got - 2000, `${before} -> ${now}`);
			} else {
				assert.equal(got, 0);
				assert.equal(now, before, 'all of it back on the key');
			}
			// Asking again, and cron again, pays nothing twice.
			await refund(h, key);
			routstrctl(h, ['cron', '--force', 'funds']);
			if (paid)
				assert.equal(await paidTo(user), got);
			assertAuditClean(h);
		});
	}

	it('payouts: cron pays the earnings above MIN_PAYOUT_SAT to RECEIVE_LN_ADDRESS, never a user\'s balance', async () => {
		// Earnings: a costly request (10000 completion tokens of the large model).
		const key = await fundedKey(h, 1000);
		const r = await chat(h, chatBody({ model: 'mock-model-large', max_tokens: 10000 }),
			{ ...bearer(key), 'x-mock-tokens': '10000' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		const users = (await balanceInfo(h, key)).balance;
		const c = routstrctl(h, ['cron', '--force', 'payouts']);
		assert.equal(c.status, 0, c.out);
		assert.match(c.out, /ok/);
		const paid = await paidTo('operator');
		assert.ok(paid >= 50000, `operator paid ${paid} msat: ${c.out}`);
		assert.equal((await balanceInfo(h, key)).balance, users);
		// Nothing left above the minimum: the next run pays nothing.
		const again = routstrctl(h, ['cron', '--force', 'payouts']);
		assert.match(again.out, /nothing above/);
		assert.equal(await paidTo('operator'), paid);
		// By hand: more than the earnings is refused; the users' money stays.
		const w = routstrctl(h, ['withdraw', addr('operator'), '--sats', '500']);
		assert.equal(w.status, 1, w.out);
		assert.match(w.out, /nothing/);
		assert.equal((await balanceInfo(h, key)).balance, users);
		// Refunding the user afterwards still works: the wallet covers them.
		const t = await postJson(`${h.baseUrl}/v1/balance/refund`, {}, bearer(key));
		assert.equal(t.status, 200, t.text);
		assertAuditClean(h);
	});

	it('payout killed after the mint paid: the next run records it, never pays twice', async () => {
		const key = await fundedKey(h, 1000);
		await chat(h, chatBody({ model: 'mock-model-large', max_tokens: 10000 }),
			{ ...bearer(key), 'x-mock-tokens': '10000' });
		const before = await paidTo('operator');
		arm(h, 'lnout-payout-answered');
		const c = routstrctl(h, ['cron', '--force', 'payouts']);
		assert.notEqual(c.status, 0, 'the run died');
		const mid = await paidTo('operator');
		assert.ok(mid > before, 'the mint paid before the run died');
		const again = routstrctl(h, ['cron', '--force', 'payouts']);
		assert.equal(again.status, 0, again.out);
		assert.equal(await paidTo('operator'), mid, 'not paid twice');
		assertAuditClean(h);
	});
});

describe('payouts with two trusted mints under lighttpd', { skip: pre.skip }, () => {
	let h;
	let A;
	let B;

	before(async () => {
		A = await startMint(['--name', 'primary mint']);
		B = await startMint(['--name', 'second trusted mint']);
		h = await startStack('lighttpd', { conf: { CASHU_MINTS: `${A.url},${B.url}`, PRIMARY_MINT_URL: A.url } });
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
		for (const m of [A, B])
			if (m)
				await m.stop();
	});

	const tokenAt = async (mint, sats) => {
		const w = new Wallet(mint.url, { unit: 'sat' });
		await w.loadMint();
		const q = await w.createMintQuoteBolt11(sats);
		const proofs = await w.mintProofsBolt11(sats, q.quote);
		return getEncodedToken({ mint: mint.url, unit: 'sat', proofs });
	};

	it('a key topped up at another mint than its refund mint is not paid out as earnings (review)', async () => {
		const c = await postJson(`${h.baseUrl}/v1/balance/create`, { initial_balance_token: await tokenAt(A, 100) });
		assert.equal(c.status, 200, c.text);
		const key = c.json.api_key;
		const up = await postJson(`${h.baseUrl}/v1/balance/topup`, { cashu_token: await tokenAt(B, 200) }, bearer(key));
		assert.equal(up.status, 200, up.text);
		assert.equal((await balanceInfo(h, key)).balance, 300000);
		// B holds 200 sat that no key names as its refund mint: they are
		// still the users'.
		const w = new Wallet(B.url, { unit: 'sat' });
		await w.loadMint();
		const inv = await w.createMintQuoteBolt11(150);
		const wd = routstrctl(h, ['withdraw', inv.request, '--mint', B.url]);
		assert.equal(wd.status, 1, wd.out);
		assert.match(wd.out, /nothing/);
		assert.equal((await balanceInfo(h, key)).balance, 300000);
		assertAuditClean(h);
	});
});
