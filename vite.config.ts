import { defineConfig, type Plugin, type ResolvedConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { viteSingleFile } from 'vite-plugin-singlefile';
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const root = dirname(fileURLToPath(import.meta.url));
const tfjsWasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

/**
 * wasm binaries served from our own origin with their fixed names (tfjs looks them up by name under one
 * prefix, /wasm/): a dev-server route and, in a build, emitted files. onnxruntime-web's wasm is an ordinary
 * asset import of the worker (src/worker/ortWebRuntime.ts).
 */
function localWasm(prefix: string, dir: string, files: string[]): Plugin {
  return {
    name: `localquant:wasm-${prefix}`,
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.match(new RegExp(`^/${prefix}/([\\w.-]+\\.wasm)(\\?.*)?$`))?.[1];
        if (!name || !files.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        createReadStream(join(dir, name)).pipe(res);
      });
    },
    generateBundle() {
      for (const f of files) this.emitFile({ type: 'asset', fileName: `${prefix}/${f}`, source: readFileSync(join(dir, f)) });
    },
  };
}

/** The production policy is written in index.html; dev and the single-file build need small additions. */
function contentSecurityPolicy(mode: 'dev' | 'build' | 'single'): Plugin {
  return {
    name: 'localquant:csp',
    transformIndexHtml(html) {
      if (mode === 'build') return html;
      return html.replace(/(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")/, (_m, a: string, policy: string, c: string) => {
        let p = policy;
        // React fast refresh injects an inline preamble and vite injects CSS as <style> in dev.
        if (mode === 'dev') p = p.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
        // Everything is inlined: the page script, the worker (blob:) and the wasm (data:).
        if (mode === 'single') {
          p = p.replace("script-src 'self'", "script-src 'self' 'unsafe-inline' blob: data:")
            .replace("worker-src 'self'", "worker-src 'self' blob: data:")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
        }
        return `${a}${p}${c}`;
      });
    },
  };
}

/**
 * A service worker generated from the bundle's file list: precaches the app shell, assets, wasm and the
 * sample model under a cache named by a hash of that list, so a new build replaces the old cache.
 */
function serviceWorker(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'localquant:service-worker',
    apply: 'build',
    configResolved(c) { config = c; },
    generateBundle(_opts, bundle) {
      const publicFiles: string[] = [];
      const walk = (dir: string) => {
        for (const f of readdirSync(dir)) {
          const p = join(dir, f);
          if (statSync(p).isDirectory()) walk(p);
          else publicFiles.push(relative(config.publicDir, p).split('\\').join('/'));
        }
      };
      try { walk(config.publicDir); } catch { /* no public dir */ }
      const files = [...Object.keys(bundle), ...publicFiles].filter((f) => f !== 'sw.js' && !f.endsWith('.map')).sort();
      const version = createHash('sha256').update(files.join('\n')).update(JSON.stringify(Object.values(bundle).map((c) => ('code' in c ? c.code.length : 0)))).digest('hex').slice(0, 12);
      const template = readFileSync(join(root, 'src/sw.template.js'), 'utf8');
      const source = template.replace('__PRECACHE__', JSON.stringify(['./', ...files.map((f) => `./${f}`)])).replace('__VERSION__', version);
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig(({ command, mode }) => {
  const single = mode === 'single';
  return {
    base: './',
    // The single file carries what it needs inlined; public/ would only add files beside it.
    publicDir: single ? false : 'public',
    plugins: [
      react(),
      contentSecurityPolicy(command === 'serve' ? 'dev' : single ? 'single' : 'build'),
      ...(single ? [viteSingleFile({ removeViteModuleLoader: true })] : [localWasm('wasm', tfjsWasmDir, readdirSync(tfjsWasmDir).filter((f) => f.endsWith('.wasm'))), serviceWorker()]),
    ],
    define: { __SINGLE_FILE__: JSON.stringify(single) },
    // Single-file build: the worker and the sample model come inlined (there is no server to fetch from).
    resolve: single ? {
      alias: [
        { find: /^\.\/workerFactory(\.js)?$/, replacement: resolve(root, 'src/worker/workerFactory.single.ts') },
        { find: /^\.\/sampleUrl(\.js)?$/, replacement: resolve(root, 'src/ui/sampleUrl.single.ts') },
        { find: /^\.\/wasmFiles(\.js)?$/, replacement: resolve(root, 'src/worker/wasmFiles.single.ts') },
        { find: /^\.\/ortWebRuntime(\.js)?$/, replacement: resolve(root, 'src/worker/ortWebRuntime.single.ts') },
      ],
    } : undefined,
    // A classic (iife) worker in the single file: Chromium does not start module workers from blob: URLs of a file:// page.
    worker: { format: single ? 'iife' : 'es' },
    build: {
      outDir: single ? 'dist-single' : 'dist',
      target: 'es2022',
      sourcemap: false,
      chunkSizeWarningLimit: 4096,
      ...(single ? { assetsInlineLimit: 100_000_000 } : {}),
    },
    preview: { port: 4173 },
  };
});
