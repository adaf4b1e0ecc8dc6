#!/usr/bin/env node
// streams.mjs: N concurrent streamed chats against one URL, for
// tests/bench/bench.sh. Node stdlib only.
//
// Every stream is the same POST /v1/chat/completions with "stream": true and
// stream_options.include_usage (--api chat, the default), or the same
// streamed request to /v1/responses (--api responses) or Anthropic's
// /v1/messages (--api messages); the first token is the first event with
// output text in the API's own shape. The x-mock-* headers ask the mock upstream for
// --tokens content events spread over --seconds, so each stream lasts about
// --seconds. Each request has its own TCP connection (no keep-alive agent), and
// all N are sent at once. The run ends when every stream has ended, or at
// --timeout seconds, when the streams still open are destroyed and counted as
// timed out.
//
// With --fcgi PATH it samples, every 200 ms, the VmRSS of every process whose
// executable is PATH (/proc/<pid>/exe) and keeps the peak of their sum.
//
// It prints one machine-readable line on stdout (bench.sh parses it):
//   STREAMS n=N completed=N ok=N status_other=N errors=N timed_out=N
//           first_token=N ttft_p50_ms=F ttft_p99_ms=F ttft_max_ms=F
//           events=N chunks=N chunks_per_event=F rss_peak_kib=N rss_start_kib=N
//           procs_peak=N wall_ms=N statuses=CODE:N,...
// A TTFT percentile that falls on a stream without a first token is "inf".
// A short human summary goes to stderr.
//
// Usage: node streams.mjs --url http://127.0.0.1:PORT --n 100 --seconds 10
//          --timeout 20 [--key sk-...] [--tokens 10] [--fcgi /abs/routstr.fcgi]
//          [--api chat|responses|messages]

import http from 'node:http';
import fs from 'node:fs';

// ---------------------------------------------------------------- arguments

function usage(msg) {
	process.stderr.write(`streams: ${msg}\n` +
		'usage: node streams.mjs --url URL --n N --seconds S --timeout T ' +
		'[--key KEY] [--tokens K] [--fcgi PATH]\n');
	process.exit(2);
}

// A whole-string decimal integer in [lo, hi], or usage().
function intArg(name, v, lo, hi) {
	if (typeof v !== 'string' || !/^[0-9]{1,7}$/.test(v) || Number(v) < lo || Number(v) > hi)
		usage(`${name} must be an integer in [${lo}, ${hi}], got '${v}'`);
	return Number(v);
}

function parseArgs(argv) {
	const o = { url: null, n: 100, seconds: 10, timeout: 20, key: null, tokens: 10, fcgi: null,
		api: 'chat' };
	for (let i = 0; i < argv.length; i += 2) {
		const name = argv[i], v = argv[i + 1];
		if (v === undefined)
			usage(`${name} needs a value`);
		switch (name) {
		case '--url': o.url = v; break;
		case '--n': o.n = intArg(name, v, 1, 100000); break;
		case '--seconds': o.seconds = intArg(name, v, 1, 3600); break;
		case '--timeout': o.timeout = intArg(name, v, 1, 7200); break;
		case '--tokens': o.tokens = intArg(name, v, 1, 1000); break;
		case '--key': o.key = v; break;
		case '--fcgi': o.fcgi = v; break;
		case '--api':
			if (!['chat', 'responses', 'messages'].includes(v))
				usage(`--api must be chat, responses or messages, got '${v}'`);
			o.api = v;
			break;
		default: usage(`unknown argument ${name}`);
		}
	}
	if (!o.url)
		usage('--url is required');
	return o;
}

const opt = parseArgs(process.argv.slice(2));
const API = {
	chat: {
		path: '/v1/chat/completions',
		body: { model: 'mock-model', messages: [{ role: 'user', content: 'Count slowly.' }],
			max_tokens: 16, stream: true, stream_options: { include_usage: true } },
		text: (o) => o?.choices?.[0]?.delta?.content,
		done: (data) => data === '[DONE]',
	},
	responses: {
		path: '/v1/responses',
		body: { model: 'mock-model', input: 'Count slowly.', max_output_tokens: 16, stream: true },
		text: (o) => (o?.type === 'response.output_text.delta' ? o.delta : undefined),
		done: (data, o) => o?.type === 'response.completed',
	},
	messages: {
		path: '/v1/messages',
		body: { model: 'claude-mock', max_tokens: 16, stream: true,
			messages: [{ role: 'user', content: 'Count slowly.' }] },
		text: (o) => (o?.type === 'content_block_delta' ? o.delta?.text : undefined),
		done: (data, o) => o?.type === 'message_stop',
	},
}[opt.api];
const target = new URL(API.path, opt.url);
// Events of one stream: the tokens, the stop chunk, the usage chunk and
// [DONE]; the mock waits the delay between two of them.
const delayMs = Math.round(opt.seconds * 1000 / (opt.tokens + 2));

// ---------------------------------------------------------------- RSS sampling

// Pids whose executable is `exe` (a rebuilt binary reads "... (deleted)").
function pidsOf(exe) {
	const pids = [];
	for (const ent of fs.readdirSync('/proc')) {
		if (!/^[0-9]+$/.test(ent))
			continue;
		let link;
		try {
			link = fs.readlinkSync(`/proc/${ent}/exe`);
		} catch {
			continue;
		}
		if (link === exe || link === `${exe} (deleted)`)
			pids.push(ent);
	}
	return pids;
}

// Sum of VmRSS (KiB) over the pids, and how many were read.
function rssOf(pids) {
	let kib = 0, n = 0;
	for (const pid of pids) {
		let s;
		try {
			s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
		} catch {
			continue;
		}
		const m = /^VmRSS:\s+([0-9]+) kB/m.exec(s);
		if (m) {
			kib += Number(m[1]);
			n++;
		}
	}
	return { kib, n };
}

const rss = { start: 0, peak: 0, procs: 0 };
let sampler = null;
function sample() {
	const r = rssOf(pidsOf(opt.fcgi));
	if (r.kib > rss.peak)
		rss.peak = r.kib;
	if (r.n > rss.procs)
		rss.procs = r.n;
	return r;
}
if (opt.fcgi) {
	rss.start = sample().kib;
	sampler = setInterval(sample, 200);
}

// ---------------------------------------------------------------- streams

const body = JSON.stringify(API.body);
const headers = {
	'content-type': 'application/json',
	'content-length': Buffer.byteLength(body),
	'x-mock-tokens': String(opt.tokens),
	'x-mock-delay-ms': String(delayMs),
};
if (opt.api === 'messages')
	headers['anthropic-version'] = '2023-06-01';
if (opt.key)
	headers.authorization = `Bearer ${opt.key}`;

// One stream. Resolves with its record once it ended (any way) or was
// destroyed at the timeout.
function oneStream(rec) {
	return new Promise((resolve) => {
		let done = false;
		const finish = (how) => {
			if (done)
				return;
			done = true;
			rec.end = how;
			resolve(rec);
		};
		rec.t0 = performance.now();
		const req = http.request(target, { method: 'POST', headers, agent: false }, (res) => {
			rec.status = res.statusCode;
			let buf = '';
			let lastRead = -1;
			res.setEncoding('utf8');
			res.on('data', (s) => {
				// One socket read can carry several HTTP chunks; count reads.
				const r = res.socket ? res.socket.bytesRead : lastRead + 1;
				if (r !== lastRead) {
					rec.chunks++;
					lastRead = r;
				}
				buf += s.replace(/\r\n/g, '\n');
				let i;
				while ((i = buf.indexOf('\n\n')) >= 0) {
					const ev = buf.slice(0, i);
					buf = buf.slice(i + 2);
					onEvent(rec, ev);
				}
			});
			res.on('end', () => finish('end'));
			res.on('error', () => finish('error'));
			res.on('close', () => finish(rec.status ? 'close' : 'error'));
		});
		rec.req = req;
		req.on('error', (e) => {
			rec.error = e.code || e.message;
			finish('error');
		});
		req.end(body);
	});
}

// One SSE event (its lines, without the blank line that ended it).
function onEvent(rec, ev) {
	let data = null;
	for (const line of ev.split('\n')) {
		if (line.startsWith('data:'))
			data = (data === null ? '' : `${data}\n`) + line.slice(5).trimStart();
	}
	if (data === null)
		return;		// a comment (": keepalive") or an empty event
	rec.events++;
	if (data === '[DONE]') {
		rec.doneSeen = true;
		return;
	}
	let o;
	try {
		o = JSON.parse(data);
	} catch {
		return;
	}
	// The end of the answer in the API's own shape (the stream then
	// carries its trailer: usage, cost).
	if (API.done(data, o))
		rec.doneSeen = true;
	const c = API.text(o);
	if (typeof c === 'string' && c !== '') {
		if (rec.tokens === 0)
			rec.ttft = performance.now() - rec.t0;
		rec.tokens++;
	}
}

// The p-th percentile (nearest rank) of sorted values.
function pct(sorted, p) {
	if (sorted.length === 0)
		return Infinity;
	const k = Math.max(0, Math.ceil(p / 100 * sorted.length) - 1);
	return sorted[Math.min(k, sorted.length - 1)];
}

function fmt(x) {
	return Number.isFinite(x) ? x.toFixed(1) : 'inf';
}

const recs = [];
for (let i = 0; i < opt.n; i++)
	recs.push({ status: 0, events: 0, chunks: 0, tokens: 0, ttft: Infinity, doneSeen: false });
const t0 = performance.now();
const all = Promise.all(recs.map(oneStream));
let timedOut = false;
const timer = setTimeout(() => {
	timedOut = true;
	for (const r of recs) {
		if (!r.end) {
			r.timedOut = true;
			r.req.destroy();
		}
	}
}, opt.timeout * 1000);
await all;
clearTimeout(timer);
const wallMs = performance.now() - t0;
if (sampler) {
	clearInterval(sampler);
	sample();
}

// ---------------------------------------------------------------- report

const statuses = new Map();
let completed = 0, ok = 0, other = 0, errors = 0, nTimedOut = 0, firstToken = 0;
let events = 0, chunks = 0;
for (const r of recs) {
	if (r.status)
		statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
	if (r.status === 200)
		ok++;
	else if (r.status)
		other++;
	if (r.timedOut)
		nTimedOut++;
	else if (r.end === 'error')
		errors++;
	if (r.status === 200 && r.doneSeen && r.tokens === opt.tokens)
		completed++;
	if (Number.isFinite(r.ttft))
		firstToken++;
	if (r.status === 200) {
		events += r.events;
		chunks += r.chunks;
	}
}
// Streams without a first token count as infinitely late.
const ttfts = recs.map((r) => r.ttft).sort((a, b) => a - b);
const p50 = pct(ttfts, 50), p99 = pct(ttfts, 99), max = ttfts[ttfts.length - 1];
const st = [...statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(',') || '-';
const errKinds = new Map();
for (const r of recs)
	if (r.error && !r.timedOut)
		errKinds.set(r.error, (errKinds.get(r.error) || 0) + 1);

process.stdout.write(`STREAMS n=${opt.n} completed=${completed} ok=${ok} status_other=${other} ` +
	`errors=${errors} timed_out=${nTimedOut} first_token=${firstToken} ` +
	`ttft_p50_ms=${fmt(p50)} ttft_p99_ms=${fmt(p99)} ttft_max_ms=${fmt(max)} ` +
	`events=${events} chunks=${chunks} ` +
	`chunks_per_event=${events > 0 ? (chunks / events).toFixed(3) : 'nan'} ` +
	`rss_peak_kib=${rss.peak} rss_start_kib=${rss.start} procs_peak=${rss.procs} ` +
	`wall_ms=${Math.round(wallMs)} statuses=${st}\n`);
process.stderr.write(`streams: ${opt.n} streams of ${opt.tokens} tokens, ${delayMs} ms apart, ` +
	`to ${target}: ${completed} completed, ${firstToken} got a first token, ` +
	`${nTimedOut} timed out${timedOut ? ` at ${opt.timeout} s` : ''}, statuses ${st}` +
	(errKinds.size ? `, errors ${[...errKinds].map(([k, v]) => `${k}:${v}`).join(',')}` : '') +
	'\n');
