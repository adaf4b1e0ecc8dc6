// The official OpenAI Node SDK, unchanged, against routstr.fcgi under lighttpd
// in front of the mock upstream: what an SDK user sees.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { fundedKey, prerequisites, startStack } from './lib/harness.mjs';

const pre = prerequisites(['lighttpd']);

describe('OpenAI Node SDK against lighttpd + routstr', { skip: pre.skip }, () => {
	let h;
	let client;

	before(async () => {
		h = await startStack('lighttpd');
		// A real key: a test-mint token turned into a balance.
		const apiKey = await fundedKey(h, 2000);
		client = new OpenAI({
			baseURL: `${h.baseUrl}/v1`,
			apiKey,
			maxRetries: 0,
			timeout: 20000,
		});
	});
	after(async () => {
		if (h)
			await h.stop();
	});

	it('chat.completions.create (non-streaming)', async () => {
		const { data, response } = await client.chat.completions.create({
			model: 'mock-model',
			messages: [{ role: 'user', content: 'Say hello.' }],
		}, { headers: { 'x-mock-tokens': '4' } }).withResponse();
		assert.equal(data.object, 'chat.completion');
		assert.equal(data.choices[0].message.role, 'assistant');
		assert.equal(data.choices[0].message.content, 'tok0 tok1 tok2 tok3');
		assert.equal(data.choices[0].finish_reason, 'stop');
		assert.equal(data.usage.completion_tokens, 4);
		assert.ok(response.headers.get('x-routstr-request-id'));
	});

	it('chat.completions.create (streaming, for await over chunks)', async () => {
		const stream = await client.chat.completions.create({
			model: 'mock-model',
			messages: [{ role: 'user', content: 'Say hello.' }],
			stream: true,
			stream_options: { include_usage: true },
		}, { headers: { 'x-mock-tokens': '6', 'x-mock-delay-ms': '20' } });
		let text = '';
		let chunks = 0;
		let usage = null;
		let finish = null;
		for await (const chunk of stream) {
			chunks++;
			assert.equal(chunk.object, 'chat.completion.chunk');
			const c = chunk.choices[0];
			if (c) {
				text += c.delta?.content ?? '';
				if (c.finish_reason)
					finish = c.finish_reason;
			}
			if (chunk.usage)
				usage = chunk.usage;
		}
		assert.equal(text, 'tok0 tok1 tok2 tok3 tok4 tok5');
		assert.equal(finish, 'stop');
		assert.ok(chunks >= 7, `chunks: ${chunks}`);
		assert.ok(usage, 'usage chunk with include_usage');
		assert.equal(usage.completion_tokens, 6);
	});

	it('an unknown API key is an AuthenticationError (401)', async () => {
		const bad = new OpenAI({ baseURL: `${h.baseUrl}/v1`, apiKey: 'sk-not-a-key', maxRetries: 0 });
		await assert.rejects(bad.chat.completions.create({
			model: 'mock-model',
			messages: [{ role: 'user', content: 'x' }],
		}), (err) => {
			assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err}`);
			assert.equal(err.status, 401);
			assert.equal(err.code, 'invalid_api_key');
			return true;
		});
	});

	it('an upstream 400 reaches the SDK as APIError with status 400', async () => {
		await assert.rejects(
			client.chat.completions.create({
				model: 'mock-error-400',
				messages: [{ role: 'user', content: 'x' }],
			}),
			(err) => {
				assert.ok(err instanceof OpenAI.APIError, `APIError expected, got ${err}`);
				assert.equal(err.status, 400);
				assert.ok(err.error, 'parsed error body');
				// relayed from the mock, not made up by routstr
				assert.equal(err.code, 'invalid_value');
				return true;
			});
	});

	it('an unknown path reaches the SDK as NotFoundError (404)', async () => {
		await assert.rejects(client.get('/no-such-endpoint'), (err) => {
			assert.ok(err instanceof OpenAI.NotFoundError, `NotFoundError expected, got ${err}`);
			assert.equal(err.status, 404);
			assert.equal(err.error?.type, 'not_found');
			assert.ok(err.requestID === null || typeof err.requestID === 'string');
			return true;
		});
	});
});
