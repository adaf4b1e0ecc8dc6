// The Lightning fakes for peers this machine cannot reach: two test mints that
// pay each other's invoices (mint.mjs --peer, "foreign mint"), driven with the
// real @cashu/cashu-ts Wallet.
//
//   cd tests && node --test e2e/fakes-lightning.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Wallet, isMintOperationError, MintQuoteState, MeltQuoteState } from '@cashu/cashu-ts';
import { startMint } from '../fakes/mint/spawn.mjs';

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

// -------------------------------------------------------------- peer mints

describe('peer mints: a melt at A pays a mint quote at B', () => {
  let A;
  let B;
  before(async () => {
    B = await startMint(['--no-auto-pay']);
    // A dead peer first: it is skipped, and B is asked next.
    A = await startMint(['--no-auto-pay', '--peer', 'http://127.0.0.1:1', '--peer', B.url]);
    // B learns A's URL only now that A is up.
    assert.deepEqual(await B.ctl('POST', '/_test/peers', { add: A.url + '/' }), { peers: [A.url] });
  });
  after(async () => {
    await A?.stop();
    await B?.stop();
  });

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
