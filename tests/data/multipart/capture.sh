#!/bin/sh
# capture.sh: write the multipart bodies in this directory as real clients
# serialise them: curl -F, Python requests, and the OpenAI Node SDK (whose
# FormData is Node's own, undici). A local HTTP server stores every POST body
# as <name>.body and its Content-Type as <name>.ctype. The uploaded file,
# a.wav, is binary that looks like multipart syntax: CRLFs, "--", NUL bytes,
# the start of each client's boundary and a fake "model" part.
# Needs python3 with requests, curl, node and `npm ci` in tests/. Not run by
# make check; the bodies are committed. Usage: capture.sh [PORT]; env
# NODE_MODULES names another node_modules holding openai.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
modules=${NODE_MODULES:-$top/tests/node_modules}
port=${1:-18777}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$work/a.wav" <<'PY'
import sys
b = bytearray(b"RIFF\x24\x02\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f"
              b"\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x02\x00\x00")
b += b"\x00\x00\r\n\r\n--\r\n--\r\n"
b += b"\r\n------------------------"	# curl's boundaries start so
b += b"\r\n------formdata-undici-0"	# undici's
b += b"\r\n--" + b"0" * 16		# half a requests (hex) boundary
b += b"\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nevil\r\n"
b += bytes(range(256)) + b"\r\n"
open(sys.argv[1], "wb").write(bytes(b))
PY

python3 - "$port" "$here" <<'PY' &
import http.server, json, os, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers["Content-Length"]))
        name = self.headers["X-Capture"]
        open(os.path.join(out, name + ".body"), "wb").write(data)
        open(os.path.join(out, name + ".ctype"), "w").write(self.headers["Content-Type"] + "\n")
        body = {"created": 1, "data": [{"b64_json": ""}]} if "images" in self.path else {"text": ""}
        resp = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(resp)))
        self.end_headers()
        self.wfile.write(resp)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pid=$!
sleep 1
url=http://127.0.0.1:$port/v1

curl -sS -o /dev/null -H 'Expect:' -H 'X-Capture: curl' -F model=whisper-1 \
    -F "file=@$work/a.wav;type=audio/wav" -F language=en -F 'prompt=' "$url/audio/transcriptions"

python3 - "$url" "$work/a.wav" <<'PY'
import sys, requests
d = open(sys.argv[2], "rb").read()
requests.post(sys.argv[1] + "/audio/transcriptions", headers={"X-Capture": "requests"},
    files={"file": ("a.wav", d, "audio/wav")},
    data={"model": "whisper-1", "prompt": "", "response_format": "json"}).raise_for_status()
PY

cat >"$work/sdk.mjs" <<JS
import OpenAI, { toFile } from '$modules/openai/index.mjs';
import { readFileSync } from 'node:fs';
const d = readFileSync('$work/a.wav');
const c = new OpenAI({ apiKey: 'sk-test', baseURL: '$url', maxRetries: 0 });
await c.audio.transcriptions.create({ file: await toFile(d, 'a.wav', { type: 'audio/wav' }),
  model: 'whisper-1', language: 'en', response_format: 'json', prompt: '' },
  { headers: { 'X-Capture': 'openai-node-transcription' } });
await c.images.edit({ image: await toFile(d, 'a.png', { type: 'image/png' }), prompt: 'a cat',
  model: 'gpt-image-1', n: 2, size: '1024x1024', quality: 'high' },
  { headers: { 'X-Capture': 'openai-node-images-edit' } });
JS
node "$work/sdk.mjs"
echo "capture: $(ls "$here"/*.body | wc -l) bodies in $here"
