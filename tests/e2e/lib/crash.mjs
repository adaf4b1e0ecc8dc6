// Crash points (lib/funds.c funds_crash_point): the run's TEST_CRASH_FILE
// setting is '@RUNDIR@/crash-point'; the first process to reach the point
// written there dies with SIGKILL, as kill -9 would.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

// Arm a crash point for the next process that reaches it.
export function arm(stack, point) {
	fs.writeFileSync(path.join(stack.server.rundir, 'crash-point'), point, { mode: 0o666 });
}

// A request whose process dies at the armed point (any answer but a 2xx,
// or none); then wait until the web server answers /health again.
export async function dies(stack, request) {
	const f = path.join(stack.server.rundir, 'crash-point');
	try {
		const r = await request;
		assert.ok(r.status >= 500, `expected the process to die, got ${r.status}: ${r.text?.slice(0, 200)}`);
	} catch {
		// connection closed: fine
	}
	assert.ok(!fs.existsSync(f), 'the process never reached the crash point');
	const end = Date.now() + 15000;
	for (;;) {
		try {
			if ((await fetch(`${stack.baseUrl}/health`)).status === 200)
				return;
		} catch {
			// not yet
		}
		assert.ok(Date.now() < end, 'routstr.fcgi was not respawned');
		await new Promise((r) => setTimeout(r, 200));
	}
}
