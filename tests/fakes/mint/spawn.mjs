// Helper for Node tests: start the test mint as a child process and wait for its
// {"port","url",...} line. Usage:
//   const m = await startMint(['--seed', SEED, '--input-fee-ppk', '100']);
//   ... m.url ... await m.ctl('POST', '/_test/down', {mode: 'reset'}) ...
//   await m.stop();
// startProcess() does the same for any fake that prints such a line (../lnurl-spawn.mjs).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const MINT = join(dirname(fileURLToPath(import.meta.url)), 'mint.mjs');

/** Starts mint.mjs with extra args; resolves {url, port, pid, info, proc, ctl, stop} within timeoutMs. */
export function startMint(args = [], { timeoutMs = 10000 } = {}) {
  return startProcess(MINT, args, { timeoutMs, name: 'mint' });
}

/**
 * Starts `node script --port 0 ...args` and waits for its first stdout line, a
 * JSON object with at least `url`. Resolves {...that object, info, proc, ctl, stop, stderr}.
 */
export function startProcess(script, args = [], { timeoutMs = 10000, name = script } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGTERM');
      reject(new Error(`${name} did not start in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    proc.stderr.on('data', (d) => {
      if (err.length < 65536) err += d;
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('\n')) reject(new Error(`${name} exited (${code}) before listening: ${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const info = JSON.parse(out.slice(0, nl));
      const ctl = async (method, path, body) => {
        const r = await fetch(info.url + path, {
          method,
          headers: body ? { 'Content-Type': 'application/json' } : {},
          body: body ? JSON.stringify(body) : undefined,
        });
        const j = await r.json();
        if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
        return j;
      };
      const stop = () =>
        new Promise((res) => {
          if (proc.exitCode !== null) return res();
          proc.once('exit', () => res());
          proc.kill('SIGTERM');
        });
      resolve({ ...info, info, proc, ctl, stop, stderr: () => err });
    });
  });
}
