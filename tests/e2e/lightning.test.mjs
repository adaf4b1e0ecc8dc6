// Lightning deposits under lighttpd, against the test mint: an invoice is a
// NUT-04 mint quote; once paid it creates a key or tops one up, exactly
// once, whether the client polls, several poll at once, or nobody polls and
// routstrctl cron's watcher finds it; a settle killed at each step of the
// mint is finished afterwards. Every run ends with a clean audit.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMint } from '../fakes/mint/spawn.mjs';
import { fundedKey, getJson, postJson, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, balanceInfo, bearer, moneyPrerequisites, routstrctl, routstrctlBinary, stopAndAudit,
} from './lib/money.mjs';

const pre = moneyPrerequisites(['lighttpd']);
const invoice = (h, body, headers = {}) =>
	postJson(`${h.baseUrl}/v1/balance/lightning/invoice`, body, headers);
const status = (h, id) => getJson(`${h.baseUrl}/v1/balance/lightning/invoice/${id}/status`);

describe('Lightning deposits under lighttpd', { skip: pre.skip }, () => {
	let h;
	let mint;

	before(async () => {
		// A mint that waits to be told an invoice was paid.
		mint = await startMint(['--no-auto-pay']);
		h = await startStack('lighttpd', { conf: {
			CASHU_MINTS: mint.url, PRIMARY_MINT_URL: mint.url,
			TEST_CRASH_FILE: '@RUNDIR@/crash-point',
		} });
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
		if (mint)
			await mint.stop();
	});

	const pay = async (quote) => {
		await mint.ctl('POST', `/_test/pay/${encodeURIComponent(quote)}`);
	};

	it('create: pending until paid, then the key, once, however many polls', async () => {
		const r = await invoice(h, { amount_sats: 21, purpose: 'create' });
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(Object.keys(r.json).sort(),
			['amount_sats', 'bolt11', 'expires_at', 'invoice_id', 'payment_hash']);
		assert.match(r.json.invoice_id, /^[A-Za-z0-9_-]{22}$/);
		assert.equal(r.json.amount_sats, 21);
		const s0 = await status(h, r.json.invoice_id);
		assert.equal(s0.status, 200, s0.text);
		assert.equal(s0.json.status, 'pending');
		assert.equal(s0.json.api_key, null);
		await pay(r.json.payment_hash);
		// Eight clients poll at once.
		const polls = await Promise.all(Array.from({ length: 8 }, () => status(h, r.json.invoice_id)));
		const keys = new Set(polls.map((p) => p.json.api_key));
		for (const p of polls)
			assert.equal(p.json.status, 'paid', p.text);
		assert.equal(keys.size, 1);
		const key = [...keys][0];
		assert.match(key, /^sk-[0-9a-f]{64}$/);
		assert.equal((await balanceInfo(h, key)).balance, 21000);
		assert.equal((await status(h, r.json.invoice_id)).json.api_key, key);
		assert.equal((await balanceInfo(h, key)).balance, 21000, 'credited once');
		assertAuditClean(h);
	});

	it('topup: needs the key; paid and nobody polls: cron\'s watcher credits it, once', async () => {
		const k = await invoice(h, { amount_sats: 5, purpose: 'create' });
		await pay(k.json.payment_hash);
		const key = (await status(h, k.json.invoice_id)).json.api_key;
		const no = await invoice(h, { amount_sats: 10, purpose: 'topup' });
		assert.equal(no.status, 401, no.text);
		const bad = await invoice(h, { amount_sats: 10, purpose: 'topup' }, bearer('sk-nope'));
		assert.equal(bad.status, 404, bad.text);
		const t = await invoice(h, { amount_sats: 10, purpose: 'topup' }, bearer(key));
		assert.equal(t.status, 200, t.text);
		await pay(t.json.payment_hash);
		const c = routstrctl(h, ['cron', 'invoices']);
		assert.equal(c.status, 0, c.out);
		assert.match(c.out, /invoices: [0-9]+ checked, 1 paid/);
		assert.equal((await balanceInfo(h, key)).balance, 15000);
		const again = routstrctl(h, ['cron', 'invoices']);
		assert.match(again.out, /invoices: 0 checked/);
		const s = await status(h, t.json.invoice_id);
		assert.equal(s.json.status, 'paid');
		// Whoever paid a top-up does not get the key it credited.
		assert.equal(s.json.api_key, null);
		assert.equal((await balanceInfo(h, key)).balance, 15000, 'credited once');
		// recover by bolt11 answers the same
		const rec = await postJson(`${h.baseUrl}/v1/balance/lightning/recover`, { bolt11: t.json.bolt11 });
		assert.equal(rec.status, 200, rec.text);
		assert.equal(rec.json.status, 'paid');
		assert.equal(rec.json.api_key, null, 'a bolt11 is no key');
		assertAuditClean(h);
	});

	it('polls and cron\'s watcher racing on one paid invoice: one key, one credit', async () => {
		const r = await invoice(h, { amount_sats: 13, purpose: 'create' });
		await pay(r.json.payment_hash);
		// Two crons (as a routstrctl run as www-data would be) and four
		// polls at once.
		const cron = () => new Promise((resolve) => {
			const rundir = h.server.rundir;
			const st = fs.statSync(rundir);
			const p = spawn(routstrctlBinary(), ['cron', 'invoices'], {
				cwd: rundir, uid: st.uid, gid: st.gid,
				env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:///${rundir}/routstr.db`,
					ROUTSTR_CONFIG: path.join(rundir, 'routstr.conf') },
			});
			let out = '';
			p.stdout.on('data', (d) => { out += d; });
			p.on('exit', (code) => resolve({ code, out }));
		});
		const [c1, c2, ...polls] = await Promise.all([cron(), cron(),
			...Array.from({ length: 4 }, () => status(h, r.json.invoice_id))]);
		assert.equal(c1.code, 0, c1.out);
		assert.equal(c2.code, 0, c2.out);
		const after = await status(h, r.json.invoice_id);
		assert.equal(after.json.status, 'paid');
		for (const p of polls)
			assert.ok(p.json.api_key === null || p.json.api_key === after.json.api_key, p.text);
		assert.equal((await balanceInfo(h, after.json.api_key)).balance, 13000, 'credited once');
		assertAuditClean(h);
	});

	it('bad input: unknown invoice 404, amounts out of range 422', async () => {
		assert.equal((await status(h, 'A'.repeat(22))).status, 404);
		assert.equal((await status(h, '../../x')).status, 404);
		for (const amount_sats of [0, 1000001, '5', 2.5])
			assert.equal((await invoice(h, { amount_sats })).status, 422);
		assert.equal((await invoice(h, { amount_sats: 5, purpose: 'steal' })).status, 422);
		const rec = await postJson(`${h.baseUrl}/v1/balance/lightning/recover`, { bolt11: 'lnbc1nothing' });
		assert.equal(rec.status, 404);
	});

	// A settle killed at each step of minting the paid invoice's proofs:
	// the next poll (or cron) finishes it, and the key gets the value once.
	for (const point of ['wallet-prepared', 'wallet-sent', 'wallet-answered']) {
		it(`a settle killed at ${point}: finished afterwards, credited once`, async () => {
			const r = await invoice(h, { amount_sats: 8, purpose: 'create' });
			await pay(r.json.payment_hash);
			const f = path.join(h.server.rundir, 'crash-point');
			fs.writeFileSync(f, point, { mode: 0o666 });
			const dead = await status(h, r.json.invoice_id).catch(() => ({ status: 0 }));
			assert.ok(dead.status === 0 || dead.status >= 500, `${dead.status} ${dead.text}`);
			assert.equal(fs.existsSync(f), false, `reached ${point}`);
			// The web server respawns routstr; cron finishes what died
			// (the mint operation, then the credit).
			let s;
			for (let i = 0; i < 50; i++) {
				routstrctl(h, ['cron', '--force']);
				s = await status(h, r.json.invoice_id).catch(() => null);
				if (s?.json?.status === 'paid')
					break;
				await new Promise((ok) => setTimeout(ok, 400));
			}
			assert.equal(s?.json?.status, 'paid', JSON.stringify(s?.json));
			assert.equal((await balanceInfo(h, s.json.api_key)).balance, 8000);
			assertAuditClean(h, `after ${point}`);
		});
	}
});

describe('Lightning with an auto-paying mint', { skip: pre.skip }, () => {
	let h;

	before(async () => {
		h = await startStack('lighttpd');
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
	});

	it('the key from an invoice pays for a chat', async () => {
		const r = await invoice(h, { amount_sats: 100 });
		assert.equal(r.status, 200, r.text);
		const s = await status(h, r.json.invoice_id);
		assert.equal(s.json.status, 'paid', s.text);
		const c = await postJson(`${h.baseUrl}/v1/chat/completions`, {
			model: 'mock-model', messages: [{ role: 'user', content: 'hi' }],
		}, bearer(s.json.api_key));
		assert.equal(c.status, 200, c.text);
		const k2 = await fundedKey(h, 3);
		assert.ok(k2);
	});
});
