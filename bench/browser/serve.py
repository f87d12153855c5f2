#!/usr/bin/env python3
"""Serves the browser bench (dist-bench/) on 127.0.0.1 and writes what the page posts into --out:
probe-LABEL.json per adapter probe, results.json (all runs so far), FILE for /file?name=FILE, page.log,
and a file named 'done' once the page says it has finished. Python's standard library only, so it runs
on a bare machine with no Node (bench/browser/device.sh)."""
import argparse, json, os, re, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

parser = argparse.ArgumentParser()
parser.add_argument('--root', required=True)
parser.add_argument('--out', required=True)
parser.add_argument('--port', type=int, default=8123)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
lock = threading.Lock()
results = []


def write(name, data):
    with open(os.path.join(args.out, name), 'wb') as f:
        f.write(data)


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, '.wasm': 'application/wasm', '.js': 'text/javascript',
                      '.mjs': 'text/javascript', '.json': 'application/json', '.onnx': 'application/octet-stream'}

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=args.root, **kw)

    def log_message(self, *a):
        pass

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        label = parse_qs(url.query).get('label', parse_qs(url.query).get('name', ['x']))[0]
        label = re.sub(r'[^A-Za-z0-9._-]', '_', label)
        with lock:
            if url.path == '/probe':
                write(f'probe-{label}.json', body)
            elif url.path == '/log':
                line = json.loads(body)['line']
                print(line, flush=True)
                with open(os.path.join(args.out, 'page.log'), 'a') as f:
                    f.write(line + '\n')
            elif url.path == '/result':
                results.append(json.loads(body))
                write('results.json', json.dumps({'version': 1, 'runs': results}, indent=1).encode())
            elif url.path == '/file':
                write(label, body)
            elif url.path == '/done':
                write('done', body)
        self.send_response(204)
        self.end_headers()


ThreadingHTTPServer(('127.0.0.1', args.port), Handler).serve_forever()
