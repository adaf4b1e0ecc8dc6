// WAV (RIFF, 16-bit PCM, mono) helpers for tests and the mock upstream.
// Node stdlib only.
//
//   import { makeWav, wavInfo } from '../fakes/wav.mjs';
//   const buf = makeWav({ seconds: 1, sampleRate: 8000 });	// a 440 Hz tone
//   wavInfo(buf)	// { sampleRate: 8000, channels: 1, bitsPerSample: 16,
//			//   dataBytes: 16000, seconds: 1 }

// A valid 16-bit PCM mono WAV file: a sine tone of `freq` Hz at `amplitude`
// (0..1) of full scale, lasting round(seconds * sampleRate) samples.
export function makeWav({ seconds = 1, sampleRate = 8000, freq = 440, amplitude = 0.5 } = {}) {
	if (!(seconds >= 0) || !Number.isInteger(sampleRate) || sampleRate <= 0)
		throw new RangeError('makeWav: bad seconds or sampleRate');
	const samples = Math.round(seconds * sampleRate);
	const dataBytes = samples * 2;
	const buf = Buffer.alloc(44 + dataBytes);
	buf.write('RIFF', 0, 'ascii');
	buf.writeUInt32LE(36 + dataBytes, 4);
	buf.write('WAVE', 8, 'ascii');
	buf.write('fmt ', 12, 'ascii');
	buf.writeUInt32LE(16, 16);		// fmt chunk size
	buf.writeUInt16LE(1, 20);		// PCM
	buf.writeUInt16LE(1, 22);		// mono
	buf.writeUInt32LE(sampleRate, 24);
	buf.writeUInt32LE(sampleRate * 2, 28);	// byte rate
	buf.writeUInt16LE(2, 32);		// block align
	buf.writeUInt16LE(16, 34);		// bits per sample
	buf.write('data', 36, 'ascii');
	buf.writeUInt32LE(dataBytes, 40);
	const peak = Math.round(32767 * Math.min(1, Math.max(0, amplitude)));
	for (let i = 0; i < samples; i++) {
		const v = Math.round(peak * Math.sin(2 * Math.PI * freq * i / sampleRate));
		buf.writeInt16LE(v, 44 + 2 * i);
	}
	return buf;
}

// The format and duration of a RIFF/WAVE buffer (any PCM layout), walking its
// chunks; null when it is not one. A data chunk whose size runs past the
// end of the buffer (a streamed WAV) is measured by the bytes present.
export function wavInfo(buf) {
	if (!Buffer.isBuffer(buf) || buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' ||
	    buf.toString('ascii', 8, 12) !== 'WAVE')
		return null;
	let fmt = null;
	let pos = 12;
	while (pos + 8 <= buf.length) {
		const id = buf.toString('ascii', pos, pos + 4);
		const size = buf.readUInt32LE(pos + 4);
		const body = pos + 8;
		if (id === 'fmt ' && size >= 16 && body + 16 <= buf.length) {
			fmt = {
				channels: buf.readUInt16LE(body + 2),
				sampleRate: buf.readUInt32LE(body + 4),
				byteRate: buf.readUInt32LE(body + 8),
				bitsPerSample: buf.readUInt16LE(body + 14),
			};
		} else if (id === 'data') {
			if (fmt === null || fmt.byteRate === 0)
				return null;
			const dataBytes = Math.min(size, buf.length - body);
			return {
				sampleRate: fmt.sampleRate, channels: fmt.channels,
				bitsPerSample: fmt.bitsPerSample, dataBytes,
				seconds: dataBytes / fmt.byteRate,
			};
		}
		pos = body + size + (size & 1);
	}
	return null;
}
