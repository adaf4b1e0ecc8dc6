// A tiny PNG encoder for tests and the mock upstream (uploads for
// images.edit, answers of images/*). Node stdlib only.
//
//   import { makePng, pngSize } from '../fakes/png.mjs';
//   const buf = makePng(2, 2, [255, 0, 0]);	// a valid 2x2 red RGB PNG
//   pngSize(buf)				// { width: 2, height: 2 }

import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

function crc32(buf) {
	let c = 0xffffffff;
	for (const b of buf)
		c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
	const out = Buffer.alloc(12 + data.length);
	out.writeUInt32BE(data.length, 0);
	out.write(type, 4, 'ascii');
	data.copy(out, 8);
	out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
	return out;
}

// A width x height 8-bit RGB PNG filled with one colour.
export function makePng(width = 1, height = 1, rgb = [0, 0, 0]) {
	if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
	    width > 4096 || height > 4096)
		throw new RangeError('makePng: bad size');
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr[8] = 8;	// bit depth
	ihdr[9] = 2;	// colour type RGB
	const row = Buffer.alloc(1 + 3 * width);	// filter byte 0, then pixels
	for (let x = 0; x < width; x++)
		row.set(rgb, 1 + 3 * x);
	const raw = Buffer.concat(Array.from({ length: height }, () => row));
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr),
		chunk('IDAT', deflateSync(raw)),
		chunk('IEND', Buffer.alloc(0)),
	]);
}

// The size of a PNG from its IHDR, or null when buf is not a PNG.
export function pngSize(buf) {
	if (!Buffer.isBuffer(buf) || buf.length < 24 ||
	    buf.readUInt32BE(0) !== 0x89504e47 || buf.toString('ascii', 12, 16) !== 'IHDR')
		return null;
	return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
