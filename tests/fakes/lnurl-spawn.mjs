// Helper for Node tests: start the fake LNURL-pay server (lnurl.mjs) as a child
// process and wait for its {"port","url","pid"} line. Usage:
//   const ln = await startLnurl(['--mint', mint.url]);
//   ... ln.url ... await ln.ctl('POST', '/_test/mode', {mode: 'error'}) ...
//   await ln.stop();

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startProcess } from './mint/spawn.mjs';

const LNURL = join(dirname(fileURLToPath(import.meta.url)), 'lnurl.mjs');

/** Starts lnurl.mjs with extra args; resolves {url, port, pid, info, proc, ctl, stop, stderr}. */
export function startLnurl(args = [], { timeoutMs = 10000 } = {}) {
  return startProcess(LNURL, args, { timeoutMs, name: 'lnurl' });
}
