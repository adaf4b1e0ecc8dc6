// The test mint's ledger and NUT operations, free of HTTP.
//
// Real BDHKE crypto from @cashu/cashu-ts primitives. Keys are derived from a
// seed, so a restarted mint with the same --seed (or the same --state file)
// has the same keysets. Node runs this single-threaded; "concurrency" means
// interleaving at await points, which only happen inside hold periods
// (swap/melt hold_ms), so the per-Y pending lock is exercised there.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { createNewMintKeys, hashToCurve, pointFromHex, getPubKeyFromPrivKey } from '@cashu/cashu-ts';
import { makeInvoice, invoiceAmountMsat } from './bolt11.mjs';
import { signWithDleq } from './crypto.mjs';

const enc = new TextEncoder();
const HEX33 = /^0[23][0-9a-f]{64}$/;

export const CODES = {
  NOT_ALLOWED: 10000,
  PROOF_INVALID: 10001,
  TX_ERROR: 11000,
  SPENT: 11001,
  PENDING: 11002,
  OUTPUTS_SIGNED: 11003,
  OUTPUTS_PENDING: 11004,
  UNBALANCED: 11005,
  AMOUNT_LIMIT: 11006,
  DUP_INPUTS: 11007,
  DUP_OUTPUTS: 11008,
  MULTI_UNIT: 11009,
  UNIT_MISMATCH: 11010,
  AMOUNTLESS: 11011,
  AMOUNT_MISMATCH: 11012,
  UNIT_UNSUPPORTED: 11013,
  MAX_INPUTS: 11014,
  MAX_OUTPUTS: 11015,
  KEYSET_UNKNOWN: 12001,
  KEYSET_INACTIVE: 12002,
  QUOTE_UNPAID: 20001,
  QUOTE_ISSUED: 20002,
  LN_FAILED: 20004,
  QUOTE_PENDING: 20005,
  INVOICE_PAID: 20006,
  QUOTE_EXPIRED: 20007,
};

/** Error carrying a NUT error code; the HTTP layer turns it into 400 {detail, code}. */
export class MintError extends Error {
  constructor(code, detail) {
    super(detail);
    this.code = code;
    this.detail = detail;
  }
}

const fail = (code, detail) => {
  throw new MintError(code, detail);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (u8) => Buffer.from(u8).toString('hex');
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const nowSec = () => Math.floor(Date.now() / 1000);
const isAmount = (a) => Number.isSafeInteger(a) && a > 0;

/** Splits an amount into powers of two, ascending (NUT-08 change: 900 -> 4,128,256,512). */
export function splitAmount(n) {
  const out = [];
  for (let bit = 0; n > 0; bit++) {
    const v = 2 ** bit;
    if (n % (2 * v) !== 0) {
      out.push(v);
      n -= v;
    }
  }
  return out;
}

export class Mint {
  /**
   * opts: seed (Buffer), unit, inputFeePpk, maxOrder, keysetVersion (0|1),
   * inactiveKeyset (bool), autoPay, feeReserve, lnFee, quoteExpiry,
   * maxInputs, maxOutputs, maxAmount, stateFile, name.
   */
  constructor(opts) {
    this.o = opts;
    this.keysets = new Map(); // id -> {id, unit, active, input_fee_ppk, pub:{amt:hex}, priv:{amt:Uint8Array}, spec}
    this.keysetSpecs = []; // persisted: [{label, version, input_fee_ppk, active}]
    this.spent = new Map(); // Y -> {amount, id, witness}
    this.pending = new Map(); // Y -> operation tag
    this.outputsPending = new Set(); // B_
    this.signatures = new Map(); // B_ -> {output:{amount,id,B_}, sig:{id,amount,C_,dleq}}
    this.mintQuotes = new Map();
    this.meltQuotes = new Map();
    this.invoices = new Map(); // request -> {preimage, fail, pending, mintQuote?}
    this.totals = { issued: 0, redeemed: 0, minted: 0, melted: 0, fees: 0 };
    this.holdMs = 0;
    this.stateVersion = 0;
    // Set by mint.mjs when it has peers: async (request) -> null | the peer's /_test/pay-invoice answer.
    this.payForeign = null;

    if (opts.stateFile && existsSync(opts.stateFile)) this.load();
    if (this.keysetSpecs.length === 0) {
      if (opts.inactiveKeyset) this.keysetSpecs.push({ label: 'legacy', version: 0, input_fee_ppk: 0, active: false });
      this.keysetSpecs.push({ label: 'k0', version: opts.keysetVersion, input_fee_ppk: opts.inputFeePpk, active: true });
    }
    for (const spec of this.keysetSpecs) this.addKeyset(spec);
    const mintKey = sha256(this.o.seed, 'routstr-test-mint/info-key');
    this.pubkey = hex(getPubKeyFromPrivKey(mintKey));
    this.save();
  }

  // ---------------------------------------------------------------- keysets

  addKeyset(spec) {
    const kseed = sha256(this.o.seed, 'routstr-test-mint/keyset/' + spec.label);
    const unit = spec.unit ?? this.o.unit;
    const ks = createNewMintKeys(this.o.maxOrder, kseed, {
      unit,
      input_fee_ppk: spec.input_fee_ppk || undefined,
      versionByte: spec.version,
    });
    const pub = {};
    const pubPts = {};
    for (const [amt, k] of Object.entries(ks.pubKeys)) {
      pub[amt] = hex(k);
      pubPts[amt] = pointFromHex(pub[amt]);
    }
    this.keysets.set(ks.keysetId, {
      id: ks.keysetId,
      unit,
      active: spec.active,
      input_fee_ppk: spec.input_fee_ppk,
      pub,
      pubPts,
      priv: ks.privKeys,
      spec,
    });
  }

  activeKeyset() {
    for (const ks of this.keysets.values()) if (ks.active) return ks;
    return null;
  }

  /** Deactivates the active keyset and creates a new active one (seed-derived, reproducible). */
  rotate(inputFeePpk) {
    for (const ks of this.keysets.values()) {
      ks.active = false;
      ks.spec.active = false;
    }
    const n = this.keysetSpecs.filter((s) => s.label.startsWith('k')).length;
    const spec = {
      label: 'k' + n,
      version: 1,
      input_fee_ppk: inputFeePpk ?? this.o.inputFeePpk,
      active: true,
    };
    this.keysetSpecs.push(spec);
    this.addKeyset(spec);
    this.save();
    return this.activeKeyset().id;
  }

  keysetJson(ks, withKeys) {
    const j = { id: ks.id, unit: ks.unit, active: ks.active, input_fee_ppk: ks.input_fee_ppk, final_expiry: null };
    if (withKeys) j.keys = ks.pub;
    return j;
  }

  getKeys(id) {
    if (id === undefined) {
      return { keysets: [...this.keysets.values()].filter((k) => k.active).map((k) => this.keysetJson(k, true)) };
    }
    const ks = this.keysets.get(id);
    if (!ks) fail(CODES.KEYSET_UNKNOWN, 'keyset is not known');
    return { keysets: [this.keysetJson(ks, true)] };
  }

  getKeysets() {
    return { keysets: [...this.keysets.values()].map((k) => this.keysetJson(k, false)) };
  }

  info(url) {
    const unit = this.o.unit;
    const method = { method: 'bolt11', unit, min_amount: 1, max_amount: this.o.maxAmount };
    return {
      name: this.o.name,
      pubkey: this.pubkey,
      version: 'routstr-test-mint/0.1.0',
      description: 'Fake Cashu mint for routstr-c tests (real BDHKE, fake Lightning)',
      contact: [],
      motd: 'test mint: do not use with real money',
      urls: url ? [url] : [],
      time: nowSec(),
      nuts: {
        4: { methods: [{ ...method, options: { description: true } }], disabled: false },
        5: { methods: [method], disabled: false },
        7: { supported: true },
        8: { supported: true },
        9: { supported: true },
        12: { supported: true },
      },
    };
  }

  // ------------------------------------------------------------- validation

  /** fees(inputs) = ceil(sum(input_fee_ppk of each input's keyset) / 1000). */
  feesFor(inputs) {
    let ppk = 0;
    for (const p of inputs) ppk += this.keysets.get(p.id).input_fee_ppk;
    return Math.floor((ppk + 999) / 1000);
  }

  /**
   * Checks a list of input proofs: shape, keyset, signature, duplicates,
   * single unit, spent, pending. Returns [{proof, Y}] (Y hex) in input order.
   */
  checkInputs(inputs) {
    if (!Array.isArray(inputs) || inputs.length === 0) fail(CODES.TX_ERROR, 'no inputs provided');
    if (inputs.length > this.o.maxInputs) fail(CODES.MAX_INPUTS, `max inputs exceeded (${this.o.maxInputs})`);
    const out = [];
    const seen = new Set();
    const units = new Set();
    for (const p of inputs) {
      if (!p || typeof p !== 'object' || typeof p.secret !== 'string' || typeof p.C !== 'string' || typeof p.id !== 'string')
        fail(CODES.NOT_ALLOWED, 'malformed proof');
      if (!isAmount(p.amount)) fail(CODES.PROOF_INVALID, 'invalid proof amount');
      if (p.secret.length === 0 || p.secret.length > 1024) fail(CODES.PROOF_INVALID, 'invalid secret length');
      const ks = this.keysets.get(p.id);
      if (!ks) fail(CODES.KEYSET_UNKNOWN, 'keyset is not known');
      units.add(ks.unit);
      const Ypt = hashToCurve(enc.encode(p.secret));
      const Y = Ypt.toHex(true);
      if (seen.has(Y)) fail(CODES.DUP_INPUTS, 'duplicate inputs provided');
      seen.add(Y);
      out.push({ proof: p, Y, Ypt, ks });
    }
    if (units.size > 1) fail(CODES.MULTI_UNIT, 'inputs of multiple units');
    for (const { proof: p, Ypt, ks } of out) {
      const k = ks.priv[String(p.amount)];
      if (!k || !HEX33.test(p.C.toLowerCase())) fail(CODES.PROOF_INVALID, 'proof verification failed');
      let C;
      try {
        C = pointFromHex(p.C);
      } catch {
        fail(CODES.PROOF_INVALID, 'proof verification failed');
      }
      // Variable-time multiply: fine for a test mint (about 2x faster than multiply()).
      if (!Ypt.multiplyUnsafe(bytesToScalar(k)).equals(C)) fail(CODES.PROOF_INVALID, 'proof verification failed');
    }
    for (const { Y } of out) if (this.spent.has(Y)) fail(CODES.SPENT, 'Token already spent.');
    for (const { Y } of out) if (this.pending.has(Y)) fail(CODES.PENDING, 'proofs are pending');
    return out;
  }

  /**
   * Checks blinded outputs. amountsMatter=false for NUT-08 blank outputs.
   * Returns [{amount, id, B_, ks}].
   */
  checkOutputs(outputs, amountsMatter = true) {
    if (!Array.isArray(outputs)) fail(CODES.NOT_ALLOWED, 'outputs must be an array');
    if (outputs.length > this.o.maxOutputs) fail(CODES.MAX_OUTPUTS, `max outputs exceeded (${this.o.maxOutputs})`);
    const out = [];
    const seen = new Set();
    for (const o of outputs) {
      if (!o || typeof o !== 'object' || typeof o.B_ !== 'string' || typeof o.id !== 'string')
        fail(CODES.NOT_ALLOWED, 'malformed blinded message');
      const B_ = o.B_.toLowerCase();
      if (!HEX33.test(B_)) fail(CODES.NOT_ALLOWED, 'invalid blinded message (B_ not a compressed point)');
      try {
        pointFromHex(B_);
      } catch {
        fail(CODES.NOT_ALLOWED, 'invalid blinded message (B_ not on curve)');
      }
      const ks = this.keysets.get(o.id);
      if (!ks) fail(CODES.KEYSET_UNKNOWN, 'keyset is not known');
      if (!ks.active) fail(CODES.KEYSET_INACTIVE, 'keyset is inactive, cannot sign messages');
      if (amountsMatter) {
        if (!isAmount(o.amount) || !ks.priv[String(o.amount)]) fail(CODES.TX_ERROR, `invalid output amount: ${o.amount}`);
      } else if (!Number.isSafeInteger(o.amount) || o.amount < 0) fail(CODES.NOT_ALLOWED, 'invalid blank output amount');
      if (seen.has(B_)) fail(CODES.DUP_OUTPUTS, 'duplicate outputs provided');
      seen.add(B_);
      out.push({ amount: o.amount, id: o.id, B_, ks });
    }
    const units = new Set(out.map((x) => x.ks.unit));
    if (units.size > 1) fail(CODES.MULTI_UNIT, 'outputs of multiple units');
    for (const o of out) if (this.signatures.has(o.B_)) fail(CODES.OUTPUTS_SIGNED, 'outputs have already been signed before');
    for (const o of out) if (this.outputsPending.has(o.B_)) fail(CODES.OUTPUTS_PENDING, 'outputs are pending');
    return out;
  }

  /** Signs one checked output with amount `amount`; stores it for NUT-09 and 11003. */
  sign(o, amount) {
    const k = o.ks.priv[String(amount)];
    const { C_, dleq } = signWithDleq(pointFromHex(o.B_), k, o.ks.pubPts[String(amount)]);
    const sig = { id: o.ks.id, amount, C_, dleq };
    this.signatures.set(o.B_, { output: { amount, id: o.ks.id, B_: o.B_ }, sig });
    this.totals.issued += amount;
    return sig;
  }

  lock(ins, outs, tag) {
    for (const { Y } of ins) this.pending.set(Y, tag);
    for (const o of outs) this.outputsPending.add(o.B_);
  }

  unlock(ins, outs) {
    for (const { Y } of ins) this.pending.delete(Y);
    for (const o of outs) this.outputsPending.delete(o.B_);
  }

  markSpent(ins) {
    for (const { proof, Y } of ins) {
      this.spent.set(Y, { amount: proof.amount, id: proof.id, witness: proof.witness ?? null });
      this.totals.redeemed += proof.amount;
    }
  }

  // ------------------------------------------------------------------ NUT-03

  async swap(body) {
    const ins = this.checkInputs(body?.inputs);
    const outs = this.checkOutputs(body?.outputs ?? []);
    if (outs.length && outs[0].ks.unit !== ins[0].ks.unit) fail(CODES.UNIT_MISMATCH, 'inputs and outputs not of same unit');
    const sumIn = ins.reduce((a, x) => a + x.proof.amount, 0);
    const sumOut = outs.reduce((a, x) => a + x.amount, 0);
    const fees = this.feesFor(ins.map((x) => x.proof));
    if (sumIn - fees !== sumOut)
      fail(CODES.UNBALANCED, `transaction is not balanced: inputs ${sumIn} - fees ${fees} != outputs ${sumOut}`);
    this.lock(ins, outs, 'swap');
    try {
      if (this.holdMs > 0) await sleep(this.holdMs);
      const signatures = outs.map((o) => this.sign(o, o.amount));
      this.markSpent(ins);
      this.totals.fees += fees;
      this.save();
      return { signatures };
    } finally {
      this.unlock(ins, outs);
    }
  }

  // ------------------------------------------------------------------ NUT-07

  checkstate(body) {
    const Ys = body?.Ys;
    if (!Array.isArray(Ys) || Ys.length > 10000) fail(CODES.NOT_ALLOWED, 'Ys must be an array (max 10000)');
    return {
      states: Ys.map((Y) => {
        if (typeof Y !== 'string' || !HEX33.test(Y.toLowerCase())) fail(CODES.NOT_ALLOWED, 'invalid Y');
        const y = Y.toLowerCase();
        const s = this.spent.get(y);
        return { Y, state: s ? 'SPENT' : this.pending.has(y) ? 'PENDING' : 'UNSPENT', witness: s?.witness ?? null };
      }),
    };
  }

  // ------------------------------------------------------------------ NUT-09

  restore(body) {
    const outputs = body?.outputs;
    if (!Array.isArray(outputs) || outputs.length > 10000) fail(CODES.NOT_ALLOWED, 'outputs must be an array (max 10000)');
    const res = { outputs: [], signatures: [] };
    for (const o of outputs) {
      if (!o || typeof o.B_ !== 'string') fail(CODES.NOT_ALLOWED, 'malformed blinded message');
      const s = this.signatures.get(o.B_.toLowerCase());
      if (s) {
        res.outputs.push(s.output);
        res.signatures.push(s.sig);
      }
    }
    return res;
  }

  // ------------------------------------------------------------- invoices

  /** A fake invoice for `sats` (in the mint's unit); flags: fail, pending, description, descriptionHash. */
  newInvoice(amount, flags = {}) {
    const msat = this.o.unit === 'msat' ? BigInt(amount) : BigInt(amount) * 1000n;
    const inv = makeInvoice({
      amountMsat: msat,
      description: flags.description,
      descriptionHash: flags.descriptionHash,
      expiry: this.o.quoteExpiry,
    });
    this.invoices.set(inv.request, { preimage: inv.preimage, fail: !!flags.fail, pending: !!flags.pending });
    return inv;
  }

  // ------------------------------------------------------------------ NUT-04

  mintQuoteJson(q) {
    return { quote: q.quote, request: q.request, amount: q.amount, unit: q.unit, state: q.state, expiry: q.expiry };
  }

  createMintQuote(body) {
    if (body?.unit !== this.o.unit) fail(CODES.UNIT_UNSUPPORTED, 'unit in request is not supported');
    if (!isAmount(body.amount) || body.amount > this.o.maxAmount) fail(CODES.AMOUNT_LIMIT, 'amount outside of limit range');
    const desc = typeof body.description === 'string' ? body.description.slice(0, 500) : 'routstr test mint quote';
    // Extension (not NUT-04): description_hash puts an `h` tag in the invoice, as LNURL-pay needs.
    const dh = body.description_hash;
    if (dh !== undefined && (typeof dh !== 'string' || !/^[0-9a-fA-F]{64}$/.test(dh)))
      fail(CODES.NOT_ALLOWED, 'description_hash must be 32 bytes of hex');
    const inv = this.newInvoice(body.amount, { description: desc, descriptionHash: dh?.toLowerCase() });
    const q = {
      quote: randomUUID(),
      request: inv.request,
      amount: body.amount,
      unit: this.o.unit,
      state: 'UNPAID',
      expiry: nowSec() + this.o.quoteExpiry,
    };
    this.mintQuotes.set(q.quote, q);
    this.invoices.get(inv.request).mintQuote = q.quote;
    const res = this.mintQuoteJson(q);
    // --auto-pay: the creation response says UNPAID, every later look says PAID.
    if (this.o.autoPay) q.state = 'PAID';
    this.save();
    return res;
  }

  getMintQuote(id) {
    const q = this.mintQuotes.get(id);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    return this.mintQuoteJson(q);
  }

  payMintQuote(id) {
    const q = this.mintQuotes.get(id);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    if (q.state === 'UNPAID') q.state = 'PAID';
    this.save();
    return this.mintQuoteJson(q);
  }

  /**
   * Peer side of a foreign payment (POST /_test/pay-invoice): another test mint
   * melted `request`. If one of our mint quotes has that invoice, it becomes
   * PAID as after an internal payment. Answers {found:false}, or
   * {found:true, quote, state, already_paid, preimage?} (preimage only when
   * this call paid it).
   */
  payInvoice(request) {
    if (typeof request !== 'string') fail(CODES.NOT_ALLOWED, 'request must be a bolt11 string');
    const inv = this.invoices.get(request.trim().toLowerCase());
    const mq = inv?.mintQuote ? this.mintQuotes.get(inv.mintQuote) : undefined;
    if (!mq) return { found: false };
    if (mq.state !== 'UNPAID') return { found: true, quote: mq.quote, state: mq.state, already_paid: true };
    mq.state = 'PAID';
    this.save();
    return { found: true, quote: mq.quote, state: mq.state, already_paid: false, preimage: inv.preimage };
  }

  async mint(body) {
    const q = this.mintQuotes.get(body?.quote);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    if (q.busy) fail(CODES.QUOTE_PENDING, 'quote is pending');
    if (q.state === 'ISSUED') fail(CODES.QUOTE_ISSUED, 'quote has already been issued');
    if (q.state !== 'PAID') {
      if (q.expiry < nowSec()) fail(CODES.QUOTE_EXPIRED, 'quote is expired');
      fail(CODES.QUOTE_UNPAID, 'quote request is not paid');
    }
    const outs = this.checkOutputs(body.outputs);
    if (outs.length === 0) fail(CODES.TX_ERROR, 'no outputs provided');
    if (outs[0].ks.unit !== q.unit) fail(CODES.UNIT_MISMATCH, 'outputs not of the quote unit');
    const sumOut = outs.reduce((a, x) => a + x.amount, 0);
    if (sumOut !== q.amount) fail(CODES.UNBALANCED, `outputs ${sumOut} != quote amount ${q.amount}`);
    q.busy = true;
    this.lock([], outs, 'mint');
    try {
      if (this.holdMs > 0) await sleep(this.holdMs);
      const signatures = outs.map((o) => this.sign(o, o.amount));
      q.state = 'ISSUED';
      this.totals.minted += q.amount;
      this.save();
      return { signatures };
    } finally {
      q.busy = false;
      this.unlock([], outs);
    }
  }

  // ------------------------------------------------------------------ NUT-05

  meltQuoteJson(q) {
    const j = {
      quote: q.quote,
      request: q.request,
      amount: q.amount,
      unit: q.unit,
      fee_reserve: q.fee_reserve,
      state: q.state,
      expiry: q.expiry,
      payment_preimage: q.payment_preimage,
    };
    if (q.change) j.change = q.change;
    return j;
  }

  createMeltQuote(body) {
    if (body?.unit !== this.o.unit) fail(CODES.UNIT_UNSUPPORTED, 'unit in request is not supported');
    if (typeof body.request !== 'string') fail(CODES.NOT_ALLOWED, 'request must be a bolt11 string');
    const request = body.request.trim();
    let msat;
    try {
      msat = invoiceAmountMsat(request);
    } catch (e) {
      fail(CODES.NOT_ALLOWED, 'invalid bolt11 invoice: ' + e.message);
    }
    const amountless = body.options?.amountless?.amount_msat;
    if (msat === null) {
      if (amountless === undefined) fail(CODES.AMOUNTLESS, 'amountless invoice is not supported');
      msat = BigInt(amountless);
    } else if (amountless !== undefined && BigInt(amountless) !== msat) {
      fail(CODES.AMOUNT_MISMATCH, 'amount in request does not equal invoice');
    }
    const amountBig = this.o.unit === 'msat' ? msat : (msat + 999n) / 1000n;
    if (amountBig < 1n || amountBig > BigInt(this.o.maxAmount)) fail(CODES.AMOUNT_LIMIT, 'amount outside of limit range');
    const q = {
      quote: randomUUID(),
      request,
      amount: Number(amountBig),
      unit: this.o.unit,
      fee_reserve: this.o.feeReserve,
      state: 'UNPAID',
      expiry: nowSec() + this.o.quoteExpiry,
      payment_preimage: null,
    };
    this.meltQuotes.set(q.quote, q);
    this.save();
    return this.meltQuoteJson(q);
  }

  getMeltQuote(id) {
    const q = this.meltQuotes.get(id);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    return this.meltQuoteJson(q);
  }

  /** True when some melt already paid this invoice. */
  invoicePaid(request) {
    for (const q of this.meltQuotes.values()) if (q.request === request && q.state === 'PAID') return true;
    return false;
  }

  async melt(body) {
    const q = this.meltQuotes.get(body?.quote);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    if (q.state === 'PENDING') fail(CODES.QUOTE_PENDING, 'quote is pending');
    if (q.state === 'PAID' || this.invoicePaid(q.request)) fail(CODES.INVOICE_PAID, 'invoice already paid');
    if (q.expiry < nowSec()) fail(CODES.QUOTE_EXPIRED, 'quote is expired');
    const ins = this.checkInputs(body.inputs);
    if (ins[0].ks.unit !== q.unit) fail(CODES.UNIT_MISMATCH, 'inputs not of the quote unit');
    const outs = this.checkOutputs(body.outputs ?? [], false);
    if (outs.length && outs[0].ks.unit !== q.unit) fail(CODES.UNIT_MISMATCH, 'outputs not of the quote unit');
    const sumIn = ins.reduce((a, x) => a + x.proof.amount, 0);
    const fees = this.feesFor(ins.map((x) => x.proof));
    const need = q.amount + q.fee_reserve;
    if (sumIn - fees < need)
      fail(CODES.UNBALANCED, `not enough inputs provided for melt: ${sumIn} - fees ${fees} < ${need}`);
    this.lock(ins, outs, 'melt');
    q.state = 'PENDING';
    const inv = this.invoices.get(q.request) ?? {};
    const settle = async () => {
      if (this.holdMs > 0) await sleep(this.holdMs);
      if (inv.pending) {
        // Stays PENDING until POST /_test/settle/{quote}; the locks stay held.
        q.held = { ins, outs, fees, sumIn };
        this.save();
        return this.meltQuoteJson(q);
      }
      if (inv.fail || q.request.slice(q.request.lastIndexOf('1')).includes('fail'))
        return this.finishMelt(q, ins, outs, fees, sumIn, false);
      // An invoice we did not make: a peer mint (--peer) may have made it. The
      // peer call finishes before the melt does, so PAID here means PAID there.
      let preimage;
      if (!this.invoices.has(q.request) && this.payForeign) {
        const r = await this.payForeign(q.request);
        if (r?.already_paid)
          return this.finishMelt(q, ins, outs, fees, sumIn, false, { code: CODES.INVOICE_PAID, detail: 'invoice already paid' });
        preimage = r?.preimage;
      }
      return this.finishMelt(q, ins, outs, fees, sumIn, true, { preimage });
    };
    if (body.prefer_async === true) {
      settle().catch(() => {});
      return this.meltQuoteJson(q);
    }
    return settle();
  }

  /**
   * Completes a pending melt: success spends inputs and returns change; failure
   * releases them and throws `code` (default 20004). preimage: the one a peer
   * mint gave for a foreign invoice.
   */
  finishMelt(q, ins, outs, fees, sumIn, success, { preimage, code = CODES.LN_FAILED, detail = 'Lightning payment failed' } = {}) {
    this.unlock(ins, outs);
    q.held = undefined;
    if (!success) {
      q.state = 'UNPAID';
      this.save();
      fail(code, detail);
    }
    const inv = this.invoices.get(q.request);
    const lnFee = Math.min(this.o.lnFee, q.fee_reserve);
    this.markSpent(ins);
    q.state = 'PAID';
    q.payment_preimage = inv?.preimage ?? preimage ?? randomBytes(32).toString('hex');
    // Paying one of our own mint quotes' invoices marks that quote PAID (internal payment).
    if (inv?.mintQuote) {
      const mq = this.mintQuotes.get(inv.mintQuote);
      if (mq && mq.state === 'UNPAID') mq.state = 'PAID';
    }
    const overpaid = sumIn - fees - q.amount - lnFee;
    const change = [];
    if (overpaid > 0 && outs.length > 0) {
      // Largest pieces first into the available blanks, then returned in blank order.
      const pieces = splitAmount(overpaid)
        .filter((a) => outs[0].ks.priv[String(a)])
        .reverse()
        .slice(0, outs.length)
        .reverse();
      pieces.forEach((a, i) => change.push(this.sign(outs[i], a)));
    }
    const returned = change.reduce((a, s) => a + s.amount, 0);
    this.totals.melted += q.amount;
    this.totals.fees += sumIn - q.amount - returned;
    if (change.length) q.change = change;
    this.save();
    return this.meltQuoteJson(q);
  }

  /** Test control: settles a melt held PENDING by a pending invoice. */
  settleMelt(id, success) {
    const q = this.meltQuotes.get(id);
    if (!q) fail(CODES.NOT_ALLOWED, 'quote not found');
    if (!q.held) fail(CODES.NOT_ALLOWED, 'quote is not held pending');
    const { ins, outs, fees, sumIn } = q.held;
    try {
      return this.finishMelt(q, ins, outs, fees, sumIn, success);
    } catch (e) {
      if (e instanceof MintError && e.code === CODES.LN_FAILED) return this.meltQuoteJson(q);
      throw e;
    }
  }

  // ------------------------------------------------------------ inspection

  snapshot() {
    return {
      keysets: [...this.keysets.values()].map((k) => this.keysetJson(k, false)),
      spent: this.spent.size,
      pending: this.pending.size,
      signatures: this.signatures.size,
      mint_quotes: this.mintQuotes.size,
      melt_quotes: this.meltQuotes.size,
      totals: { ...this.totals, outstanding: this.totals.issued - this.totals.redeemed },
      hold_ms: this.holdMs,
    };
  }

  // ----------------------------------------------------------- persistence

  save() {
    if (!this.o.stateFile) return;
    const j = {
      version: 1,
      seed: this.o.seed.toString('hex'),
      keysetSpecs: this.keysetSpecs,
      spent: [...this.spent],
      signatures: [...this.signatures],
      mintQuotes: [...this.mintQuotes.values()].map(({ busy, ...q }) => q),
      meltQuotes: [...this.meltQuotes.values()].map(({ held, ...q }) => q),
      invoices: [...this.invoices],
      totals: this.totals,
    };
    const tmp = this.o.stateFile + '.tmp';
    writeFileSync(tmp, JSON.stringify(j));
    renameSync(tmp, this.o.stateFile);
  }

  load() {
    const j = JSON.parse(readFileSync(this.o.stateFile, 'utf8'));
    if (this.o.seedGiven && j.seed !== this.o.seed.toString('hex')) throw new Error('--seed differs from the seed in --state file');
    this.o.seed = Buffer.from(j.seed, 'hex');
    this.keysetSpecs = j.keysetSpecs;
    this.spent = new Map(j.spent);
    this.signatures = new Map(j.signatures);
    // A melt held PENDING when the mint stopped is restored as UNPAID (its locks were in memory).
    for (const q of j.meltQuotes) {
      if (q.state === 'PENDING') q.state = 'UNPAID';
      this.meltQuotes.set(q.quote, q);
    }
    for (const q of j.mintQuotes) this.mintQuotes.set(q.quote, q);
    this.invoices = new Map(j.invoices);
    this.totals = j.totals;
  }
}

function bytesToScalar(u8) {
  return BigInt('0x' + hex(u8));
}
