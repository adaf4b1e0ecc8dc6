// The operator's dashboard under lighttpd, over plain HTTP (the browser
// test is dashboard-browser.test.mjs): who may do what. A login sets an
// HttpOnly, SameSite=Strict session cookie; every page needs it; every form
// post needs the session's CSRF token; wrong passwords are rate-limited;
// the JSON admin API takes a session id or an admin token as a bearer
// token; users' balances are never withdrawable as earnings.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fundedKey, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, bearer, chat, chatBody, moneyPrerequisites, routstrctl, routstrctlBinary, stopAndAudit,
} from './lib/money.mjs';

const pre = moneyPrerequisites(['lighttpd']);
export const PASSWORD = 'correct horse battery staple';

// routstrctl with stdin (set-password reads the password from it).
function ctlInput(h, args, input) {
	const rundir = h.server.rundir;
	const owner = {};
	if (process.getuid?.() === 0) {
		const st = fs.statSync(rundir);
		owner.uid = st.uid;
		owner.gid = st.gid;
	}
	const r = spawnSync(routstrctlBinary(), args, {
		...owner, cwd: rundir, encoding: 'utf8', input, timeout: 30000,
		env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:///${rundir}/routstr.db`,
			ROUTSTR_CONFIG: path.join(rundir, 'routstr.conf') },
	});
	return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

// A request that does not follow redirects; returns status, headers, text.
async function req(h, p, { method = 'GET', cookie, form, headers = {}, json } = {}) {
	const hd = { ...headers };
	let body;
	if (cookie)
		hd.cookie = cookie;
	if (form) {
		hd['content-type'] = 'application/x-www-form-urlencoded';
		body = new URLSearchParams(form).toString();
	}
	if (json !== undefined) {
		hd['content-type'] = 'application/json';
		body = JSON.stringify(json);
	}
	const r = await fetch(`${h.baseUrl}${p}`, { method, headers: hd, body, redirect: 'manual' });
	const text = await r.text();
	return { status: r.status, headers: r.headers, text };
}

async function login(h, password = PASSWORD) {
	const r = await req(h, '/admin/login', { method: 'POST', form: { password } });
	const set = r.headers.get('set-cookie') || '';
	const m = /routstr_admin=([^;]*)/.exec(set);
	return { r, set, cookie: m ? `routstr_admin=${m[1]}` : null };
}

const csrfOf = (html) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

describe('dashboard under lighttpd', { skip: pre.skip }, () => {
	let h;

	before(async () => {
		h = await startStack('lighttpd');
		const s = ctlInput(h, ['set-password'], `${PASSWORD}\n`);
		assert.equal(s.status, 0, s.out);
	});
	after(async () => {
		if (h)
			await stopAndAudit(h);
	});

	it('pages need a session: a browser is sent to the login page, the API answers 401', async () => {
		for (const p of ['/admin/', '/admin/keys', '/admin/withdraw', '/admin/providers',
			'/admin/settings', '/admin/transactions', '/admin/logs', '/admin/payouts']) {
			const r = await req(h, p);
			assert.equal(r.status, 303, `${p}: ${r.status}`);
			assert.equal(r.headers.get('location'), '/admin/login');
		}
		assert.equal((await req(h, '/admin/api/balances')).status, 401);
		assert.equal((await req(h, '/admin/api/balances', { cookie: 'routstr_admin=forged' })).status, 401);
		const lp = await req(h, '/admin/login');
		assert.equal(lp.status, 200);
		assert.match(lp.headers.get('content-security-policy'), /frame-ancestors 'none'/);
		assert.match(lp.text, /<form[^>]*action="\/admin\/login"/);
	});

	it('login: the session cookie is HttpOnly and SameSite=Strict; logout ends it everywhere', async () => {
		const bad = await login(h, 'wrong password here');
		assert.equal(bad.r.status, 401);
		assert.equal(bad.cookie, null);
		const { r, set, cookie } = await login(h);
		assert.equal(r.status, 303, r.text);
		assert.match(set, /HttpOnly/);
		assert.match(set, /SameSite=Strict/);
		assert.match(set, /Path=\/admin/);
		const page = await req(h, '/admin/', { cookie });
		assert.equal(page.status, 200, page.text.slice(0, 200));
		assert.match(page.text, /Overview/);
		assert.match(page.headers.get('cache-control'), /no-store/);
		const csrf = csrfOf(page.text);
		assert.ok(csrf, 'the layout carries the CSRF token in its logout form');
		// Logout without the CSRF token is refused; with it, the session ends.
		assert.equal((await req(h, '/admin/logout', { method: 'POST', cookie, form: {} })).status, 403);
		const out = await req(h, '/admin/logout', { method: 'POST', cookie, form: { csrf } });
		assert.equal(out.status, 303);
		assert.equal((await req(h, '/admin/', { cookie })).status, 303, 'the old cookie is dead');
	});

	it('every form post without the session\'s CSRF token is refused and changes nothing', async () => {
		const { cookie } = await login(h);
		const page = await req(h, '/admin/providers', { cookie });
		const csrf = csrfOf(page.text);
		const form = { slug: 'evil', type: 'openai', base_url: 'https://evil.example/v1', fee: '1' };
		for (const token of [undefined, 'x'.repeat(43), csrf.slice(0, -1)]) {
			const r = await req(h, '/admin/providers', { method: 'POST', cookie,
				form: token === undefined ? form : { ...form, csrf: token } });
			assert.equal(r.status, 403, r.text.slice(0, 200));
		}
		assert.doesNotMatch((await req(h, '/admin/providers', { cookie })).text, /evil\.example/);
		// With it: saved, shown, and the catalogue sees the provider.
		const ok = await req(h, '/admin/providers', { method: 'POST', cookie, form: { ...form, csrf } });
		assert.equal(ok.status, 200, ok.text.slice(0, 300));
		assert.match(ok.text, /evil\.example/);
		assert.match(routstrctl(h, ['provider', 'list']).out, /evil/);
		const off = await req(h, '/admin/provider-toggle', { method: 'POST', cookie, form: { csrf, slug: 'evil' } });
		assert.equal(off.status, 200);
		assert.match(off.text, /disabled/);
		assert.doesNotMatch(routstrctl(h, ['provider', 'list']).out, /evil/, 'a disabled provider serves nothing');
	});

	it('the JSON API: a session id or an admin token as bearer; keys, balances, settings', async () => {
		const t = ctlInput(h, ['admin-token', 'create', '--name', 'e2e'], '');
		assert.equal(t.status, 0, t.out);
		const token = /(rsa_[A-Za-z0-9_-]{43})/.exec(t.out)?.[1];
		assert.ok(token, t.out);
		const key = await fundedKey(h, 50);
		const ks = await req(h, '/admin/api/temporary-balances?limit=10', { headers: bearer(token) });
		assert.equal(ks.status, 200, ks.text);
		const list = JSON.parse(ks.text);
		assert.ok(list.balances.some((k) => `sk-${k.hashed_key}` === key || key.endsWith(k.hashed_key)));
		const bal = JSON.parse((await req(h, '/admin/api/balances', { headers: bearer(token) })).text);
		assert.ok(bal.length >= 1 && 'owner_balance' in bal[0], JSON.stringify(bal));
		const st = JSON.parse((await req(h, '/admin/api/settings', { headers: bearer(token) })).text);
		assert.equal(st.upstream_api_key, '[REDACTED]');
		assert.equal((await req(h, '/admin/api/settings', { headers: bearer('rsa_nope') })).status, 401);
		const bad = await req(h, '/admin/api/settings', { method: 'PATCH', headers: bearer(token),
			json: { min_payout_sat: 'lots', database_url: 'sqlite:////tmp/x' } });
		assert.equal(bad.status, 400, bad.text);
		assert.equal(JSON.parse(bad.text).detail.length, 2, 'every value checked: ' + bad.text);
		const half = await req(h, '/admin/api/settings', { method: 'PATCH', headers: bearer(token),
			json: { name: 'saved only if all are good', min_payout_sat: 'lots' } });
		assert.equal(half.status, 400);
		assert.notEqual(JSON.parse((await req(h, '/admin/api/settings', { headers: bearer(token) })).text).name,
			'saved only if all are good');
		const good = await req(h, '/admin/api/settings', { method: 'PATCH', headers: bearer(token),
			json: { min_payout_sat: '321' } });
		assert.equal(good.status, 200, good.text);
		assert.equal(JSON.parse(good.text).min_payout_sat, '321');
		assert.equal((await req(h, '/admin/api/settings', { method: 'PATCH', headers: bearer(token),
			json: { min_payout_sat: null } })).status, 200);
		// Users' balances are not the operator's to withdraw.
		const w = await req(h, '/admin/withdraw', { method: 'POST', headers: bearer(token), json: { amount: 50 } });
		assert.equal(w.status, 400, w.text);
		const limit = await req(h, `/admin/api/apikeys/${key.replace(/^sk-/, '')}`, {
			method: 'PATCH', headers: bearer(token), json: { balance_limit: 12345 } });
		assert.equal(limit.status, 200, limit.text);
		assert.equal(JSON.parse(limit.text).balance_limit, 12345);
		// Providers, as Routstr's automation drives them.
		const add = await req(h, '/admin/api/upstream-providers', { method: 'POST', headers: bearer(token),
			json: { slug: 'api-made', provider_type: 'openai', base_url: 'https://api.example/v1',
				api_key: 'sk-upstream-secret', provider_fee: 1.05 } });
		assert.equal(add.status, 201, add.text);
		const made = JSON.parse(add.text);
		assert.equal(made.api_key, '[REDACTED]');
		assert.equal(made.provider_fee, 1.05);
		assert.equal((await req(h, '/admin/api/upstream-providers', { method: 'POST', headers: bearer(token),
			json: { slug: 'api-made', provider_type: 'openai', base_url: 'https://x/v1' } })).status, 409);
		const patch = await req(h, `/admin/api/upstream-providers/${made.id}`, { method: 'PATCH',
			headers: bearer(token), json: { provider_fee: 1.2, enabled: false, api_key: '[REDACTED]' } });
		assert.equal(patch.status, 200, patch.text);
		assert.equal(JSON.parse(patch.text).provider_fee, 1.2);
		assert.equal(JSON.parse(patch.text).enabled, false);
		assert.equal(JSON.parse(patch.text).api_key, '[REDACTED]', 'the redacted key sent back keeps the key');
		const all = JSON.parse((await req(h, '/admin/api/upstream-providers', { headers: bearer(token) })).text);
		assert.ok(all.some((p) => p.slug === 'api-made' && !p.enabled));
		assert.doesNotMatch(JSON.stringify(all), /sk-upstream-secret/);
		// Admin tokens through the API (a session's bearer makes one).
		const sess = JSON.parse((await req(h, '/admin/api/login', { method: 'POST', json: { password: PASSWORD } })).text);
		assert.ok(sess.token && sess.expires_in > 0, JSON.stringify(sess));
		const made2 = JSON.parse((await req(h, '/admin/api/cli-tokens', { method: 'POST',
			headers: bearer(sess.token), json: { name: 'made by api' } })).text);
		assert.match(made2.token, /^rsa_/);
		assert.equal((await req(h, '/admin/api/balances', { headers: bearer(made2.token) })).status, 200);
		const toks = JSON.parse((await req(h, '/admin/api/cli-tokens', { headers: bearer(sess.token) })).text);
		assert.ok(toks.some((t) => t.name === 'made by api') && !JSON.stringify(toks).includes(made2.token));
		assert.equal((await req(h, `/admin/api/cli-tokens/${made2.id}`, { method: 'DELETE', headers: bearer(sess.token) })).status, 200);
		assert.equal((await req(h, '/admin/api/balances', { headers: bearer(made2.token) })).status, 401, 'revoked');
		assert.equal((await req(h, '/admin/api/lightning-invoices', { headers: bearer(sess.token) })).status, 200);
		// Usage, from the ledger's requests: one paid chat shows in every view.
		const c = await chat(h, chatBody({ max_tokens: 20 }), { ...bearer(key), 'x-mock-tokens': '5' });
		assert.equal(c.status, 200, c.text.slice(0, 200));
		const met = JSON.parse((await req(h, '/admin/api/usage/metrics?hours=1&interval=60', { headers: bearer(sess.token) })).text);
		assert.equal(met.total_buckets, 1);
		assert.ok(met.totals.successful_chat_completions >= 1 && met.totals.revenue_msats > 0, JSON.stringify(met.totals));
		assert.equal(met.totals.output_tokens >= 5, true);
		const bym = JSON.parse((await req(h, '/admin/api/usage/revenue-by-model?hours=1', { headers: bearer(sess.token) })).text);
		assert.ok(bym.models.some((m) => m.model === 'mock-model' && m.requests >= 1), JSON.stringify(bym));
		const sum = JSON.parse((await req(h, '/admin/api/usage/summary?hours=1', { headers: bearer(sess.token) })).text);
		assert.equal(sum.revenue_msats, met.totals.revenue_msats);
		assert.equal((await req(h, '/admin/api/logout', { method: 'POST', headers: bearer(sess.token) })).status, 200);
		assert.equal((await req(h, '/admin/api/balances', { headers: bearer(sess.token) })).status, 401, 'logged out');
		const pm = JSON.parse((await req(h, '/admin/api/upstream-providers/generic/models', { headers: bearer(token) })).text);
		assert.ok(pm.db_models.some((m) => m.id === 'mock-model' && Number(m.pricing.completion) > 0), JSON.stringify(pm).slice(0, 300));
		const del = await req(h, '/admin/api/upstream-providers/api-made', { method: 'DELETE', headers: bearer(token) });
		assert.equal(del.status, 200, del.text);
		assert.equal((await req(h, '/admin/api/upstream-providers/api-made', { headers: bearer(token) })).status, 404);
		assertAuditClean(h);
	});

	it('a setting saved in the dashboard takes effect in every process, and can be reset', async () => {
		const { cookie } = await login(h);
		const page = await req(h, '/admin/settings', { cookie });
		assert.equal(page.status, 200);
		const csrf = csrfOf(page.text);
		const save = (name, value, action = 'save') => req(h, '/admin/settings', { method: 'POST', cookie,
			form: { csrf, name, value, action } });
		const ok = await save('NAME', 'Node of the test');
		assert.equal(ok.status, 200, ok.text.slice(0, 300));
		assert.match(ok.text, /NAME saved/);
		assert.match(ok.text, /dashboard/);
		// Every process picks it up within a second or so.
		let name;
		for (let i = 0; i < 30 && name !== 'Node of the test'; i++) {
			name = (await (await fetch(`${h.baseUrl}/v1/info`)).json()).name;
			if (name !== 'Node of the test')
				await new Promise((r) => setTimeout(r, 200));
		}
		assert.equal(name, 'Node of the test');
		assert.equal((await save('MIN_PAYOUT_SAT', 'lots')).status, 400, 'checked as the file would be');
		assert.equal((await save('DATABASE_URL', 'sqlite:////tmp/x.db')).status, 400, 'not at run time');
		const reset = await save('NAME', '', 'reset');
		assert.equal(reset.status, 200, reset.text.slice(0, 300));
		for (let i = 0; i < 30 && name === 'Node of the test'; i++) {
			name = (await (await fetch(`${h.baseUrl}/v1/info`)).json()).name;
			if (name === 'Node of the test')
				await new Promise((r) => setTimeout(r, 200));
		}
		assert.notEqual(name, 'Node of the test');
	});

	it('models: hidden from /v1/models and shown again; a model test reaches the upstream, unbilled', async () => {
		const { cookie } = await login(h);
		const page = await req(h, '/admin/models', { cookie });
		assert.equal(page.status, 200);
		assert.match(page.text, /mock-model-large/);
		assert.match(page.text, /10\.000000/, 'completion price of mock-model-large: $10 per million');
		const csrf = csrfOf(page.text);
		const listed = async () => (await (await fetch(`${h.baseUrl}/v1/models`)).json()).data.map((m) => m.id);
		assert.ok((await listed()).includes('mock-cut'));
		const hide = await req(h, '/admin/model-toggle', { method: 'POST', cookie, form: { csrf, id: 'mock-cut', shown: '0' } });
		assert.equal(hide.status, 200, hide.text.slice(0, 200));
		assert.ok(!(await listed()).includes('mock-cut'));
		const show = await req(h, '/admin/model-toggle', { method: 'POST', cookie, form: { csrf, id: 'mock-cut', shown: '1' } });
		assert.equal(show.status, 200);
		assert.ok((await listed()).includes('mock-cut'));
		// Prices: mock-model's completion from $0.60 to $6 per million; a
		// request then costs what the new price says.
		const priceOf = async () => Number((await (await fetch(`${h.baseUrl}/v1/models`)).json()).data
			.find((x) => x.id === 'mock-cut').pricing.completion);
		const before = await priceOf();
		const price = await req(h, '/admin/model-price', { method: 'POST', cookie,
			form: { csrf, model: 'mock-cut', prompt: '0.15', completion: '6' } });
		assert.equal(price.status, 200, price.text.slice(0, 300));
		assert.match(price.text, /Prices of mock-cut saved/);
		assert.match(price.text, /6\.000000/);
		const after = await priceOf();
		assert.ok(Math.abs(after / before - 10) < 0.01, `completion ${before} -> ${after}: ten times`);
		assert.equal((await req(h, '/admin/model-price', { method: 'POST', cookie,
			form: { csrf, model: 'mock-cut', prompt: 'cheap', completion: '1' } })).status, 400);
		const t = await req(h, '/admin/model-test', { method: 'POST', cookie, form: { csrf, model: 'mock-model' } });
		assert.equal(t.status, 200);
		assert.match(t.text, /class="flash"[^>]*>mock-model via [a-z0-9-]+: HTTP 200 in [0-9]+ ms/);
		assertAuditClean(h);
	});

	it('a hostile value shows as text on the page it reaches', async () => {
		const hostile = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>';
		const { cookie } = await login(h);
		const r = await req(h, `/admin/keys?q=${encodeURIComponent(hostile)}`, { cookie });
		assert.equal(r.status, 200);
		assert.doesNotMatch(r.text, /<script>alert|<img src=x/);
		assert.match(r.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&#39;&gt;&lt;img/);
	});

	it('wrong passwords are rate-limited per client', async () => {
		let last;
		for (let i = 0; i < 7; i++)
			last = await login(h, `not the password ${i}`);
		assert.equal(last.r.status, 429);
		assert.ok(Number(last.r.headers.get('retry-after')) > 0);
		// The right password is refused too while the client is limited.
		assert.equal((await login(h)).r.status, 429);
	});
});

// The same dashboard mounted under a user's directory, as on shared hosting:
// every link, form action, redirect and the cookie's Path carry the mount.
const MOUNT = '/~alice/routstr';
for (const setup of ['lighttpd', 'apache-fcgid', 'apache-proxy-fcgi']) {
	const preM = moneyPrerequisites([setup]);
	describe(`dashboard mounted at ${MOUNT} under ${setup}`, { skip: preM.skip }, () => {
		let h;

		before(async () => {
			h = await startStack(setup, { mount: MOUNT });
			const s = ctlInput(h, ['set-password'], `${PASSWORD}\n`);
			assert.equal(s.status, 0, s.out);
		});
		after(async () => {
			if (h)
				await stopAndAudit(h);
		});

		it('redirects, the cookie Path, every link and form carry the mount; logout too', async () => {
			const anon = await req(h, '/admin/keys');
			assert.equal(anon.status, 303);
			assert.equal(anon.headers.get('location'), `${MOUNT}/admin/login`);
			const { r, set, cookie } = await login(h);
			assert.equal(r.status, 303, r.text.slice(0, 200));
			assert.equal(r.headers.get('location'), `${MOUNT}/admin/`);
			assert.match(set, new RegExp(`Path=${MOUNT.replace(/[~/]/g, '\\$&')}/admin`));
			const page = await req(h, '/admin/', { cookie });
			assert.equal(page.status, 200, page.text.slice(0, 200));
			const urls = [...page.text.matchAll(/(?:href|action)="([^"]+)"/g)].map((m) => m[1]);
			assert.ok(urls.length > 8, urls.join(' '));
			for (const u of urls)
				assert.ok(u.startsWith(`${MOUNT}/admin`) || u.startsWith('static/') || u === 'data:,', `a URL outside the mount: ${u}`);
			const css = await req(h, '/admin/static/style.css');
			assert.equal(css.status, 200);
			const csrf = csrfOf(page.text);
			const out = await req(h, '/admin/logout', { method: 'POST', cookie, form: { csrf } });
			assert.equal(out.headers.get('location'), `${MOUNT}/admin/login`);
			assert.equal((await req(h, '/admin/', { cookie })).status, 303);
		});
	});
}
