// The node mounted under a sub-path, as on shared hosting under a user
// directory (https://host/~alice/routstr/...): the real routstr.fcgi under
// lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi, each with the
// committed example config and @MOUNT@ = /~alice/routstr. routstr works the
// mount out from what the server passes (lib/mount.h), routes the path below
// it, and names the whole path in what it hands back. Then the whole site
// once (mount ""), and the ROOT_PATH setting forcing a mount on a server that
// sends everything.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
	CRASH_RE, assertEnvelope, fundedKey, getJson, rawRequest, startStack, streamChat,
} from './lib/harness.mjs';
import {
	balanceInfo, bearer, chat, chatBody, moneyPrerequisites, stopAndAudit,
} from './lib/money.mjs';
import { SETUPS } from './lib/servers.mjs';

const MOUNT = '/~alice/routstr';

// What every mount must answer: /health, /v1/info, /v1/models, and a paid
// chat (plain and streamed) charged to a key funded through the mount.
function coreCases(ctx) {
	it('GET /health, /v1/info and /v1/models answer below the mount', async () => {
		const { h } = ctx;
		const health = await getJson(`${h.baseUrl}/health`);
		assert.equal(health.status, 200, health.text);
		assert.equal(health.json.status, 'ok');
		const info = await getJson(`${h.baseUrl}/v1/info`);
		assert.equal(info.status, 200, info.text);
		assert.match(info.json.name, /^routstr-c \(/);
		// HTTP_URL and ONION_URL are the operator's, given as configured.
		assert.equal(info.json.http_url, '');
		const models = await getJson(`${h.baseUrl}/v1/models`);
		assert.equal(models.status, 200, models.text);
		assert.ok(models.json.data.some((m) => m.id === 'mock-model'), models.text.slice(0, 300));
	});

	it('a paid chat below the mount is charged to the key; a stream arrives too', async () => {
		const { h, key } = ctx;
		const before = (await balanceInfo(h, key)).balance;
		const r = await chat(h, chatBody(), { ...bearer(key), 'x-mock-tokens': '3' });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.choices[0].message.content, 'tok0 tok1 tok2');
		const cost = Number(r.headers.get('x-routstr-cost-msats'));
		assert.ok(cost > 0, 'x-routstr-cost-msats');
		assert.equal((await balanceInfo(h, key)).balance, before - cost);
		assert.equal((await h.mock.last()).path, '/v1/chat/completions', 'the upstream path has no mount');

		const s = await streamChat(`${h.baseUrl}/v1/chat/completions`, chatBody({ stream: true }),
			{ ...bearer(key), 'x-mock-tokens': '2' });
		assert.equal(s.status, 200, s.text.slice(0, 300));
		assert.equal(s.events.at(-1).data, '[DONE]');
	});
}

// Each set-up under the sub-path.
for (const setup of SETUPS) {
	const pre = moneyPrerequisites([setup]);
	describe(`mounted at ${MOUNT} under ${setup}`, { skip: pre.skip }, () => {
		const ctx = {};

		before(async () => {
			ctx.h = await startStack(setup, { mount: MOUNT });
			assert.equal(ctx.h.baseUrl, ctx.h.origin + MOUNT);
			ctx.key = await fundedKey(ctx.h, 1000);
		});
		after(async () => {
			if (!ctx.h)
				return;
			const logs = ctx.h.logs();
			await stopAndAudit(ctx.h);
			assert.deepEqual(logs.split('\n').filter((l) => CRASH_RE.test(l)), [],
				'crash lines in the logs');
		});

		coreCases(ctx);

		it('the mount\'s root is routstr\'s root; without its slash it redirects there', async () => {
			const { h } = ctx;
			const root = await getJson(`${h.baseUrl}/`);
			assert.equal(root.status, 200, root.text);
			assert.equal(root.json.status, 'running');
			const bare = await fetch(h.baseUrl, { redirect: 'manual' });
			await bare.arrayBuffer();
			assert.equal(bare.status, 301);
			assert.equal(new URL(bare.headers.get('location'), h.origin).pathname, `${MOUNT}/`);
		});

		it('errors name the whole path; an id with an encoded slash still routes', async () => {
			const { h } = ctx;
			const nf = await getJson(`${h.baseUrl}/nope`);
			assertEnvelope(nf, 404, 'not_found');
			assert.equal(nf.json.error.message, `Path '${MOUNT}/nope' not found`);
			// %7E for "~" and %2F inside the id (lighttpd decodes it in
			// PATH_INFO, Apache keeps it under AllowEncodedSlashes NoDecode).
			const m = await getJson(`${h.origin}/%7Ealice/routstr/v1/models/openai%2Fnope`);
			assertEnvelope(m, 404, 'invalid_request_error', 'model_not_found');
			assert.equal(m.json.error.message, 'The model \'openai/nope\' does not exist');
			const bad = await fetch(`${h.baseUrl}/v1/info`, { method: 'POST', body: '{}' });
			assert.equal(bad.status, 405);
			assert.equal((await bad.json()).error.message, `Method POST not allowed on ${MOUNT}/v1/info`);
		});

		it('a path outside the mount never reaches routstr', async () => {
			const { h } = ctx;
			for (const p of ['/health', '/v1/info', '/', '/~alice/other/health',
				'/~alice/routstrX/health', '/~alice/routstr.bak/v1/info']) {
				const r = await fetch(h.origin + p, { redirect: 'manual' });
				await r.arrayBuffer();
				assert.notEqual(r.status, 200, p);
				assert.equal(r.headers.get('x-routstr-request-id'), null,
					`${p} was answered by routstr (${r.status})`);
			}
		});

		it('Host and prefix headers from the client do not move the mount', async () => {
			const { h } = ctx;
			const r = await rawRequest(h.port, `GET ${MOUNT}/nope HTTP/1.1\r\n` +
				'Host: evil.example\r\nX-Forwarded-Prefix: /evil\r\nX-Script-Name: /evil\r\n' +
				'X-Forwarded-Host: evil.example\r\nX-Original-URL: /evil/nope\r\n' +
				'Script-Name: /evil\r\nPath-Info: /evil\r\nConnection: close\r\n\r\n');
			assert.equal(r.status, 404, r.raw.slice(0, 300));
			assert.match(r.body, new RegExp(`"Path '${MOUNT}/nope' not found"`));
			assert.doesNotMatch(r.raw, /evil/);
		});
	});
}

// The whole site (mount ""): the same cases, and the paths routstr answers
// are the plain ones. mod_proxy_fcgi, whose example now sets
// proxy-fcgi-pathinfo at the whole site too.
{
	const setup = 'apache-proxy-fcgi';
	const pre = moneyPrerequisites([setup]);
	describe(`the whole site under ${setup}`, { skip: pre.skip }, () => {
		const ctx = {};

		before(async () => {
			ctx.h = await startStack(setup);
			assert.equal(ctx.h.baseUrl, ctx.h.origin);
			ctx.key = await fundedKey(ctx.h, 1000);
		});
		after(async () => {
			if (ctx.h)
				await stopAndAudit(ctx.h);
		});

		coreCases(ctx);

		it('errors name the path as it is; "/" is the root', async () => {
			const { h } = ctx;
			const nf = await getJson(`${h.baseUrl}/nope`);
			assertEnvelope(nf, 404, 'not_found');
			assert.equal(nf.json.error.message, 'Path \'/nope\' not found');
			// A path that looks like a mount is just a path here.
			const m = await getJson(`${h.baseUrl}${MOUNT}/health`);
			assert.equal(m.json.error.message, `Path '${MOUNT}/health' not found`);
			const root = await getJson(`${h.baseUrl}/`);
			assert.equal(root.json.status, 'running');
		});
	});
}

// ROOT_PATH: a server that sends every URL whole (lighttpd at the whole
// site) and a node told it lives at /~alice/routstr. Below the mount it
// answers as there; anything else is its 404.
{
	const setup = 'lighttpd';
	const pre = moneyPrerequisites([setup]);
	describe(`ROOT_PATH=${MOUNT} under ${setup} at the whole site`, { skip: pre.skip }, () => {
		let h;

		before(async () => {
			h = await startStack(setup, { conf: { ROOT_PATH: MOUNT } });
			assert.equal(h.baseUrl, h.origin + MOUNT);
		});
		after(async () => {
			if (h)
				await h.stop();
		});

		it('below the forced mount: served; elsewhere: routstr\'s 404', async () => {
			const health = await getJson(`${h.origin}${MOUNT}/health`);
			assert.equal(health.status, 200, health.text);
			const bare = await getJson(`${h.origin}${MOUNT}`);
			assert.equal(bare.json?.status, 'running', bare.text);
			const nf = await getJson(`${h.origin}${MOUNT}/nope`);
			assert.equal(nf.json.error.message, `Path '${MOUNT}/nope' not found`);
			for (const p of ['/health', '/v1/info', '/~alice/routstrX/health']) {
				const r = await getJson(h.origin + p);
				assertEnvelope(r, 404, 'not_found');
				assert.equal(r.json.error.message, `Path '${p}' not found`);
			}
		});
	});
}
