// The operator's dashboard in a real browser: Debian's chromium, driven by
// playwright-core, against routstr.fcgi under a real web server. The flow an
// operator goes through: log in (a wrong password first), read the overview,
// withdraw the earnings as a Cashu token and redeem it at the test mint,
// edit a provider, read the settings, visit every other page, log out. On the
// way: pages without a session send the browser to the login page, a form
// posted without its CSRF token is refused, every page is valid HTML
// (html-validate), carries its security headers and shows no CSP violation
// or script error in the console, and a full-page screenshot of each is
// saved as a test artifact (ARTIFACTS_DIR/dashboard/<setup>/, default
// tests/e2e/.artifacts/dashboard/<setup>/).
//
// The plain-HTTP test of the same rules is dashboard.test.mjs.
//
//   cd tests && node --test e2e/dashboard-browser.test.mjs
//   CHROMIUM_PATH=/path/to/chromium ...     (default /usr/bin/chromium)
//
// Nothing is installed at run time: chromium is Debian's package (scripts/dev
// installs it), playwright-core and html-validate are in tests/package.json.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { REPO_ROOT, UPSTREAM_API_KEY, fundedKey, startStack } from './lib/harness.mjs';
import {
	assertAuditClean, bearer, chat, chatBody, moneyPrerequisites, redeemAtMint, routstrctlBinary,
	stopAndAudit, tokenValue,
} from './lib/money.mjs';

const PASSWORD = 'correct horse battery staple, in a browser';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// ------------------------------------------------------------ set-ups

// Where the dashboard is served from. Each entry runs the whole flow:
//   name    label, and the screenshots' subdirectory
//   server  a set-up of lib/servers.mjs
//   mount   the sub-path the node is mounted under ('' = the root)
const ROOT_SETUPS = [
	{ name: 'lighttpd', server: 'lighttpd', mount: '' },
];

// The same flow under a user's directory, as on shared hosting
// (lib/servers.mjs's mount): every link, form, redirect and the cookie's
// Path carry it.
const SUBPATH_SETUPS = [
	{ name: 'lighttpd-subpath', server: 'lighttpd', mount: '/~alice/routstr' },
	{ name: 'apache-proxy-fcgi-subpath', server: 'apache-proxy-fcgi', mount: '/~alice/routstr' },
];

const SETUPS = [...ROOT_SETUPS, ...SUBPATH_SETUPS];

// ------------------------------------------------------------ prerequisites

// playwright-core and html-validate are loaded here rather than imported at
// the top, so that a tests/node_modules from before they were added makes
// this suite skip (or fail, in CI) with a reason instead of crashing.
async function load(name) {
	try {
		return await import(name);
	} catch {
		return null;
	}
}
const playwright = await load('playwright-core');
const htmlValidate = await load('html-validate');

function executable(p) {
	try {
		fs.accessSync(p, fs.constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

// moneyPrerequisites (root, the web servers, routstr.fcgi, routstrctl), plus
// the browser and the two npm packages. As everywhere in these suites: a
// skip with the reason, or under ROUTSTR_E2E_REQUIRED (CI) a failing test.
function browserPrerequisites() {
	const pre = moneyPrerequisites([...new Set(SETUPS.map((s) => s.server))]);
	if (pre.skip)
		return pre;
	const miss = [];
	if (!executable(CHROMIUM))
		miss.push(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
	if (!playwright)
		miss.push('playwright-core is not in tests/node_modules (cd tests && npm ci)');
	if (!htmlValidate)
		miss.push('html-validate is not in tests/node_modules (cd tests && npm ci)');
	if (miss.length === 0)
		return { skip: false };
	const reason = `browser test prerequisites missing: ${miss.join('; ')}`;
	if (process.env.ROUTSTR_E2E_REQUIRED) {
		test('browser test prerequisites (ROUTSTR_E2E_REQUIRED is set)', () => {
			assert.fail(reason);
		});
		return { skip: reason, required: true };
	}
	process.stderr.write(`# SKIPPING: ${reason}\n`);
	return { skip: reason };
}

const pre = browserPrerequisites();

// ------------------------------------------------------------ HTML validation

// html-validate's recommended preset as it is: nothing is relaxed (the
// templates were fixed to pass it). A rule relaxed here needs its reason
// beside it. root: no .htmlvalidate.json from the tree is merged in.
const VALIDATOR_CONFIG = {
	root: true,
	extends: ['html-validate:recommended'],
};

let validator;

// Validate a page's source (the bytes the server sent, not the DOM the
// browser built from them); a readable list of the messages, empty if valid.
async function validate(html) {
	validator ??= new htmlValidate.HtmlValidate(VALIDATOR_CONFIG);
	const report = await validator.validateString(html);
	const lines = html.split('\n');
	const out = [];
	for (const r of report.results)
		for (const m of r.messages)
			out.push(`  ${m.line}:${m.column} ${m.ruleId}: ${m.message}\n` +
				`    | ${(lines[m.line - 1] || '').slice(0, 160)}`);
	return out;
}

// ------------------------------------------------------------ artifacts

// ARTIFACTS_DIR/dashboard, else tests/e2e/.artifacts/dashboard (under the
// system temp dir when the tree is read-only).
function artifactsRoot() {
	const base = process.env.ARTIFACTS_DIR
		? path.join(path.resolve(process.env.ARTIFACTS_DIR), 'dashboard')
		: path.join(REPO_ROOT, 'tests', 'e2e', '.artifacts', 'dashboard');
	try {
		fs.mkdirSync(base, { recursive: true });
		fs.accessSync(base, fs.constants.W_OK);
		return base;
	} catch {
		const tmp = path.join(os.tmpdir(), 'routstr-artifacts', 'dashboard');
		fs.mkdirSync(tmp, { recursive: true });
		return tmp;
	}
}

// routstrctl with stdin (set-password reads the password from it), as the
// run directory's owner when we are root.
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

// ------------------------------------------------------------ the flow

// The whole flow, for one set-up: the steps of one operator's session.
function dashboardFlow(setup) {
	let h;
	let browser;
	let context;
	let page;
	let root;		// http://127.0.0.1:PORT<mount>
	let shots;		// this set-up's screenshot directory
	let shotNo = 0;
	let t0;			// when the set-up began to start
	const visited = [];	// { name, url, status, ms }
	// What the browser reported while on the current page.
	let problems = [];

	const admin = (p = '') => `${root}/admin/${p}`;

	// Watch a page for what an operator would not see but must not
	// happen: console errors (CSP reports its violations there),
	// uncaught exceptions, failed sub-resources.
	async function watch(pg) {
		pg.on('console', (m) => {
			// Chromium asks every site for /favicon.ico; the
			// dashboard has none (a 404 that is no page's fault).
			if (/\/favicon\.ico$/.test(m.location()?.url || ''))
				return;
			if (m.type() === 'error' || m.type() === 'warning')
				problems.push(`console ${m.type()}: ${m.text()} (${m.location()?.url})`);
		});
		pg.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
		pg.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
		pg.on('response', (r) => {
			if (!r.request().isNavigationRequest() && r.status() >= 400)
				problems.push(`sub-resource ${r.url()} answered ${r.status()}`);
		});
		// The event itself, besides the console line: a violation
		// is reported even where the console wording changes.
		await pg.exposeBinding('reportCspViolation', (_src, v) => problems.push(`CSP violation: ${v}`));
		await pg.addInitScript(() => {
			document.addEventListener('securitypolicyviolation', (e) => {
				window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI} ` +
					`(${e.sourceFile}:${e.lineNumber})`);
			});
		});
	}

	// Navigate (go: a URL; or a function that makes the browser
	// navigate and returns the final response), then check the page
	// the way every page is checked: its status, valid HTML, no
	// problem in the browser; and save its screenshot.
	async function visit(name, go, { status = 200 } = {}) {
		problems = [];
		const start = Date.now();
		const resp = typeof go === 'string' ? await page.goto(go) : await go();
		assert.ok(resp, `${name}: no response`);
		assert.equal(resp.status(), status, `${name}: ${resp.url()} answered ${resp.status()}`);
		const ms = Date.now() - start;
		const file = path.join(shots, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
		await page.screenshot({ path: file, fullPage: true });
		visited.push({ name, url: resp.url().slice(root.length), status: resp.status(), ms });
		assert.match(resp.headers()['content-type'] || '', /^text\/html/, name);
		const messages = await validate(await resp.text());
		assert.deepEqual(messages, [], `${name} (${resp.url()}) is not valid HTML:\n` +
			`${messages.join('\n')}`);
		// Chromium logs a page answered with 4xx as a failed load:
		// that is the status this step expects, not a problem.
		const expected = `Failed to load resource: the server responded with a status of ${status} `;
		const seen = problems.filter((p) => !(status >= 400 && p.startsWith(`console error: ${expected}`) &&
			p.endsWith(`(${resp.url()})`)));
		assert.deepEqual(seen, [], `${name}: the browser reported problems`);
		return resp;
	}

	// Click something that submits a form or follows a link; the
	// response of the page it leads to (after any redirect).
	const click = (locator) => async () => {
		const [resp] = await Promise.all([page.waitForNavigation(), locator.click()]);
		return resp;
	};

	// The steps run in order on one browser session, each from
	// where the last left it: after a failure the rest are skipped
	// (they would only fail for the same reason).
	let broken = null;
	const step = (name, fn) => it(name, async (t) => {
		if (broken) {
			t.skip(`skipped: "${broken}" failed`);
			return;
		}
		try {
			await fn(t);
		} catch (e) {
			broken = name;
			throw e;
		}
	});

	const csrfInput = () => page.locator('input[name="csrf"]').first();

	before(async () => {
		t0 = Date.now();
		h = await startStack(setup.server, setup.mount ? { mount: setup.mount } : {});
		// The server's origin and the mount, whether or not
		// baseUrl already carries the mount.
		root = `${new URL(h.baseUrl).origin}${setup.mount}`;
		const s = ctlInput(h, ['set-password'], `${PASSWORD}\n`);
		assert.equal(s.status, 0, s.out);
		shots = path.join(artifactsRoot(), setup.name);
		fs.rmSync(shots, { recursive: true, force: true });
		fs.mkdirSync(shots, { recursive: true });
		browser = await playwright.chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			// root in CI: chromium's sandbox refuses to run as root.
			args: ['--no-sandbox'],
		});
		context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		// The withdraw page's copy button writes to the clipboard.
		await context.grantPermissions(['clipboard-read', 'clipboard-write'],
			{ origin: new URL(root).origin });
		// A step that waits for something that never comes fails
		// within seconds, not after playwright's 30 s.
		context.setDefaultTimeout(5000);
		context.setDefaultNavigationTimeout(10000);
		page = await context.newPage();
		await watch(page);
	});

	after(async () => {
		await browser?.close();
		if (h)
			await stopAndAudit(h);
		if (shots) {
			// node's runner shows these lines as TAP comments.
			const lines = visited.map((v) => `  ${v.status} ${v.url} (${v.name}, ${v.ms} ms)`);
			process.stdout.write(`${setup.name}: ${visited.length} pages in ${Date.now() - t0} ms; ` +
				`screenshots in ${shots}\n${lines.join('\n')}\n`);
		}
	});

	step('the login page; a wrong password shows the error; the right one lands on the overview', async () => {
		await visit('login', admin('login'));
		assert.match(await page.title(), /^Log in · ./);
		await page.fill('#password', 'not the password at all');
		await visit('login-wrong-password', click(page.getByRole('button', { name: 'Log in' })),
			{ status: 401 });
		await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'Wrong password.' })
			.waitFor({ timeout: 2000 }));
		assert.equal(page.url(), admin('login'));
		await page.fill('#password', PASSWORD);
		await visit('overview', click(page.getByRole('button', { name: 'Log in' })));
		assert.equal(page.url(), admin(''));
		assert.equal(await page.locator('h1').textContent(), 'Overview');
		const cards = await page.locator('.cards .card h2').allTextContents();
		assert.deepEqual(cards, ['Wallet', 'Users', 'Earnings', 'Books']);
		assert.equal(await page.locator('figure svg').count(), 2, 'the two charts');
		for (const svg of await page.locator('figure svg').all()) {
			assert.ok(await svg.isVisible());
			const box = await svg.boundingBox();
			assert.ok(box.width > 200 && box.height > 20, `chart drawn at ${JSON.stringify(box)}`);
		}
		assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'Overview');
	});

	step('security headers on a page: CSP, no framing, no sniffing, no referrer, never cached', async () => {
		const resp = await page.goto(admin(''));
		const hd = resp.headers();
		const csp = hd['content-security-policy'] || '';
		assert.match(csp, /default-src 'none'/);
		assert.match(csp, /script-src 'self'(;|$)/, 'no inline script allowed');
		assert.match(csp, /style-src 'self'(;|$)/, 'no inline style allowed');
		assert.match(csp, /frame-ancestors 'none'/);
		assert.match(csp, /form-action 'self'/);
		assert.equal(hd['x-frame-options'], 'DENY');
		assert.equal(hd['x-content-type-options'], 'nosniff');
		assert.equal(hd['referrer-policy'], 'no-referrer');
		assert.match(hd['cache-control'] || '', /no-store/);
		// The session cookie as the browser holds it.
		const cookie = (await context.cookies()).find((c) => c.name === 'routstr_admin');
		assert.ok(cookie, 'the session cookie');
		assert.equal(cookie.httpOnly, true);
		assert.equal(cookie.sameSite, 'Strict');
		assert.equal(cookie.path, `${setup.mount}/admin`);
		assert.equal(await page.evaluate(() => document.cookie), '', 'invisible to scripts');
		// The policy is enforced, and this test sees it when it is: an
		// inline script and an inline style put in the page are
		// blocked and reported (so "no CSP violation" on the other
		// pages is a finding, not a blind spot).
		problems = [];
		await page.evaluate(() => {
			const sc = document.createElement('script');
			sc.textContent = 'document.title = "inline script ran"';
			document.body.append(sc);
			const d = document.createElement('div');
			d.setAttribute('style', 'color: red');
			document.body.append(d);
		});
		await page.waitForTimeout(200);
		assert.notEqual(await page.title(), 'inline script ran');
		assert.ok(problems.some((p) => /CSP violation: script-src/.test(p)), problems.join('\n'));
		assert.ok(problems.some((p) => /CSP violation: style-src/.test(p)), problems.join('\n'));
		problems = [];
	});

	step('without a session every page leads to the login; without the CSRF token a form is refused', async () => {
		// A second browser context: no cookie.
		const anon = await browser.newContext();
		const other = await anon.newPage();
		try {
			for (const p of ['', 'keys', 'withdraw', 'providers', 'settings', 'transactions', 'logs',
				'payouts']) {
				const resp = await other.goto(admin(p));
				assert.equal(other.url(), admin('login'), `${p || 'overview'} without a session`);
				assert.equal(resp.status(), 200);
				assert.equal(await other.locator('#password').count(), 1);
			}
			// A form post without a session changes nothing either.
			const post = await anon.request.post(admin('providers'), { maxRedirects: 0,
				form: { slug: 'no-session', type: 'openai', base_url: h.mock.url, fee: '1' } });
			assert.equal(post.status(), 303);
			assert.equal(new URL(post.headers().location, root).href, admin('login'));
		} finally {
			await anon.close();
		}
		// Signed in, but the form's CSRF token removed (then replaced by
		// a wrong one): refused, and nothing saved.
		await visit('providers-before-tamper', admin('providers'));
		for (const forged of [null, 'A'.repeat(43)]) {
			await page.locator('#slug').fill('forged-csrf');
			await page.locator('#base_url').fill(h.mock.url);
			await page.evaluate((v) => {
				const f = document.querySelector('form[action$="/admin/providers"]');
				const c = f.querySelector('input[name="csrf"]');
				if (v === null)
					c.remove();
				else
					c.value = v;
			}, forged);
			const [resp] = await Promise.all([page.waitForNavigation(),
				page.getByRole('button', { name: 'Save provider' }).click()]);
			assert.equal(resp.status(), 403, `CSRF token ${forged === null ? 'missing' : 'wrong'}`);
			assert.match(await resp.text(), /csrf_failed/);
			await page.goto(admin('providers'));
			assert.equal(await page.getByRole('cell', { name: 'forged-csrf', exact: true }).count(), 0);
		}
		assert.equal(await page.getByRole('cell', { name: 'no-session', exact: true }).count(), 0);
	});

	let earnedBefore;

	step('earnings from a costly chat show on the overview', async () => {
		const key = await fundedKey(h, 1000);
		const r = await chat(h, chatBody({ model: 'mock-model-large', max_tokens: 10000 }),
			{ ...bearer(key), 'x-mock-tokens': '10000' });
		assert.equal(r.status, 200, r.text.slice(0, 300));
		await visit('overview-with-earnings', admin(''));
		const big = await page.locator('.cards .card').filter({ hasText: 'Earnings' }).locator('.big')
			.textContent();
		earnedBefore = Number(/^(\d+) sat$/.exec(big)?.[1]);
		assert.ok(earnedBefore >= 20, `earnings ${big}`);
		assert.match(await page.locator('.cards .card').filter({ hasText: 'Books' }).locator('.big')
			.textContent(), /closed|surplus/);
		assert.match(await page.locator('main').textContent(), /1 requests/);
	});

	step('withdraw: a token of N sats from the page redeems at the test mint for N', async () => {
		await visit('withdraw', click(page.getByRole('link', { name: 'Withdraw' })));
		const payable = Number(/Payable now: (\d+) sat/.exec(await page.locator('main').textContent())?.[1]);
		assert.ok(payable >= 20, `payable ${payable}`);
		const n = 17;
		assert.equal(await page.locator('#mint option').count(), 1);
		assert.equal(await page.locator('#mint').inputValue(), h.mint.url);
		await page.fill('#amount', String(n));
		await visit('withdraw-token', click(page.getByRole('button', { name: 'Make token' })));
		assert.match(await page.getByRole('status').textContent(), /Token made/);
		const token = (await page.inputValue('textarea#token')).trim();
		assert.match(token, /^cashu[AB]/);
		assert.equal(tokenValue(token), n);
		// The copy button is there and copies the token (app.js under
		// the page's CSP).
		const copy = page.getByRole('button', { name: 'Copy' });
		assert.equal(await copy.count(), 1);
		// And a QR code of it (libqrencode's matrix drawn as SVG).
		assert.equal(await page.locator('figure.qr svg path').count(), 1);
		assert.ok((await page.locator('figure.qr svg path').getAttribute('d')).length > 1000);
		await copy.click();
		await page.getByRole('button', { name: 'Copied' }).waitFor({ timeout: 2000 });
		assert.equal((await page.evaluate(() => navigator.clipboard.readText())).trim(), token);
		assert.deepEqual(problems, []);
		// Real money: the test mint swaps it for N sats of new proofs.
		assert.equal(await redeemAtMint(h, token), n);
		// Once only: the same token is spent now.
		await assert.rejects(redeemAtMint(h, token));
		// The earnings went down by exactly N.
		await visit('overview-after-withdraw', admin(''));
		const big = await page.locator('.cards .card').filter({ hasText: 'Earnings' }).locator('.big')
			.textContent();
		assert.equal(big, `${earnedBefore - n} sat`);
		assertAuditClean(h);
	});

	step('withdraw: more than the earnings is refused on the page', async () => {
		await page.goto(admin('withdraw'));
		await page.fill('#amount', '1000000');
		await visit('withdraw-too-much', click(page.getByRole('button', { name: 'Make token' })),
			{ status: 400 });
		assert.match(await page.getByRole('alert').textContent(), /do not cover/);
		assert.equal(await page.locator('textarea#token').count(), 0);
		assertAuditClean(h);
	});

	step('withdraw over Lightning: a destination that is none is refused on a whole page', async () => {
		await page.goto(admin('withdraw'));
		await page.fill('#destination', 'not a lightning destination');
		await page.fill('#sats', '5');
		await visit('withdraw-lightning-refused', click(page.getByRole('button', { name: 'Pay' })),
			{ status: 400 });
		assert.equal(await page.getByRole('alert').count(), 1);
		assertAuditClean(h);
	});

	step('providers: add one, change its fee, disable it; the table follows', async () => {
		await visit('providers', click(page.getByRole('link', { name: 'Providers' })));
		const slug = 'browser-e2e';
		const row = () => page.locator('tbody tr').filter({
			has: page.getByRole('cell', { name: slug, exact: true }) });
		assert.equal(await row().count(), 0);
		const save = async (fee, shot) => {
			await page.fill('#slug', slug);
			await page.selectOption('#ptype', 'openai');
			await page.fill('#base_url', h.mock.url);
			await page.fill('#fee', fee);
			await page.fill('#priority', '50');
			await visit(shot, click(page.getByRole('button', { name: 'Save provider' })));
			assert.match(await page.getByRole('status').textContent(), /Provider saved/);
		};
		await save('1.05', 'providers-added');
		assert.equal(await row().count(), 1);
		let cells = await row().locator('td').allTextContents();
		assert.deepEqual(cells.slice(0, 6), [slug, 'openai', h.mock.url, '1.050000', '50', 'enabled']);
		await save('1.2', 'providers-fee-changed');
		assert.equal(await row().count(), 1, 'edited, not added twice');
		cells = await row().locator('td').allTextContents();
		assert.equal(cells[3], '1.200000');
		assert.equal(cells[5], 'enabled');
		await visit('providers-disabled', click(row().getByRole('button', { name: 'Disable' })));
		assert.match(await page.getByRole('status').textContent(), /Provider changed/);
		cells = await row().locator('td').allTextContents();
		assert.equal(cells[5], 'disabled');
		assert.equal(await row().getByRole('button', { name: 'Enable' }).count(), 1);
		// A refused value shows the error on the page.
		await page.fill('#slug', slug);
		await page.fill('#base_url', h.mock.url);
		await page.fill('#fee', '0.5');
		await visit('providers-bad-fee', click(page.getByRole('button', { name: 'Save provider' })),
			{ status: 400 });
		assert.match(await page.getByRole('alert').textContent(), /fee is a number of at least 1/);
		assert.equal((await row().locator('td').allTextContents())[3], '1.200000');
	});

	step('settings: every setting with its value\'s source, secrets hidden; the password form', async () => {
		await visit('settings', click(page.getByRole('link', { name: 'Settings' })));
		const rows = page.locator('tbody tr');
		assert.ok(await rows.count() > 10, 'the settings are listed');
		const byName = async (name) => (await rows.filter({
			has: page.locator('td code', { hasText: new RegExp(`^${name}$`) }) }).locator('td')
			.allTextContents());
		// A run-time setting's value is in its row's form.
		const mints = await byName('CASHU_MINTS');
		const mintRow = rows.filter({ has: page.locator('td code', { hasText: /^CASHU_MINTS$/ }) });
		assert.equal(await mintRow.locator('input[name="value"]').inputValue(), h.mint.url);
		assert.equal(mints[2], 'file');
		const sources = new Set();
		for (const r of await rows.all())
			sources.add(await r.locator('td').nth(2).textContent());
		for (const s of sources)
			assert.ok(['default', 'file', 'env', 'dashboard'].includes(s), `source ${s}`);
		assert.ok(sources.has('default') && sources.has('file'), [...sources].join());
		const key = await byName('UPSTREAM_API_KEY');
		assert.equal(key[1], '(set, hidden)');
		assert.ok(!(await page.content()).includes(UPSTREAM_API_KEY), 'the upstream key is not on the page');
		const form = page.locator('form[action$="/admin/password"]');
		assert.equal(await form.locator('input[type="password"]').count(), 2);
		assert.equal(await form.locator('#new').getAttribute('minlength'), '12');
		assert.equal(await form.getByRole('button', { name: 'Change password' }).count(), 1);
	});

	step('settings: a setting saved from its row, shown with its source, and reset', async () => {
		await page.goto(admin('settings'));
		const row = page.locator('tbody tr', { has: page.locator('code', { hasText: /^NAME$/ }) });
		await row.locator('input[name="value"]').fill('Browser-named node');
		await visit('settings-saved', click(row.getByRole('button', { name: 'Save' })));
		assert.match(await page.getByRole('status').textContent(), /NAME saved/);
		const saved = page.locator('tbody tr', { has: page.locator('code', { hasText: /^NAME$/ }) });
		assert.equal(await saved.locator('td').nth(2).textContent(), 'dashboard');
		assert.match(await page.locator('header .brand').textContent(), /Browser-named node/);
		await visit('settings-reset', click(saved.getByRole('button', { name: 'Reset' })));
		assert.match(await page.getByRole('status').textContent(), /NAME is back/);
	});

	step('every other page: API keys, a key\'s detail through its link, transactions, logs, payouts', async () => {
		await visit('keys', click(page.getByRole('link', { name: 'API keys' })));
		const links = page.locator('tbody a[href*="/admin/key?hash="]');
		assert.ok(await links.count() >= 1, 'the funded key is listed');
		const short = (await links.first().textContent()).trim();
		await visit('key', click(links.first()));
		assert.equal(await page.locator('h1').textContent(), `Key ${short}`);
		assert.match(await page.locator('dl.facts').textContent(), /Balance/);
		assert.ok(await page.locator('tbody tr').count() >= 2, 'the journal of the key');
		// Its limits through the form.
		await page.fill('#balance_limit', '123456');
		await page.selectOption('#balance_limit_reset', 'daily');
		await visit('key-limits-saved', click(page.getByRole('button', { name: 'Save limits' })));
		assert.match(await page.getByRole('status').textContent(), /Limits saved/);
		assert.equal(await page.inputValue('#balance_limit'), '123456');
		assert.equal(await page.inputValue('#balance_limit_reset'), 'daily');
		// The search form.
		await page.goto(admin('keys'));
		await page.fill('#q', short);
		await visit('keys-search', click(page.getByRole('button', { name: 'Search' })));
		assert.equal(await page.locator('tbody a[href*="/admin/key?hash="]').count(), 1);
		await visit('transactions', click(page.getByRole('link', { name: 'Transactions' })));
		const txs = await page.locator('table').first().locator('tbody tr').count();
		assert.ok(txs >= 2, `transactions: the key's top-up and the withdrawal (${txs} rows)`);
		await visit('logs', click(page.getByRole('link', { name: 'Logs' })));
		assert.match(await page.locator('tbody').textContent(), /mock-model-large/);
		await visit('payouts', click(page.getByRole('link', { name: 'Payouts' })));
		assert.match(await page.locator('main').textContent(), /Automatic payouts go to/);
	});

	step('log out: the session ends; a page then leads to the login', async () => {
		await page.goto(admin('keys'));
		const csrf = await csrfInput().inputValue();
		assert.ok(csrf.length >= 32);
		await visit('logged-out', click(page.getByRole('button', { name: 'Log out' })));
		assert.equal(page.url(), admin('login'));
		assert.equal((await context.cookies()).filter((c) => c.name === 'routstr_admin' && c.value).length, 0);
		for (const p of ['', 'keys', 'settings']) {
			await page.goto(admin(p));
			assert.equal(page.url(), admin('login'), `${p || 'overview'} after logout`);
		}
	});
}

for (const setup of SETUPS)
	describe(`dashboard in chromium under ${setup.name}${setup.mount ? ` at ${setup.mount}` : ''}`,
		{ skip: pre.skip }, () => dashboardFlow(setup));
