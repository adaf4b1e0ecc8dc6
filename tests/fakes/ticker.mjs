#!/usr/bin/env node
// ticker: a fake BTC/USD exchange for tests. One port serves the three public
// ticker paths routstr knows (Kraken, Coinbase, Binance) with a price chosen
// on the command line or at run time. Node 20, standard library only.
//
// Usage: node tests/fakes/ticker.mjs [--port N] [--host 127.0.0.1]
//            [--price 97123.45] [--kraken P] [--coinbase P] [--binance P]
//
// Once listening it prints one line on stdout, {"port":N}. SIGTERM/SIGINT
// close every connection (hanging ones too) and exit 0.
//
// Exchange paths (query strings ignored):
//   GET /0/public/Ticker           {"error":[],"result":{"XXBTZUSD":{"c":["<p>","0.001"],...}}}
//   GET /v2/prices/BTC-USD/spot    {"data":{"amount":"<p>","base":"BTC","currency":"USD"}}
//   GET /api/v3/ticker/price       {"symbol":"BTCUSDT","price":"<p>"}
// Control:
//   POST /_ticker/price  {"price":"P"} sets every exchange; {"kraken":"P",...}
//                        one; {"fail":["kraken"]} answers 500 for those;
//                        {"hang":["binance"]} never answers for those;
//                        {"garbage":["coinbase"]} answers 200 with non-JSON.
//                        Keys not given keep their value. Answers the state.
//   GET  /_ticker/stats  {"kraken":n,"coinbase":n,"binance":n} hits per exchange
//   POST /_ticker/reset  zero the hits, clear fail/hang/garbage
import http from 'node:http';

const EXCHANGES = ['kraken', 'coinbase', 'binance'];
const MAX_BODY = 65536;

function usage(msg) {
	process.stderr.write(`ticker: ${msg}\n` +
		'usage: node ticker.mjs [--port N] [--host ADDR] [--price P] ' +
		'[--kraken P] [--coinbase P] [--binance P]\n');
	process.exit(2);
}

const PRICE_RE = /^[0-9]{1,9}(\.[0-9]{1,12})?$/;
const opts = { port: 0, host: '127.0.0.1' };
const state = {
	price: { kraken: '100000.00', coinbase: '100000.00', binance: '100000.00' },
	fail: new Set(), hang: new Set(), garbage: new Set(),
	hits: { kraken: 0, coinbase: 0, binance: 0 },
};

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
	const k = argv[i], v = argv[i + 1];
	if (v === undefined)
		usage(`${k} needs a value`);
	if (k === '--port') {
		if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535)
			usage('bad --port');
		opts.port = Number(v);
	} else if (k === '--host') {
		opts.host = v;
	} else if (k === '--price') {
		if (!PRICE_RE.test(v))
			usage('bad --price');
		for (const e of EXCHANGES)
			state.price[e] = v;
	} else if (EXCHANGES.includes(k.slice(2)) && k.startsWith('--')) {
		if (!PRICE_RE.test(v))
			usage(`bad ${k}`);
		state.price[k.slice(2)] = v;
	} else {
		usage(`unknown option ${k}`);
	}
}

function send(res, status, obj, type = 'application/json') {
	const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
	res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
	res.end(body);
}

function ticker(ex, p) {
	switch (ex) {
	case 'kraken':
		return { error: [], result: { XXBTZUSD: {
			a: [p, '1', '1.000'], b: [p, '1', '1.000'], c: [p, '0.00100000'],
			v: ['100.0', '200.0'], p: [p, p], t: [1000, 2000], l: [p, p], h: [p, p], o: p,
		} } };
	case 'coinbase':
		return { data: { amount: p, base: 'BTC', currency: 'USD' } };
	default:
		return { symbol: 'BTCUSDT', price: p };
	}
}

function exchangeOf(path) {
	if (path === '/0/public/Ticker')
		return 'kraken';
	if (path === '/v2/prices/BTC-USD/spot')
		return 'coinbase';
	if (path === '/api/v3/ticker/price')
		return 'binance';
	return null;
}

function publicState() {
	return { price: state.price, fail: [...state.fail], hang: [...state.hang],
		garbage: [...state.garbage] };
}

function setSet(set, list) {
	if (!Array.isArray(list))
		return false;
	set.clear();
	for (const e of list) {
		if (!EXCHANGES.includes(e))
			return false;
		set.add(e);
	}
	return true;
}

function control(req, res, path, body) {
	if (req.method === 'GET' && path === '/_ticker/stats')
		return send(res, 200, state.hits);
	if (req.method === 'POST' && path === '/_ticker/reset') {
		for (const e of EXCHANGES)
			state.hits[e] = 0;
		state.fail.clear();
		state.hang.clear();
		state.garbage.clear();
		return send(res, 200, publicState());
	}
	if (req.method === 'POST' && path === '/_ticker/price') {
		let o;
		try {
			o = JSON.parse(body || '{}');
		} catch {
			return send(res, 400, { error: 'bad JSON' });
		}
		if (o === null || typeof o !== 'object')
			return send(res, 400, { error: 'not an object' });
		if ('price' in o) {
			if (!PRICE_RE.test(String(o.price)))
				return send(res, 400, { error: 'bad price' });
			for (const e of EXCHANGES)
				state.price[e] = String(o.price);
		}
		for (const e of EXCHANGES) {
			if (e in o) {
				if (!PRICE_RE.test(String(o[e])))
					return send(res, 400, { error: `bad ${e}` });
				state.price[e] = String(o[e]);
			}
		}
		for (const k of ['fail', 'hang', 'garbage']) {
			if (k in o && !setSet(state[k], o[k]))
				return send(res, 400, { error: `bad ${k}` });
		}
		return send(res, 200, publicState());
	}
	return send(res, 404, { error: 'unknown control path' });
}

const server = http.createServer((req, res) => {
	const path = req.url.split('?')[0];
	let body = '', size = 0;
	req.on('data', (d) => {
		size += d.length;
		if (size > MAX_BODY) {
			send(res, 413, { error: 'too large' });
			req.destroy();
			return;
		}
		body += d;
	});
	req.on('end', () => {
		if (path.startsWith('/_ticker/'))
			return control(req, res, path, body);
		const ex = exchangeOf(path);
		if (ex === null || req.method !== 'GET')
			return send(res, 404, { error: 'not found' });
		state.hits[ex]++;
		if (state.hang.has(ex))
			return;		// never answer; closed by the client or at exit
		if (state.fail.has(ex))
			return send(res, 500, { error: ['EService:Unavailable'] });
		if (state.garbage.has(ex))
			return send(res, 200, '<html>maintenance</html>', 'text/html');
		return send(res, 200, ticker(ex, state.price[ex]));
	});
});

const sockets = new Set();
server.on('connection', (s) => {
	sockets.add(s);
	s.on('close', () => sockets.delete(s));
});
server.on('error', (err) => {
	process.stderr.write(`ticker: ${err.message}\n`);
	process.exit(1);
});
server.listen(opts.port, opts.host, () => {
	process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

function stop() {
	server.close(() => process.exit(0));
	for (const s of sockets)
		s.destroy();
	setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
