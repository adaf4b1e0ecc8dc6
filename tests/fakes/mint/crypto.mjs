// Mint-side BDHKE + NUT-12 DLEQ, tuned for a test mint.
//
// Same results as cashu-ts createBlindSignature/createDLEQProof (deterministic
// HMAC nonce, spec commit fa2f913), about 4x faster: variable-time
// multiplyUnsafe (fine for a test mint, never for a real one), node:crypto
// SHA-256/HMAC, and cached public key points. Checked against the NUT-12
// vectors and createDLEQProof in tests/e2e/cashu-ts-mint.test.mjs.

import { createHash, createHmac } from 'node:crypto';
import { hashToCurve, pointFromHex } from '@cashu/cashu-ts';

export const G = pointFromHex('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
const N = G.constructor.Fn.ORDER;
const DST = Buffer.from('Cashu_DLEQ_R_v1', 'ascii');
const enc = new TextEncoder();

const toBig = (u8) => BigInt('0x' + Buffer.from(u8).toString('hex'));
const to32 = (x) => x.toString(16).padStart(64, '0');

/** hash_e(P1..Pk) = SHA256(utf8(concat of lowercase hex of the 65-byte uncompressed points)). */
export function hashE(points) {
  const h = createHash('sha256');
  for (const p of points) h.update(p.toHex(false), 'ascii');
  return h.digest();
}

/**
 * Signs blinded point B_ (noble Point) with private key bytes k (Uint8Array,
 * 32 B) whose public point is A. Returns {C_: hex33, dleq: {e, s}} (hex).
 */
export function signWithDleq(B_, k, A) {
  const a = toBig(k);
  const C_ = B_.multiplyUnsafe(a);
  const msg = Buffer.concat([DST, A.toBytes(false), B_.toBytes(false), C_.toBytes(false), Buffer.alloc(1)]);
  let r = 0n;
  for (let ctr = 0; ctr < 256; ctr++) {
    msg[msg.length - 1] = ctr;
    r = toBig(createHmac('sha256', Buffer.from(k)).update(msg).digest());
    if (r > 0n && r < N) break;
    r = 0n;
  }
  if (r === 0n) throw new Error('DLEQ nonce: no valid r in 256 tries');
  const R1 = G.multiply(r);
  const R2 = B_.multiplyUnsafe(r);
  const e = hashE([R1, R2, A, C_]);
  const s = (r + toBig(e) * a) % N;
  return { C_: C_.toHex(true), dleq: { e: e.toString('hex'), s: to32(s) } };
}

/** Mint-side proof check: k * hash_to_curve(utf8(secret)) == C (C: noble Point). */
export function verifyProof(secret, C, k) {
  return hashToCurve(enc.encode(secret)).multiplyUnsafe(toBig(k)).equals(C);
}

/** Y = hash_to_curve(utf8(secret)) as compressed hex. */
export function secretY(secret) {
  return hashToCurve(enc.encode(secret)).toHex(true);
}
