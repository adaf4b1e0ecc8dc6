// The Lightning fakes for peers this machine cannot reach: two test mints that
// pay each other's invoices (mint.mjs --peer, "foreign mint"), and a Lightning
// address server (lnurl.mjs) whose invoices are mint quotes at one of them.
// The payments are made with the real @cashu/cashu-ts Wallet.
//
//   cd tests && node --test e2e/fakes-lightning.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Wallet, isMintOperationError, MintQuoteState, MeltQuoteState } from '@cashu/cashu-ts';
import { startMint } from '../fakes/mint/spawn.mjs';
import { startLnurl } from '../fakes/lnurl-spawn.mjs';

const num = (a) => Number(String(a));
const sum = (ps) => ps.reduce((s, p) => s + num(p.amount), 0);
const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

/** GET/POST JSON; returns {status, body} and never throws on HTTP errors. */
async function call(url, method = 'GET', body) {
  const r = await fetch(url, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, body: json, text };
}

async function expectCode(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(isMintOperationError(e), `expected MintOperationError ${code}, got ${e?.name}: ${e?.message}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

// ------------------------------------------- a small bech32 / bolt11 reader
// Written here, independently of the fakes, so the test checks their encoding.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function polymod(values) {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

/** bech32 string (any length, one case) -> {hrp, words} without the checksum; throws if invalid. */
function bech32Decode(str) {
  if (str !== str.toLowerCase() && str !== str.toUpperCase()) throw new Error('mixed case');
  const s = str.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || sep + 7 > s.length) throw new Error('no separator');
  const hrp = s.slice(0, sep);
  const words = [...s.slice(sep + 1)].map((c) => {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new Error('bad character ' + c);
    return v;
  });
  const exp = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  if (polymod([...exp, ...words]) !== 1) throw new Error('bad checksum');
  return { hrp, words: words.slice(0, -6) };
}

/** 5-bit words -> bytes, dropping the zero padding. */
function wordsToBytes(words) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const w of words) {
    acc = (acc << 5) | w;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

/** Amount (msat) and tagged fields p, h, d of a bolt11 invoice. */
function decodeBolt11(inv) {
  const { hrp, words } = bech32Decode(inv);
  const m = /^lnbc(\d+)([munp]?)$/.exec(hrp);
  assert.ok(m, 'hrp ' + hrp);
  const msatPer = { m: 100000000n, u: 100000n, n: 100n, p: 1n, '': 100000000000n }[m[2]];
  const amountMsat = m[2] === 'p' ? BigInt(m[1]) / 10n : BigInt(m[1]) * msatPer;
  const data = words.slice(7, -104); // timestamp (7 words) ... signature (104 words)
  const tags = {};
  for (let i = 0; i < data.length; ) {
    const t = CHARSET[data[i]];
    const len = data[i + 1] * 32 + data[i + 2];
    tags[t] = wordsToBytes(data.slice(i + 3, i + 3 + len));
    i += 3 + len;
  }
  return {
    amountMsat: Number(amountMsat),
    paymentHash: tags.p?.toString('hex'),
    descriptionHash: tags.h?.toString('hex'),
    description: tags.d?.toString('utf8'),
  };
}

/** A cashu-ts wallet at `mint` holding `amount` sat (the mint quote paid via /_test/pay). */
async function fundedWallet(mint, amount) {
  const w = new Wallet(mint.url, { unit: 'sat' });
  await w.loadMint();
  const q = await w.createMintQuoteBolt11(amount);
  await mint.ctl('POST', '/_test/pay/' + q.quote);
  return { w, proofs: await w.mintProofsBolt11(amount, q.quote) };
}

// Mints A and B pay each other's invoices; the Lightning address server LN
// receives at B. Quotes become PAID only when paid (or by /_test/pay).
let A;
let B;
let LN;
before(async () => {
  B = await startMint(['--no-auto-pay']);
  // A dead peer first: it is skipped, and B is asked next.
  [A, LN] = await Promise.all([
    startMint(['--no-auto-pay', '--peer', 'http://127.0.0.1:1', '--peer', B.url]),
    startLnurl(['--mint', B.url]),
  ]);
  // B learns A's URL only now that A is up.
  assert.deepEqual(await B.ctl('POST', '/_test/peers', { add: A.url + '/' }), { peers: [A.url] });
});
after(async () => {
  await Promise.all([A?.stop(), B?.stop(), LN?.stop()]);
});

// -------------------------------------------------------------- peer mints

describe('peer mints: a melt at A pays a mint quote at B', () => {
  test('peer list: --peer order, runtime add/remove, bad URLs refused', async () => {
    assert.deepEqual((await A.ctl('GET', '/_test/peers')).peers, ['http://127.0.0.1:1', B.url]);
    assert.deepEqual((await A.ctl('GET', '/_test/state')).peers, ['http://127.0.0.1:1', B.url]);
    const x = 'http://127.0.0.1:9/x';
    assert.deepEqual((await A.ctl('POST', '/_test/peers', { add: x })).peers.at(-1), x);
    assert.deepEqual((await A.ctl('POST', '/_test/peers', { add: x })).peers.length, 3);
    assert.deepEqual((await A.ctl('POST', '/_test/peers', { remove: x + '/' })).peers, ['http://127.0.0.1:1', B.url]);
    const bad = await call(A.url + '/_test/peers', 'POST', { add: 'ftp://127.0.0.1/' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 10000);
  });

  test('wallet melts at A an invoice of B: B quote PAID with the same preimage, mintable at B; paying again fails', async () => {
    const { w: wa, proofs } = await fundedWallet(A, 64);
    const wb = new Wallet(B.url, { unit: 'sat' });
    await wb.loadMint();
    const q = await wb.createMintQuoteBolt11(21);
    assert.equal((await wb.checkMintQuoteBolt11(q.quote)).state, MintQuoteState.UNPAID);

    const mq = await wa.createMeltQuoteBolt11(q.request);
    assert.equal(num(mq.amount), 21);
    const { keep, send } = await wa.send(23, proofs, { includeFees: true });
    const res = await wa.meltProofsBolt11(mq, send);
    assert.equal(res.quote.state, MeltQuoteState.PAID);
    // The preimage is B's: it hashes to the invoice's payment hash.
    assert.equal(sha256hex(Buffer.from(res.quote.payment_preimage, 'hex')), decodeBolt11(q.request).paymentHash);
    // No polling: B's quote was PAID before A answered.
    assert.equal((await wb.checkMintQuoteBolt11(q.quote)).state, MintQuoteState.PAID);
    assert.equal(sum(await wb.mintProofsBolt11(21, q.quote)), 21);
    assert.equal((await wb.checkMintQuoteBolt11(q.quote)).state, MintQuoteState.ISSUED);

    // Again at A with a fresh melt quote: A itself knows the invoice is paid.
    const mq2 = await wa.createMeltQuoteBolt11(q.request);
    await expectCode(wa.meltProofsBolt11(mq2, keep), 20006);
    assert.ok((await wa.checkProofsStates(keep)).every((s) => s.state === 'UNSPENT'));
  });

  test('B says the quote is already paid: A fails the melt with 20006 and releases the inputs', async () => {
    const { w: wa, proofs } = await fundedWallet(A, 32);
    const q = await B.ctl('POST', '/v1/mint/quote/bolt11', { amount: 5, unit: 'sat' });
    await B.ctl('POST', '/_test/pay/' + q.quote); // paid by someone else
    const mq = await wa.createMeltQuoteBolt11(q.request);
    const { send } = await wa.send(7, proofs, { includeFees: true });
    await expectCode(wa.meltProofsBolt11(mq, send), 20006);
    assert.ok((await wa.checkProofsStates(send)).every((s) => s.state === 'UNSPENT'));
    assert.equal((await wa.checkMeltQuoteBolt11(mq.quote)).state, MeltQuoteState.UNPAID);
    // The raw peer answer, for a quote that is PAID.
    assert.deepEqual(await B.ctl('POST', '/_test/pay-invoice', { request: q.request }), {
      found: true,
      quote: q.quote,
      state: 'PAID',
      already_paid: true,
    });
  });

  test('an invoice no peer made: success with a random preimage, as without peers', async () => {
    const { w: wa, proofs } = await fundedWallet(A, 16);
    const inv = await B.ctl('POST', '/_test/invoice', { amount: 4 }); // B made it, but no mint quote has it
    assert.deepEqual(await B.ctl('POST', '/_test/pay-invoice', { request: inv.request }), { found: false });
    const mq = await wa.createMeltQuoteBolt11(inv.request);
    const { keep, send } = await wa.send(6, proofs, { includeFees: true });
    const res = await wa.meltProofsBolt11(mq, send);
    assert.equal(res.quote.state, MeltQuoteState.PAID);
    assert.match(res.quote.payment_preimage, /^[0-9a-f]{64}$/);
    assert.notEqual(sha256hex(Buffer.from(res.quote.payment_preimage, 'hex')), inv.payment_hash);
    // A hand-made failing invoice still fails, without asking anyone.
    const mq2 = await wa.createMeltQuoteBolt11('lnbc10n1pfail');
    await expectCode(wa.meltProofsBolt11(mq2, keep), 20004);
  });

  test('the other way round: B (peered at run time) pays a quote at A', async () => {
    const { w: wb, proofs } = await fundedWallet(B, 16);
    const q = await A.ctl('POST', '/v1/mint/quote/bolt11', { amount: 3, unit: 'sat' });
    const mq = await wb.createMeltQuoteBolt11(q.request);
    const { send } = await wb.send(5, proofs, { includeFees: true });
    const res = await wb.meltProofsBolt11(mq, send);
    assert.equal(res.quote.state, MeltQuoteState.PAID);
    assert.equal(sha256hex(Buffer.from(res.quote.payment_preimage, 'hex')), decodeBolt11(q.request).paymentHash);
    assert.equal((await A.ctl('GET', '/v1/mint/quote/bolt11/' + q.quote)).state, 'PAID');
    // A malformed /_test/pay-invoice body.
    const r = await call(A.url + '/_test/pay-invoice', 'POST', { request: 42 });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 10000);
  });
});

// -------------------------------------------------------- LNURL-pay server

describe('LNURL-pay / Lightning address server receiving at mint B', () => {
  const get = (path) => call(LN.url + path);
  const host = () => LN.url.slice('http://'.length);
  const metadata = (user) => JSON.stringify([['text/plain', `Pay to ${user}`], ['text/identifier', `${user}@${host()}`]]);

  test('well-known: the payRequest of a user (LUD-06, LUD-16); bad names and paths', async () => {
    const r = await get('/.well-known/lnurlp/alice');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      tag: 'payRequest',
      callback: `${LN.url}/lnurlp/alice/callback`,
      minSendable: 1000,
      maxSendable: 100000000000,
      metadata: metadata('alice'),
      commentAllowed: 64,
    });
    assert.deepEqual(JSON.parse(r.body.metadata), [['text/plain', 'Pay to alice'], ['text/identifier', `alice@${host()}`]]);
    assert.equal((await get('/.well-known/lnurlp/a.b_c-9')).status, 200);
    for (const p of ['/.well-known/lnurlp/Alice', '/.well-known/lnurlp/a%20b', '/lnurlp/Alice/callback?amount=1000', '/nope']) {
      const e = await get(p);
      assert.equal(e.status, 404, p);
      assert.equal(e.body.status, 'ERROR', p);
      assert.equal(typeof e.body.reason, 'string');
    }
    assert.equal((await call(LN.url + '/.well-known/lnurlp/alice', 'POST', {})).status, 405);
  });

  test('callback: 21000 msat gives a 21-sat invoice for the metadata; paid at A (peer) and at B (internal)', async () => {
    const wk = (await get('/.well-known/lnurlp/alice')).body;
    const c1 = await call(wk.callback + '?amount=21000&comment=' + encodeURIComponent('for the tokens ✓'));
    assert.equal(c1.status, 200);
    assert.deepEqual(Object.keys(c1.body).sort(), ['pr', 'routes']);
    assert.deepEqual(c1.body.routes, []);
    const inv = decodeBolt11(c1.body.pr);
    assert.match(c1.body.pr, /^lnbc210n1/);
    assert.equal(inv.amountMsat, 21000);
    assert.equal(inv.descriptionHash, sha256hex(Buffer.from(wk.metadata, 'utf8'))); // LUD-06 check
    let rep = await LN.ctl('GET', '/_test/payments');
    assert.equal(rep.payments.length, 1);
    const p1 = rep.payments[0];
    assert.equal(p1.user, 'alice');
    assert.equal(p1.amount_msat, 21000);
    assert.equal(p1.bolt11, c1.body.pr);
    assert.equal(p1.comment, 'for the tokens ✓');
    assert.equal(p1.state, 'UNPAID');
    assert.ok(Math.abs(p1.created_at - Date.now() / 1000) < 60);
    assert.deepEqual(rep.paid_msat, { alice: 0 });

    // Pay it from mint A: B is A's peer.
    const { w: wa, proofs } = await fundedWallet(A, 32);
    const mq = await wa.createMeltQuoteBolt11(c1.body.pr);
    const { send } = await wa.send(23, proofs, { includeFees: true });
    assert.equal((await wa.meltProofsBolt11(mq, send)).quote.state, MeltQuoteState.PAID);
    rep = await LN.ctl('GET', '/_test/payments');
    assert.equal(rep.payments[0].state, 'PAID');
    assert.deepEqual(rep.paid_msat, { alice: 21000 });

    // A second one, paid inside mint B.
    const c2 = await call(wk.callback + '?amount=21000');
    const { w: wb, proofs: pb } = await fundedWallet(B, 32);
    const mq2 = await wb.createMeltQuoteBolt11(c2.body.pr);
    const sel = await wb.send(23, pb, { includeFees: true });
    assert.equal((await wb.meltProofsBolt11(mq2, sel.send)).quote.state, MeltQuoteState.PAID);
    rep = await LN.ctl('GET', '/_test/payments');
    assert.deepEqual(rep.payments.map((p) => [p.state, p.comment]), [['PAID', 'for the tokens ✓'], ['PAID', null]]);
    assert.deepEqual(rep.paid_msat, { alice: 42000 });

    // The holder takes the ecash at B; an ISSUED quote still counts as received.
    assert.equal(sum(await wb.mintProofsBolt11(21, p1.quote)), 21);
    rep = await LN.ctl('GET', '/_test/payments');
    assert.equal(rep.payments[0].state, 'ISSUED');
    assert.deepEqual(rep.paid_msat, { alice: 42000 });
  });

  test('callback refuses bad amounts and long comments with {"status":"ERROR"} (HTTP 200)', async () => {
    const cb = `/lnurlp/carol/callback`;
    const long = 'x'.repeat(65);
    for (const q of ['', '?amount=', '?amount=abc', '?amount=21000.0', '?amount=-1000', '?amount=999', '?amount=1500',
      '?amount=100000001000', '?amount=' + '9'.repeat(30), `?amount=1000&comment=${long}`]) {
      const r = await get(cb + q);
      assert.equal(r.status, 200, q);
      assert.equal(r.body.status, 'ERROR', q);
      assert.ok(r.body.reason.length > 0);
    }
    const ok = await get(`${cb}?amount=100000000000&comment=${'x'.repeat(64)}`);
    assert.equal(decodeBolt11(ok.body.pr).amountMsat, 100000000000);
    assert.equal(decodeBolt11((await get(cb + '?amount=1000')).body.pr).amountMsat, 1000);
  });

  test('test modes: error, wrong-amount, wrong-hash, down, bad-tag', async () => {
    const wk = '/.well-known/lnurlp/bob';
    const cb = '/lnurlp/bob/callback?amount=21000';
    const setMode = (mode) => LN.ctl('POST', '/_test/mode', { mode });
    try {
      assert.deepEqual(await setMode('error'), { mode: 'error' });
      assert.deepEqual(await LN.ctl('GET', '/_test/mode'), { mode: 'error' });
      assert.equal((await get(wk)).body.tag, 'payRequest');
      assert.deepEqual(await get(cb), { status: 200, body: { status: 'ERROR', reason: 'test error' }, text: '{"status":"ERROR","reason":"test error"}' });

      await setMode('wrong-amount');
      const wa = decodeBolt11((await get(cb)).body.pr);
      assert.equal(wa.amountMsat, 42000); // twice what was asked: the client must refuse it
      assert.equal(wa.descriptionHash, sha256hex(metadata('bob')));

      await setMode('wrong-hash');
      const wh = decodeBolt11((await get(cb)).body.pr);
      assert.equal(wh.amountMsat, 21000);
      assert.notEqual(wh.descriptionHash, sha256hex(metadata('bob'))); // the client must refuse it too

      await setMode('down');
      for (const p of [wk, cb, '/nope']) {
        const r = await get(p);
        assert.equal(r.status, 503, p);
        assert.equal(r.body.status, 'ERROR');
      }
      assert.equal((await LN.ctl('GET', '/_test/payments')).payments.filter((p) => p.user === 'bob').length, 2);

      await setMode('bad-tag');
      const bt = (await get(wk)).body;
      assert.equal(bt.tag, 'withdrawRequest');
      assert.equal(bt.callback, `${LN.url}/lnurlp/bob/callback`);

      const bad = await call(LN.url + '/_test/mode', 'POST', { mode: 'sideways' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.status, 'ERROR');
    } finally {
      await setMode('ok');
    }
    assert.equal((await get(wk)).body.tag, 'payRequest');
    assert.ok((await get(cb)).body.pr);
  });

  test('bech32 LNURL (LUD-01) of the well-known URL, longer than BIP-173 allows', async () => {
    for (const user of ['alice', 'a-rather.long_user-name-for-a-long-lnurl']) {
      const r = await LN.ctl('GET', '/_test/lnurl/' + user);
      const url = `${LN.url}/.well-known/lnurlp/${user}`;
      assert.equal(r.url, url);
      assert.equal(r.address, `${user}@${host()}`);
      assert.match(r.lnurl, /^LNURL1[02-9AC-HJ-NP-Z]+$/);
      const { hrp, words } = bech32Decode(r.lnurl);
      assert.equal(hrp, 'lnurl');
      assert.equal(wordsToBytes(words).toString('utf8'), url);
      assert.equal((await call(url)).body.tag, 'payRequest');
      if (user.length > 30) assert.ok(r.lnurl.length > 90, 'no 90-character limit');
    }
    assert.equal((await call(LN.url + '/_test/lnurl/Bad')).status, 404);
  });

  test('/_test/reset forgets the payments and sets the mode back to ok', async () => {
    await LN.ctl('POST', '/_test/mode', { mode: 'down' });
    assert.deepEqual(await LN.ctl('POST', '/_test/reset'), { mode: 'ok', payments: 0 });
    assert.deepEqual(await LN.ctl('GET', '/_test/payments'), { payments: [], paid_msat: {} });
  });
});
