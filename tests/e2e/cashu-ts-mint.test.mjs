// End-to-end: the third-party @cashu/cashu-ts wallet (4.8.0) against the test
// mint tests/fakes/mint/mint.mjs, plus raw-HTTP checks of the mint's NUT error
// codes and its /_test/ controls (the C mint client relies on both).
//
//   cd /work/main/tests && node --test e2e/cashu-ts-mint.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Wallet,
  OutputData,
  getEncodedToken,
  getDecodedToken,
  getTokenMetadata,
  hashToCurve,
  pointFromHex,
  verifyDLEQProof,
  createDLEQProof,
  createBlindSignature,
  getPubKeyFromPrivKey,
  deriveKeysetId,
  isMintOperationError,
  MintQuoteState,
  MeltQuoteState,
  CheckStateEnum,
  NetworkError,
  HttpResponseError,
} from '@cashu/cashu-ts';
import { startMint } from '../fakes/mint/spawn.mjs';
import { signWithDleq } from '../fakes/mint/crypto.mjs';

const SEED = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const enc = new TextEncoder();
const num = (a) => Number(String(a));
const sum = (ps) => ps.reduce((s, p) => s + num(p.amount), 0);
const Yof = (p) => hashToCurve(enc.encode(p.secret)).toHex(true);
const raw = (ps) => ps.map((p) => ({ id: p.id, amount: num(p.amount), secret: p.secret, C: p.C }));
const bm = (o) => ({ amount: num(o.blindedMessage.amount), id: o.blindedMessage.id, B_: o.blindedMessage.B_ });

/** POST/GET JSON to the mint; returns {status, body} and never throws on HTTP errors. */
async function call(url, method, path, body) {
  const r = await fetch(url + path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json() };
}

async function expectCode(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(isMintOperationError(e), `expected MintOperationError ${code}, got ${e?.name}: ${e?.message}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function fundedWallet(url, amount, opts = {}) {
  const w = new Wallet(url, { unit: 'sat', ...opts });
  await w.loadMint();
  const q = await w.createMintQuoteBolt11(amount);
  const proofs = opts.bip39seed
    ? await w.ops.mintBolt11(amount, q).asDeterministic(0).run()
    : await w.mintProofsBolt11(amount, q.quote);
  return { w, proofs, quote: q };
}

// ------------------------------------------------------------ mint crypto

test("the mint's fast signer matches cashu-ts createBlindSignature/createDLEQProof and the NUT-12 vector", () => {
  // tests/12-tests.md deterministic nonce vector (a = 2).
  const a = Buffer.from('00'.repeat(31) + '02', 'hex');
  const B_ = pointFromHex('02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2');
  const A = pointFromHex('02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5');
  const v = signWithDleq(B_, a, A);
  assert.equal(v.C_, '0244eccfc7a348274458bb38044c7f3c389b3c2086c7ec18b5812d2877ab937787');
  assert.equal(v.dleq.e, '2a16ffee280aff3c429045607f9b8e0bf8b35910c44c1b20b9dfaf01b263d7b3');
  assert.equal(v.dleq.s, '9df27731238334718d120d4f74611a7c668233f988e687ac3fb188f0a34a2dab');
  for (let i = 0; i < 20; i++) {
    const k = randomBytes(32);
    const Bi = hashToCurve(randomBytes(32));
    const Ai = pointFromHex(Buffer.from(getPubKeyFromPrivKey(k)).toString('hex'));
    const mine = signWithDleq(Bi, k, Ai);
    const ref = createDLEQProof(Bi, k);
    assert.equal(mine.C_, createBlindSignature(Bi, k, 'x').C_.toHex(true));
    assert.equal(mine.dleq.e, Buffer.from(ref.e).toString('hex'));
    assert.equal(mine.dleq.s, Buffer.from(ref.s).toString('hex'));
  }
});

// ---------------------------------------------------------------- main flow

describe('cashu-ts wallet against the test mint (no fees)', () => {
  let m;
  before(async () => {
    m = await startMint(['--seed', SEED]);
  });
  after(async () => m?.stop());

  test('keysets: one active v2 sat keyset, one inactive v1, ids match the keys', async () => {
    const ks = (await call(m.url, 'GET', '/v1/keysets')).body.keysets;
    const active = ks.filter((k) => k.active);
    assert.equal(active.length, 1);
    assert.equal(active[0].unit, 'sat');
    assert.equal(active[0].input_fee_ppk, 0);
    assert.match(active[0].id, /^01[0-9a-f]{64}$/);
    assert.equal(active[0].id, m.keyset_id);
    const inactive = ks.find((k) => !k.active);
    assert.match(inactive.id, /^00[0-9a-f]{14}$/);
    for (const k of ks) {
      const keys = (await call(m.url, 'GET', '/v1/keys/' + k.id)).body.keysets[0];
      assert.equal(Object.keys(keys.keys).length, 32);
      assert.equal(keys.keys['2147483648'].length, 66);
      assert.equal(deriveKeysetId(keys.keys, { unit: 'sat', versionByte: k.id.startsWith('00') ? 0 : 1 }), k.id);
    }
    const r = await call(m.url, 'GET', '/v1/keys/01deadbeef');
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { detail: 'keyset is not known', code: 12001 });
  });

  test('mint 100, send 30, receive in a second wallet, double spend refused, checkstate', async () => {
    const { w: alice, proofs, quote } = await fundedWallet(m.url, 100);
    // cashu-ts checks the invoice HRP amount; the fake invoice is lnbc<sat*10>n1...
    assert.match(quote.request, /^lnbc1000n1[02-9ac-hj-np-z]+$/);
    assert.equal((await alice.checkMintQuoteBolt11(quote.quote)).state, MintQuoteState.ISSUED);
    assert.equal(sum(proofs), 100);

    const { keep, send } = await alice.send(30, proofs);
    assert.equal(sum(send), 30);
    assert.equal(sum(keep), 70);
    const token = getEncodedToken({ mint: m.url, unit: 'sat', proofs: send });
    assert.ok(token.startsWith('cashuB'));
    assert.equal(num(getTokenMetadata(token).amount), 30);

    const bob = new Wallet(m.url, { unit: 'sat' });
    await bob.loadMint();
    const st0 = await bob.checkProofsStates(send);
    assert.ok(st0.every((s) => s.state === CheckStateEnum.UNSPENT));
    const received = await bob.receive(token);
    assert.equal(sum(received), 30);

    await expectCode(bob.receive(token), 11001);

    const states = await bob.checkProofsStates(send);
    assert.equal(states.length, send.length);
    states.forEach((s, i) => {
      assert.equal(s.state, CheckStateEnum.SPENT);
      assert.equal(s.Y, Yof(send[i]));
      assert.equal(s.witness, null);
    });
    const keepStates = await alice.checkProofsStates(keep);
    assert.ok(keepStates.every((s) => s.state === CheckStateEnum.UNSPENT));
  });

  test('DLEQ: signatures carry a valid NUT-12 proof; receive with requireDleq(true)', async () => {
    const { w: alice, proofs } = await fundedWallet(m.url, 64);
    assert.ok(proofs.every((p) => p.dleq && p.dleq.e && p.dleq.s && p.dleq.r !== undefined));
    const { send } = await alice.send(10, proofs);
    const token = getEncodedToken({ mint: m.url, unit: 'sat', proofs: send }); // keeps dleq (with r)
    const bob = new Wallet(m.url, { unit: 'sat' });
    await bob.loadMint();
    const got = await bob.ops.receive(token).requireDleq(true).run();
    assert.equal(sum(got), 10);

    // Raw swap: verify every returned DLEQ with verifyDLEQProof, and that tampering is detected.
    const { proofs: p2 } = await fundedWallet(m.url, 8);
    const keyset = bob.getKeyset();
    const outs = OutputData.createRandomData(8, keyset);
    const r = await call(m.url, 'POST', '/v1/swap', { inputs: raw(p2), outputs: outs.map(bm) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const [i, sig] of r.body.signatures.entries()) {
      const A = pointFromHex(keyset.keys[String(sig.amount)]);
      const dleq = { e: Buffer.from(sig.dleq.e, 'hex'), s: Buffer.from(sig.dleq.s, 'hex') };
      const B_ = pointFromHex(outs[i].blindedMessage.B_);
      assert.ok(verifyDLEQProof(dleq, B_, pointFromHex(sig.C_), A));
      const bad = { e: dleq.e, s: Buffer.from(dleq.s).fill(7, 31) };
      assert.ok(!verifyDLEQProof(bad, B_, pointFromHex(sig.C_), A));
    }
  });

  test('melt: success returns preimage and NUT-08 change; failing invoice gives 20004 and releases proofs', async () => {
    const { w, proofs } = await fundedWallet(m.url, 100);
    const inv = await m.ctl('POST', '/_test/invoice', { amount: 20 });
    const mq = await w.createMeltQuoteBolt11(inv.request);
    assert.equal(num(mq.amount), 20);
    assert.equal(num(mq.fee_reserve), 2);
    assert.equal(mq.state, MeltQuoteState.UNPAID);
    const { keep, send } = await w.send(22, proofs, { includeFees: true });
    const res = await w.meltProofsBolt11(mq, send);
    assert.equal(res.quote.state, MeltQuoteState.PAID);
    const pre = res.quote.payment_preimage;
    assert.equal(createHash('sha256').update(Buffer.from(pre, 'hex')).digest('hex'), inv.payment_hash);
    assert.equal(sum(res.change), 2); // fee_reserve unused (--ln-fee 0)
    assert.ok((await w.checkProofsStates(send)).every((s) => s.state === 'SPENT'));
    assert.equal((await w.checkMeltQuoteBolt11(mq.quote)).state, MeltQuoteState.PAID);
    // Paying the same quote again is refused (raw: cashu-ts would refuse client-side first).
    const again0 = await call(m.url, 'POST', '/v1/melt/bolt11', { quote: mq.quote, inputs: raw(keep) });
    assert.equal(again0.body.code, 20006);

    const bad = await m.ctl('POST', '/_test/invoice', { amount: 10, fail: true });
    const mq2 = await w.createMeltQuoteBolt11(bad.request);
    const wallet2 = keep.concat(res.change);
    const sel = await w.send(12, wallet2, { includeFees: true });
    await expectCode(w.meltProofsBolt11(mq2, sel.send), 20004);
    assert.ok((await w.checkProofsStates(sel.send)).every((s) => s.state === 'UNSPENT'));
    assert.equal((await w.checkMeltQuoteBolt11(mq2.quote)).state, MeltQuoteState.UNPAID);
    // Released proofs are still good.
    const again = await w.receive(sel.send);
    assert.equal(sum(again), 12);

    // Hand-made invoices: the literal "fail" after the separator also fails.
    const mq3 = await w.createMeltQuoteBolt11('lnbc100n1pfail');
    assert.equal(num(mq3.amount), 10);
    await expectCode(w.meltProofsBolt11(mq3, again), 20004);
    // Amountless invoices are refused.
    await expectCode(w.createMeltQuoteBolt11('lnbc1pvjluezpp5qqqsyq'), 11011);
  });

  test('NUT-09 restore: a bip39seed wallet recovers its proofs from the mint', async () => {
    const seed = randomBytes(64);
    const { proofs } = await fundedWallet(m.url, 77, { bip39seed: seed });
    assert.equal(sum(proofs), 77);
    const fresh = new Wallet(m.url, { unit: 'sat', bip39seed: seed });
    await fresh.loadMint();
    const { proofs: restored } = await fresh.batchRestore();
    assert.equal(sum(restored), 77);
    assert.deepEqual(restored.map((p) => p.secret).sort(), proofs.map((p) => p.secret).sort());
    assert.deepEqual(restored.map((p) => p.C).sort(), proofs.map((p) => p.C).sort());
  });

  test('error codes: 11007 11008 11005 10001 12001 12002 11003 11001 20002 11013 10000', async () => {
    const { w, proofs, quote } = await fundedWallet(m.url, 8);
    const ks = w.getKeyset();
    const outs = (n) => OutputData.createRandomData(n, ks).map(bm);
    const err = async (path, body, code) => {
      const r = await call(m.url, 'POST', path, body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, code, JSON.stringify(r.body));
      assert.equal(typeof r.body.detail, 'string');
    };
    const p = raw(proofs);
    await err('/v1/swap', { inputs: [p[0], p[0]], outputs: outs(2 * p[0].amount) }, 11007);
    const o = outs(8);
    await err('/v1/swap', { inputs: p, outputs: [o[0], o[0]] }, 11008);
    await err('/v1/swap', { inputs: p, outputs: outs(7) }, 11005);
    await err('/v1/swap', { inputs: [{ ...p[0], C: p[0].C.slice(0, 2) + 'f'.repeat(64) }], outputs: outs(p[0].amount) }, 10001);
    await err('/v1/swap', { inputs: [{ ...p[0], secret: 'forged' }], outputs: outs(p[0].amount) }, 10001);
    await err('/v1/swap', { inputs: [{ ...p[0], id: '01' + 'ab'.repeat(32) }], outputs: outs(p[0].amount) }, 12001);
    const inactive = (await call(m.url, 'GET', '/v1/keysets')).body.keysets.find((k) => !k.active).id;
    await err('/v1/swap', { inputs: p, outputs: o.map((x) => ({ ...x, id: inactive })) }, 12002);
    // A good swap, then the same outputs again -> 11003.
    assert.equal((await call(m.url, 'POST', '/v1/swap', { inputs: p, outputs: o })).status, 200);
    const { proofs: more } = await fundedWallet(m.url, 8);
    await err('/v1/swap', { inputs: raw(more), outputs: o }, 11003);
    await err('/v1/swap', { inputs: p, outputs: outs(8) }, 11001);
    await err('/v1/mint/bolt11', { quote: quote.quote, outputs: outs(8) }, 20002);
    await err('/v1/mint/quote/bolt11', { amount: 10, unit: 'usd' }, 11013);
    const r = await call(m.url, 'GET', '/v1/mint/quote/bolt11/nope');
    assert.deepEqual(r.body, { detail: 'quote not found', code: 10000 });
  });

  test('pending lock: concurrent swaps of the same proofs -> one succeeds, the other 11002; checkstate PENDING', async () => {
    const { w, proofs } = await fundedWallet(m.url, 16);
    const ks = w.getKeyset();
    await m.ctl('POST', '/_test/delay', { hold_ms: 1000 });
    try {
      const a = call(m.url, 'POST', '/v1/swap', { inputs: raw(proofs), outputs: OutputData.createRandomData(16, ks).map(bm) });
      await new Promise((r) => setTimeout(r, 250));
      const st = await call(m.url, 'POST', '/v1/checkstate', { Ys: proofs.map(Yof) });
      assert.ok(st.body.states.every((s) => s.state === 'PENDING'), JSON.stringify(st.body));
      const b = await call(m.url, 'POST', '/v1/swap', { inputs: raw(proofs), outputs: OutputData.createRandomData(16, ks).map(bm) });
      assert.equal(b.body.code, 11002);
      assert.equal((await a).status, 200);
    } finally {
      await m.ctl('POST', '/_test/delay', { hold_ms: 0 });
    }
  });

  test('mint unreachable: /_test/down reset -> NetworkError; 503 mode; auto up after seconds', async () => {
    const w = new Wallet(m.url, { unit: 'sat' });
    await w.loadMint();
    await m.ctl('POST', '/_test/down', { mode: 'reset' });
    await assert.rejects(w.checkProofsStates([{ secret: 'x', id: m.keyset_id }]), (e) => e instanceof NetworkError);
    await m.ctl('POST', '/_test/down', { mode: '503' });
    await assert.rejects(w.createMintQuoteBolt11(5), (e) => e instanceof HttpResponseError && e.status === 503);
    await m.ctl('POST', '/_test/up');
    assert.equal((await w.checkProofsStates([{ secret: 'x', id: m.keyset_id }]))[0].state, 'UNSPENT');
    await m.ctl('POST', '/_test/down', { mode: 'hang' });
    await assert.rejects(fetch(m.url + '/v1/info', { signal: AbortSignal.timeout(300) }), (e) => e.name === 'TimeoutError');
    await m.ctl('POST', '/_test/up');
    await m.ctl('POST', '/_test/down', { mode: 'reset', seconds: 0.3 });
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await call(m.url, 'GET', '/v1/info')).status, 200);
  });

  test('lost swap response (fail-next after): inputs SPENT, outputs recovered via NUT-09', async () => {
    const seed = randomBytes(64);
    const { proofs } = await fundedWallet(m.url, 40);
    const token = getEncodedToken({ mint: m.url, unit: 'sat', proofs });
    const bob = new Wallet(m.url, { unit: 'sat', bip39seed: seed });
    await bob.loadMint();
    await m.ctl('POST', '/_test/fail-next', { route: 'POST /v1/swap', mode: 'after' });
    await assert.rejects(bob.ops.receive(token).asDeterministic(100).run(), (e) => e instanceof NetworkError);
    const st = await bob.checkProofsStates(proofs);
    assert.ok(st.every((s) => s.state === 'SPENT'));
    const { proofs: rec } = await bob.restore(100, 10);
    assert.equal(sum(rec), 40);
  });

  test('stats count requests per endpoint', async () => {
    const s = await m.ctl('GET', '/_test/stats');
    assert.ok(s.requests['POST /v1/swap'] >= 5);
    assert.ok(s.requests['GET /v1/keysets'] >= 1);
    assert.ok(s.errors['11001'] >= 1);
    assert.ok(s.rejected >= 2);
    const st = await m.ctl('GET', '/_test/state');
    assert.equal(st.totals.outstanding, st.totals.issued - st.totals.redeemed);
    assert.ok(st.spent > 0);
  });
});

// --------------------------------------------------------------------- fees

describe('mint with --input-fee-ppk 100', () => {
  let m;
  before(async () => {
    m = await startMint(['--seed', SEED, '--input-fee-ppk', '100']);
  });
  after(async () => m?.stop());

  test('fees are advertised and honoured by cashu-ts', async () => {
    const ks = (await call(m.url, 'GET', '/v1/keysets')).body.keysets.find((k) => k.active);
    assert.equal(ks.input_fee_ppk, 100);
    // The v2 id commits to the fee: same seed as the fee-less mint, different id.
    const keys = (await call(m.url, 'GET', '/v1/keys/' + ks.id)).body.keysets[0].keys;
    assert.equal(deriveKeysetId(keys, { unit: 'sat', input_fee_ppk: 100 }), ks.id);
    assert.notEqual(deriveKeysetId(keys, { unit: 'sat' }), ks.id);
    const { w: alice, proofs } = await fundedWallet(m.url, 100);
    const { keep, send } = await alice.send(30, proofs, { includeFees: true });
    const fee = num(alice.getFeesForProofs(send));
    assert.ok(fee >= 1);
    assert.equal(sum(send), 30 + fee);
    const token = getEncodedToken({ mint: m.url, unit: 'sat', proofs: send });
    const bob = new Wallet(m.url, { unit: 'sat' });
    await bob.loadMint();
    const got = await bob.receive(token);
    assert.equal(sum(got), 30);
    // Conservation: 100 minted = kept + received + fees paid so far.
    const st = await m.ctl('GET', '/_test/state');
    assert.equal(sum(keep) + sum(got) + st.totals.fees, 100);
    // A swap that ignores the fee is unbalanced.
    const outs = OutputData.createRandomData(sum(keep), bob.getKeyset()).map(bm);
    const r = await call(m.url, 'POST', '/v1/swap', { inputs: raw(keep), outputs: outs });
    assert.equal(r.body.code, 11005);
  });

  test('melt with fees: inputs must cover amount + fee_reserve + input fees', async () => {
    const { w, proofs } = await fundedWallet(m.url, 64);
    const inv = await m.ctl('POST', '/_test/invoice', { amount: 21 });
    const mq = await w.createMeltQuoteBolt11(inv.request);
    const { send } = await w.send(num(mq.amount) + num(mq.fee_reserve), proofs, { includeFees: true });
    const res = await w.meltProofsBolt11(mq, send);
    assert.equal(res.quote.state, 'PAID');
    assert.equal(sum(res.change), 2);
  });
});

// ------------------------------------------------- restart, rotation, quotes

describe('state file, rotation, v1 keyset, manual pay', () => {
  let dir;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mint-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--state: a restarted mint keeps keys, spent set and signatures', async () => {
    const state = join(dir, 'state.json');
    let m = await startMint(['--state', state]); // seed chosen at random, then kept in the file
    const { proofs } = await fundedWallet(m.url, 50);
    const token = getEncodedToken({ mint: m.url, unit: 'sat', proofs });
    const bob = new Wallet(m.url, { unit: 'sat' });
    await bob.loadMint();
    await bob.receive(token);
    const id1 = m.keyset_id;
    await m.stop();
    assert.ok(existsSync(state));
    m = await startMint(['--state', state]);
    try {
      assert.equal(m.keyset_id, id1);
      const bob2 = new Wallet(m.url, { unit: 'sat' });
      await bob2.loadMint();
      // The port changed with the restart: same proofs, new mint URL.
      await expectCode(bob2.receive(getEncodedToken({ mint: m.url, unit: 'sat', proofs })), 11001);
      const rs = await call(m.url, 'POST', '/v1/restore', { outputs: [] });
      assert.deepEqual(rs.body, { outputs: [], signatures: [] });
    } finally {
      await m.stop();
    }
  });

  test('rotation: old keyset becomes inactive, its proofs stay spendable', async () => {
    const m = await startMint(['--seed', SEED, '--no-inactive-keyset']);
    try {
      const { proofs } = await fundedWallet(m.url, 32);
      const r = await m.ctl('POST', '/_test/rotate', {});
      assert.notEqual(r.active, m.keyset_id);
      assert.equal(r.keysets.find((k) => k.id === m.keyset_id).active, false);
      const w = new Wallet(m.url, { unit: 'sat' });
      await w.loadMint();
      assert.equal(w.keysetId, r.active);
      // GET /v1/keys returns active keysets only (NUT-01), so cashu-ts needs the inactive
      // keyset's keys fetched (GET /v1/keys/{id}) before it can check the token's DLEQs.
      await w.keyChain.ensureKeysetKeys(m.keyset_id);
      const got = await w.receive(getEncodedToken({ mint: m.url, unit: 'sat', proofs }));
      assert.equal(sum(got), 32);
      assert.ok(got.every((p) => p.id === r.active));
    } finally {
      await m.stop();
    }
  });

  test('--keyset-version 0: a v1-id mint works with cashu-ts; v2 ids are shortened in V4 tokens', async () => {
    const m = await startMint(['--keyset-version', '0', '--no-inactive-keyset']);
    try {
      assert.match(m.keyset_id, /^00[0-9a-f]{14}$/);
      const { w, proofs } = await fundedWallet(m.url, 9);
      const got = await w.receive(getEncodedToken({ mint: m.url, unit: 'sat', proofs }));
      assert.equal(sum(got), 9);
    } finally {
      await m.stop();
    }
    const m2 = await startMint([]);
    try {
      const { proofs } = await fundedWallet(m2.url, 4);
      const token = getEncodedToken({ mint: m2.url, unit: 'sat', proofs });
      const dec = getDecodedToken(token, [m2.keyset_id]);
      assert.equal(dec.proofs[0].id, m2.keyset_id);
    } finally {
      await m2.stop();
    }
  });

  test('--no-auto-pay: quote UNPAID until /_test/pay; minting early -> 20001', async () => {
    const m = await startMint(['--no-auto-pay']);
    try {
      const w = new Wallet(m.url, { unit: 'sat' });
      await w.loadMint();
      const q = await w.createMintQuoteBolt11(10);
      assert.equal((await w.checkMintQuoteBolt11(q.quote)).state, MintQuoteState.UNPAID);
      await expectCode(w.mintProofsBolt11(10, q.quote), 20001);
      const paid = await m.ctl('POST', '/_test/pay/' + q.quote);
      assert.equal(paid.state, 'PAID');
      assert.equal(sum(await w.mintProofsBolt11(10, q.quote)), 10);
      // A melt paying the mint's own invoice marks that mint quote PAID (internal payment).
      const { proofs } = await (async () => {
        const q2 = await w.createMintQuoteBolt11(20);
        await m.ctl('POST', '/_test/pay/' + q2.quote);
        return { proofs: await w.mintProofsBolt11(20, q2.quote) };
      })();
      const q3 = await w.createMintQuoteBolt11(5);
      const mq = await w.createMeltQuoteBolt11(q3.request);
      const { send } = await w.send(7, proofs, { includeFees: true });
      await w.meltProofsBolt11(mq, send);
      assert.equal((await w.checkMintQuoteBolt11(q3.quote)).state, MintQuoteState.PAID);
    } finally {
      await m.stop();
    }
  });

  test('pending invoice: melt stays PENDING (proofs PENDING) until /_test/settle', async () => {
    const m = await startMint([]);
    try {
      const { w, proofs } = await fundedWallet(m.url, 16);
      const inv = await m.ctl('POST', '/_test/invoice', { amount: 10, pending: true });
      const mq = await w.createMeltQuoteBolt11(inv.request);
      const { send } = await w.send(12, proofs, { includeFees: true });
      const res = await w.meltProofsBolt11(mq, send);
      assert.equal(res.quote.state, 'PENDING');
      assert.ok((await w.checkProofsStates(send)).every((s) => s.state === 'PENDING'));
      await expectCode(w.receive(send), 11002);
      const done = await m.ctl('POST', '/_test/settle/' + mq.quote, { success: true });
      assert.equal(done.state, 'PAID');
      assert.ok((await w.checkProofsStates(send)).every((s) => s.state === 'SPENT'));
    } finally {
      await m.stop();
    }
  });
});
