#!/usr/bin/env node
// mint-token.mjs MINT_URL SATS: mint SATS at a (test) mint with the cashu-ts
// wallet, paying its bolt11 quote (the test mint pays its quotes itself), and
// print the token (cashuB...). Used by the demo (scripts/dev token) and tests.
import { Wallet, getEncodedToken } from '@cashu/cashu-ts';

const [url, sats] = process.argv.slice(2);
const amount = Number(sats);
if (!url || !Number.isInteger(amount) || amount <= 0) {
	process.stderr.write('usage: mint-token.mjs MINT_URL SATS\n');
	process.exit(2);
}
const wallet = new Wallet(url, { unit: 'sat' });
await wallet.loadMint();
const quote = await wallet.createMintQuoteBolt11(amount);
await fetch(`${url}/_test/pay/${quote.quote}`, { method: 'POST' }).catch(() => {});
const proofs = await wallet.mintProofsBolt11(amount, quote.quote);
process.stdout.write(getEncodedToken({ mint: url, unit: 'sat', proofs }) + '\n');
