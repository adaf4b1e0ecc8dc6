// Fake BOLT11 invoices for the test mint.
//
// The invoices are structurally real: bech32 HRP "lnbc<amount><multiplier>", a
// timestamp, tagged fields (p = payment hash, s = payment secret, d =
// description or h = description hash, x = expiry), a 65-byte "signature" and
// a valid bech32 checksum.
// Only the signature is fake (random bytes), so a decoder that checks the
// checksum and parses the fields accepts them, and one that recovers the payee
// key gets a meaningless key. Amount parsing follows BOLT11 (and cashu-ts,
// which reads only the HRP).

import { createHash, randomBytes } from 'node:crypto';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const MSAT_PER_BTC = 100000000000n;
const MULT = { m: 100000000n, u: 100000n, n: 100n }; // msat per unit of the multiplier

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp) {
  const out = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function checksum(hrp, words) {
  const mod = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const out = [];
  for (let i = 0; i < 6; i++) out.push((mod >>> (5 * (5 - i))) & 31);
  return out;
}

/** bech32 (BIP-173 checksum, no length limit as LUD-01 allows) of bytes under a lower-case hrp. */
export function bech32Encode(hrp, bytes) {
  const words = toWords(bytes);
  return hrp + '1' + [...words, ...checksum(hrp, words)].map((w) => CHARSET[w]).join('');
}

/** Checks the bech32 checksum of a lower-case bolt11 string. */
export function bech32Valid(str) {
  const s = str.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || sep + 7 > s.length) return false;
  const words = [];
  for (const c of s.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) return false;
    words.push(v);
  }
  return polymod([...hrpExpand(s.slice(0, sep)), ...words]) === 1;
}

function toWords(bytes) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >>> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

function intWords(n, len) {
  const out = new Array(len).fill(0);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = n % 32;
    n = Math.floor(n / 32);
  }
  return out;
}

function tag(letter, dataWords) {
  return [CHARSET.indexOf(letter), ...intWords(dataWords.length, 2), ...dataWords];
}

/**
 * HRP amount text for an amount in msat (BigInt). Always the "n" (nano-BTC)
 * form when exact (1 sat = "10n", so 100 sat -> "lnbc1000n1..."), else "p".
 * Predictable for tests; real wallets often use the shortest form (m/u), which
 * invoiceAmountMsat() also reads.
 */
function hrpAmount(msat) {
  if (msat % MULT.n === 0n) return (msat / MULT.n).toString() + 'n';
  return (msat * 10n).toString() + 'p';
}

/**
 * Builds a fake invoice. amountMsat: BigInt (null for an amountless invoice).
 * descriptionHash (64 hex): an `h` tag instead of the `d` tag, as LNURL-pay
 * invoices have (LUD-06). Returns {request, paymentHash, preimage} (hex strings). A "fail" marker can
 * not be put into real bech32 data ('i' and 'l' are not in the charset), so
 * failing invoices are remembered by the mint instead (see mint.mjs).
 */
export function makeInvoice({ amountMsat, description = 'routstr test mint', descriptionHash = null, expiry = 3600 }) {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest();
  const hrp = 'lnbc' + (amountMsat == null ? '' : hrpAmount(BigInt(amountMsat)));
  const words = [
    ...intWords(Math.floor(Date.now() / 1000), 7),
    ...tag('p', toWords(paymentHash)),
    ...tag('s', toWords(randomBytes(32))),
    ...(descriptionHash
      ? tag('h', toWords(Buffer.from(descriptionHash, 'hex')))
      : tag('d', toWords(Buffer.from(description, 'utf8').subarray(0, 600)))),
    ...tag('x', intWords(expiry, Math.max(1, Math.ceil(Math.log2(expiry + 1) / 5)))),
    ...toWords(randomBytes(65)), // fake recoverable signature (64 bytes + recovery id)
  ];
  const all = [...words, ...checksum(hrp, words)];
  const request = hrp + '1' + all.map((w) => CHARSET[w]).join('');
  return { request, paymentHash: paymentHash.toString('hex'), preimage: preimage.toString('hex') };
}

/**
 * Amount of a bolt11 string in msat as BigInt, null when amountless; throws
 * Error on a malformed HRP. Same rules as BOLT11 / cashu-ts bolt11AmountMsat.
 */
export function invoiceAmountMsat(invoice) {
  if (typeof invoice !== 'string' || invoice.length > 8192) throw new Error('invoice must be a string');
  const s = invoice.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (!s.startsWith('ln') || sep < 3 || sep === s.length - 1) throw new Error('invalid bolt11 invoice');
  const m = /^ln[a-z]+?(\d*)([munp]?)$/.exec(s.slice(0, sep));
  if (!m) throw new Error('invalid bolt11 invoice');
  const [, num, mult] = m;
  if (num === '') return null;
  if (num.startsWith('0')) throw new Error('invalid bolt11 amount');
  const n = BigInt(num);
  if (mult === '') return n * MSAT_PER_BTC;
  if (mult === 'p') {
    if (n % 10n !== 0n) throw new Error('invalid bolt11 amount (sub-msat)');
    return n / 10n;
  }
  return n * MULT[mult];
}
