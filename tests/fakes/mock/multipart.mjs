// A small multipart/form-data parser (RFC 7578) for the mock upstream's
// upload endpoints (images/edits, images/variations, audio/*). Node stdlib
// only; works on the whole body held in memory.

// The boundary of a multipart/form-data content type, or null.
export function boundaryOf(contentType) {
	if (!/^\s*multipart\/form-data\s*(;|$)/i.test(contentType))
		return null;
	const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	if (!m)
		return null;
	const b = m[1] ?? m[2];
	return b.length > 0 && b.length <= 200 ? b : null;
}

// Parameters of a header value: `form-data; name="a"; filename="b.wav"`.
function headerParams(v) {
	const out = {};
	const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
	let m;
	while ((m = re.exec(v)) !== null) {
		const val = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim();
		out[m[1].toLowerCase()] = val;
	}
	return out;
}

// Parse a body. Returns { parts: [{ name, filename, contentType, data }] }
// in body order (filename is null for plain fields, data is a Buffer), or
// null when the body is not well-formed multipart/form-data.
export function parseMultipart(buf, contentType) {
	const boundary = boundaryOf(contentType);
	if (boundary === null)
		return null;
	const delim = Buffer.from(`--${boundary}`);
	const next = Buffer.from(`\r\n--${boundary}`);
	let pos = buf.indexOf(delim);
	if (pos !== 0 && (pos < 2 || buf[pos - 2] !== 0x0d || buf[pos - 1] !== 0x0a))
		return null;	// the first delimiter must open the body or a line
	const parts = [];
	for (;;) {
		pos += delim.length;
		if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d)
			break;		// the close delimiter
		while (buf[pos] === 0x20 || buf[pos] === 0x09)
			pos++;		// transport padding
		if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a)
			return null;
		pos += 2;
		const hEnd = buf.indexOf('\r\n\r\n', pos);
		if (hEnd < 0)
			return null;
		const headers = {};
		for (const line of buf.toString('utf8', pos, hEnd).split('\r\n')) {
			const c = line.indexOf(':');
			if (c <= 0)
				return null;
			headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
		}
		const disp = headers['content-disposition'];
		if (disp === undefined || !/^form-data\s*(;|$)/i.test(disp))
			return null;
		const p = headerParams(disp);
		if (p.name === undefined)
			return null;
		const end = buf.indexOf(next, hEnd + 4);
		if (end < 0)
			return null;
		parts.push({
			name: p.name,
			filename: p.filename ?? null,
			contentType: headers['content-type'] ?? null,
			data: buf.subarray(hEnd + 4, end),
		});
		pos = end + 2;
	}
	return { parts };
}

// Accessors over a parsed form. A field named "x[]" counts as "x" (the
// OpenAI SDKs send arrays that way).
export function formView(parsed) {
	const base = (n) => n.endsWith('[]') ? n.slice(0, -2) : n;
	const plain = parsed.parts.filter((p) => p.filename === null);
	return {
		parts: parsed.parts,
		// The first plain value of a field, or undefined.
		field(name) {
			const p = plain.find((q) => base(q.name) === name);
			return p === undefined ? undefined : p.data.toString('utf8');
		},
		// Every plain value of a field.
		fieldAll(name) {
			return plain.filter((q) => base(q.name) === name)
				.map((q) => q.data.toString('utf8'));
		},
		// The file parts of a field.
		files(name) {
			return parsed.parts.filter((q) => q.filename !== null && base(q.name) === name);
		},
		names() {
			return parsed.parts.map((q) => base(q.name));
		},
	};
}
