// The three web-server set-ups the end-to-end tests run routstr.fcgi under:
//   "lighttpd"           lighttpd mod_fastcgi, lighttpd spawns routstr.fcgi (bin-path)
//   "apache-fcgid"       Apache mod_fcgid, Apache spawns routstr.fcgi (WORKERS=1)
//   "apache-proxy-fcgi"  Apache mod_proxy_fcgi, routstr.fcgi runs as a daemon on a
//                        unix socket, started here as www-data
// The configs are the committed lighttpd-example.conf and apache-example.conf with
// their @NAME@ placeholders filled in; nothing else is changed. Each can put
// routstr at the whole site (the default) or under a sub-path (opts.mount,
// e.g. '/~alice/routstr', as on shared hosting under a user directory).
//
// Every set-up runs in a fresh directory (owned by www-data, since Apache's and
// lighttpd's children and routstr run as www-data) and is stopped reliably: the
// server's own stop, then any routstr process still carrying this run's
// DATABASE_URL is ended by pid (first SIGTERM, then SIGKILL), so no test run
// leaves processes behind even when a test fails half-way.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SETUPS = ['lighttpd', 'apache-fcgid', 'apache-proxy-fcgi'];

const APACHE_MODULES = '/usr/lib/apache2/modules';
const WWW_UID = 33;
const WWW_GID = 33;
const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;

// Every set-up started and not yet stopped, so an exiting test process can
// still end them (synchronously) if a test forgot to or crashed.
const live = new Set();
process.on('exit', () => {
	for (const s of live)
		s.stopSync();
});

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

// Which executable is the product: $ROUTSTR_FCGI, else ./routstr.fcgi in the
// current directory (the build directory when run from make; run.sh exports
// it), else routstr.fcgi at the top of the source tree.
export function fcgiBinary() {
	if (process.env.ROUTSTR_FCGI)
		return path.resolve(process.env.ROUTSTR_FCGI);
	const cwdBin = path.resolve('routstr.fcgi');
	if (fs.existsSync(cwdBin))
		return cwdBin;
	return path.join(REPO_ROOT, 'routstr.fcgi');
}

function which(name) {
	for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin'])) {
		const p = path.join(dir || '.', name);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch { /* next */ }
	}
	return null;
}

// What is missing to run `setup` here, as a list of human-readable strings
// (empty = all there).
export function missingFor(setup) {
	const miss = [];
	const bin = fcgiBinary();
	try {
		fs.accessSync(bin, fs.constants.X_OK);
	} catch {
		miss.push(`routstr.fcgi not found at ${bin} (build it, or set ROUTSTR_FCGI)`);
	}
	if (typeof process.getuid === 'function' && process.getuid() !== 0)
		miss.push('root (the web servers bind as root and run their children as www-data)');
	if (setup === 'lighttpd') {
		if (!which('lighttpd'))
			miss.push('lighttpd (apt-get install lighttpd)');
	} else {
		if (!which('apache2'))
			miss.push('apache2 (apt-get install apache2)');
		const mods = setup === 'apache-fcgid' ? ['mod_fcgid.so']
			: ['mod_proxy.so', 'mod_proxy_fcgi.so'];
		for (const m of mods.concat(['mod_mpm_event.so', 'mod_authz_core.so', 'mod_alias.so',
			'mod_setenvif.so'])) {
			if (!fs.existsSync(path.join(APACHE_MODULES, m)))
				miss.push(`${APACHE_MODULES}/${m}` +
					(m === 'mod_fcgid.so' ? ' (apt-get install libapache2-mod-fcgid)' : ''));
		}
	}
	return miss;
}

// A free loopback TCP port (the kernel's pick; closed again before use, so a
// tiny race remains, which start() absorbs by retrying).
export async function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// A fresh run directory, writable by www-data: tests/e2e/.run/<setup>-XXXX in
// the source tree when possible, else under the system temp dir.
function makeRunDir(setup) {
	let base = path.join(REPO_ROOT, 'tests', 'e2e', '.run');
	try {
		fs.mkdirSync(base, { recursive: true });
		fs.accessSync(base, fs.constants.W_OK);
	} catch {
		base = os.tmpdir();
	}
	const dir = fs.mkdtempSync(path.join(base, `${setup}-`));
	fs.chmodSync(dir, 0o755);
	for (const sub of ['htdocs', 'fcgid'])
		fs.mkdirSync(path.join(dir, sub));
	for (const p of [dir, path.join(dir, 'htdocs'), path.join(dir, 'fcgid')])
		fs.chownSync(p, WWW_UID, WWW_GID);
	return dir;
}

// Fill the @NAME@ placeholders of a committed config; every placeholder must
// be known, so a new one in the config cannot go unnoticed.
export function renderConfig(file, values) {
	const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
	return text.replace(/@([A-Z_]+)@/g, (m, name) => {
		if (!(name in values))
			throw new Error(`${file}: no value for placeholder ${m}`);
		return String(values[name]);
	});
}

function pidAlive(pid) {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	// A zombie is dead for our purposes.
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		return !/^\d+ \(.*\) Z/.test(stat);
	} catch {
		return false;
	}
}

// Pids of live routstr processes of this run: their environment carries the
// run's DATABASE_URL (unique per run directory).
export function routstrPids(dbUrl) {
	const want = `DATABASE_URL=${dbUrl}`;
	const pids = [];
	for (const ent of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(ent) || Number(ent) === process.pid)
			continue;
		let env;
		try {
			env = fs.readFileSync(`/proc/${ent}/environ`, 'latin1');
		} catch {
			continue;
		}
		if (env.split('\0').includes(want) && pidAlive(Number(ent)))
			pids.push(Number(ent));
	}
	return pids;
}

function killPids(pids, sig) {
	for (const pid of pids) {
		try {
			process.kill(pid, sig);
		} catch { /* gone */ }
	}
}

async function waitGone(pids, ms) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (!pids.some(pidAlive))
			return true;
		await sleep(50);
	}
	return !pids.some(pidAlive);
}

function readPidFile(file) {
	try {
		const n = Number(fs.readFileSync(file, 'utf8').trim());
		return Number.isInteger(n) && n > 0 ? n : null;
	} catch {
		return null;
	}
}

async function waitHealth(baseUrl, isDead, ms) {
	const end = Date.now() + ms;
	let last = '';
	while (Date.now() < end) {
		if (isDead())
			throw new Error('web server exited during start-up');
		try {
			const r = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
			const body = await r.text();
			if (r.status === 200)
				return;
			last = `status ${r.status}: ${body.slice(0, 200)}`;
		} catch (e) {
			last = e.cause ? e.cause.message : e.message;
		}
		await sleep(100);
	}
	throw new Error(`/health did not answer 200 within ${ms} ms (last: ${last})`);
}

function readIf(file) {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return '';
	}
}

// Start one set-up. opts: { upstream (base URL incl. /v1), apiKey,
// maxBodyBytes, workers (proxy-fcgi daemon threads), mount (the URL path
// routstr answers under: '' for the whole site, the default, or a sub-path
// such as '/~alice/routstr'), conf (object: settings written to the run's
// routstr.conf, the ROUTSTR_CONFIG file all three configs point at), env
// (extra environment for the proxy-fcgi daemon only) }.
// Returns { setup, origin (http://127.0.0.1:PORT), baseUrl (where routstr
// answers: origin + mount, or + conf.ROOT_PATH when that is set), mount, port,
// rundir, dbUrl, routstrPids(), logs(), stop() } and a `stopReport` filled by
// stop().
export async function startSetup(setup, opts) {
	let lastErr;
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			return await startOnce(setup, opts);
		} catch (e) {
			lastErr = e;
		}
	}
	throw lastErr;
}

async function startOnce(setup, opts) {
	if (!SETUPS.includes(setup))
		throw new Error(`unknown set-up ${setup}`);
	const rundir = makeRunDir(setup);
	const port = await freePort();
	const bin = fcgiBinary();
	const workers = opts.workers ?? 4;
	const dbUrl = `sqlite:///${rundir}/routstr.db`;
	const mount = opts.mount ?? '';
	if (mount !== '' && !/^(\/[A-Za-z0-9~._-]+)+$/.test(mount))
		throw new Error(`mount ${JSON.stringify(mount)}: '' or a path like /~alice/routstr`);
	const values = {
		PORT: port,
		RUNDIR: rundir,
		FCGI_BIN: bin,
		UPSTREAM: opts.upstream,
		UPSTREAM_API_KEY: opts.apiKey,
		MAX_BODY_BYTES: opts.maxBodyBytes ?? 16777216,
		WORKERS: workers,
		MOUNT: mount,
	};
	const origin = `http://127.0.0.1:${port}`;
	// Where routstr answers: the mount, unless a ROOT_PATH setting tells
	// routstr it lives elsewhere than where the web server puts it.
	const rootPath = opts.conf?.ROOT_PATH;
	const baseUrl = origin + (rootPath && rootPath !== '/' ? rootPath : mount);
	const children = [];	// processes spawned here: { name, proc, exited }
	let serverPid = null;	// Apache's parent (daemonized) or lighttpd
	let confFile;
	const s = {
		setup, origin, baseUrl, mount, port, rundir, dbUrl, workers,
		stopReport: null,
		routstrPids: () => routstrPids(dbUrl),
		logs: () => collectLogs(rundir),
	};

	const spawnLogged = (name, cmd, args, extra = {}) => {
		const out = fs.openSync(path.join(rundir, `${name}.out`), 'a');
		const proc = spawn(cmd, args, { stdio: ['ignore', out, out], ...extra });
		fs.closeSync(out);
		const rec = { name, proc, exited: false, code: null, signal: null };
		proc.on('exit', (code, signal) => {
			rec.exited = true;
			rec.code = code;
			rec.signal = signal;
		});
		children.push(rec);
		return rec;
	};

	const apacheDefine = setup === 'apache-fcgid' ? 'ROUTSTR_FCGID' : 'ROUTSTR_PROXY_FCGI';

	s.stopSync = () => {
		// Last resort on process exit: no waiting possible.
		if (setup !== 'lighttpd' && confFile)
			spawnSync('apache2', ['-f', confFile, '-D', apacheDefine, '-k', 'stop'], { stdio: 'ignore' });
		for (const c of children)
			if (!c.exited)
				killPids([c.proc.pid], 'SIGKILL');
		killPids(routstrPids(dbUrl), 'SIGKILL');
	};

	s.stop = async () => {
		if (s.stopReport)
			return s.stopReport;
		const report = { routstrExitedOnTerm: true, forced: [], ms: 0 };
		const before = routstrPids(dbUrl);
		const t0 = Date.now();
		const errLog = path.join(rundir, setup === 'lighttpd' ? 'lighttpd-error.log' : 'apache-error.log');
		const logSize = readIf(errLog).length;
		if (setup === 'lighttpd') {
			const l = children.find((c) => c.name === 'lighttpd');
			if (l && !l.exited) {
				l.proc.kill('SIGTERM');
				if (!(await waitGone([l.proc.pid], STOP_TIMEOUT_MS))) {
					report.forced.push('lighttpd');
					l.proc.kill('SIGKILL');
				}
			}
		} else {
			const pid = serverPid ?? readPidFile(path.join(rundir, 'apache.pid'));
			spawnSync('apache2', ['-f', confFile, '-D', apacheDefine, '-k', 'stop'],
				{ stdio: 'ignore', timeout: 10000 });
			if (pid && !(await waitGone([pid], STOP_TIMEOUT_MS))) {
				report.forced.push('apache2');
				killPids([pid], 'SIGKILL');
			}
		}
		// The routstr daemon (proxy-fcgi) is ours to stop; spawned ones were sent
		// SIGTERM by their web server. Either way give them 3 s after SIGTERM.
		const d = children.find((c) => c.name === 'routstr');
		if (d && !d.exited)
			d.proc.kill('SIGTERM');
		let left = routstrPids(dbUrl);
		if (left.length) {
			killPids(left, 'SIGTERM');
			if (!(await waitGone(left, 3000))) {
				report.routstrExitedOnTerm = false;
				left = left.filter(pidAlive);
				report.forced.push(`routstr pids ${left.join(',')}`);
				killPids(left, 'SIGKILL');
				await waitGone(left, 2000);
			}
		}
		// A web server that had to kill routstr (mod_fcgid after its grace
		// period) says so in its log.
		for (const line of readIf(errLog).slice(logSize).split('\n')) {
			if (/did not exit|terminating forcefully|sending a SIGKILL/.test(line)) {
				report.forced.push(line.replace(/^\[[^\]]*\] /, '').slice(0, 200));
				if (/FastCGI process/.test(line))
					report.routstrExitedOnTerm = false;
			}
		}
		report.routstrPidsAtStop = before;
		report.ms = Date.now() - t0;
		live.delete(s);
		s.stopReport = report;
		// A sanitizer build (configure --enable-sanitizers) reports memory
		// errors, undefined behaviour and, at a normal exit such as SIGTERM's,
		// leaks on routstr's stderr, which lands in these logs. Any report,
		// up to and including the shutdown just done, fails the suite.
		report.sanitizer = collectLogs(rundir).split('\n').filter((l) => SANITIZER_RE.test(l));
		if (report.sanitizer.length)
			throw new Error(`sanitizer report in the logs of ${setup} (${rundir}):\n` +
				report.sanitizer.slice(0, 20).join('\n'));
		return report;
	};

	// The key=value settings file (ROUTSTR_CONFIG / -c) for everything the
	// web-server configs do not set.
	const confPath = path.join(rundir, 'routstr.conf');
	let confText = '# written by tests/e2e/lib/servers.mjs\n';
	for (const [k, v] of Object.entries(opts.conf || {}))
		confText += `${k} = ${String(v).replaceAll('@RUNDIR@', rundir)}\n`;
	fs.writeFileSync(confPath, confText, { mode: 0o644 });

	live.add(s);
	try {
		if (setup === 'lighttpd') {
			confFile = path.join(rundir, 'lighttpd.conf');
			fs.writeFileSync(confFile, renderConfig('lighttpd-example.conf', values));
			const l = spawnLogged('lighttpd', which('lighttpd'), ['-D', '-f', confFile]);
			serverPid = l.proc.pid;
			await waitHealth(baseUrl, () => l.exited, START_TIMEOUT_MS);
		} else {
			confFile = path.join(rundir, 'apache.conf');
			fs.writeFileSync(confFile, renderConfig('apache-example.conf', values));
			if (setup === 'apache-proxy-fcgi') {
				const sock = path.join(rundir, 'fcgi.sock');
				const env = {
					PATH: process.env.PATH,
					UPSTREAM_BASE_URL: opts.upstream,
					UPSTREAM_API_KEY: opts.apiKey,
					DATABASE_URL: dbUrl,
					WORKERS: String(workers),
					LOG_FILE: path.join(rundir, 'routstr.log'),
					LOG_LEVEL: 'info',
					MAX_BODY_BYTES: String(values.MAX_BODY_BYTES),
					NAME: 'routstr-c (apache mod_proxy_fcgi)',
					DESCRIPTION: 'Cashu-paid AI API proxy',
					...sanitizerEnv(),
					...(opts.env || {}),
				};
				const d = spawnLogged('routstr', bin,
					['-s', `unix:${sock}`, '-w', String(workers), '-c', confPath],
					{ env, cwd: rundir, uid: WWW_UID, gid: WWW_GID });
				const end = Date.now() + START_TIMEOUT_MS;
				while (!fs.existsSync(sock)) {
					if (d.exited)
						throw new Error(`routstr.fcgi exited at start (code ${d.code}, signal ${d.signal})`);
					if (Date.now() > end)
						throw new Error(`routstr.fcgi did not create ${sock}`);
					await sleep(50);
				}
			}
			const r = spawnSync(which('apache2'), ['-f', confFile, '-D', apacheDefine, '-k', 'start'],
				{ encoding: 'utf8', timeout: 15000 });
			if (r.status !== 0)
				throw new Error(`apache2 -k start failed (${r.status}): ${r.stdout}${r.stderr}`);
			const end = Date.now() + 5000;
			while (!(serverPid = readPidFile(path.join(rundir, 'apache.pid'))) && Date.now() < end)
				await sleep(50);
			const pid = serverPid;
			await waitHealth(baseUrl, () => pid !== null && !pidAlive(pid), START_TIMEOUT_MS);
		}
	} catch (e) {
		const logs = collectLogs(rundir);
		await s.stop().catch((x) => { e.message += `\n${x.message}`; });
		e.message += `\n--- logs of ${setup} in ${rundir} ---\n${logs.slice(-4000)}`;
		throw e;
	}
	return s;
}

// What a sanitizer prints: ASan and LSan headers, UBSan's "runtime error:".
export const SANITIZER_RE = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

// The sanitizer options of the test run (scripts/dev test sets them), for
// the daemon we start with an environment of our own. Processes a web server
// spawns get whatever environment it passes on; where the options do not
// arrive, the sanitizers' defaults apply, which also halt and report (leaks
// included).
function sanitizerEnv() {
	const env = {};
	for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'])
		if (process.env[k])
			env[k] = process.env[k];
	return env;
}

// Every log of a run directory, each under a header line.
export function collectLogs(rundir) {
	let out = '';
	for (const f of ['routstr.log', 'routstr.out', 'lighttpd-error.log', 'lighttpd.out',
		'apache-error.log']) {
		const t = readIf(path.join(rundir, f));
		if (t)
			out += `==> ${f} <==\n${t}\n`;
	}
	return out;
}
