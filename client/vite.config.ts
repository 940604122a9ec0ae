import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The background effect's model and its runtime, served by Parley itself under /background/
 * (client/src/media/background/protocol.ts): the selfie segmentation model from the npm
 * package `@mediapipe/selfie_segmentation` and the TensorFlow Lite WebAssembly runtime in
 * client/vendor/tflite/ (see its README). Copied into the build; served as-is in dev.
 */
function backgroundAssets(): Plugin {
	const base = 'background/';
	const mediapipe = dirname(createRequire(import.meta.url).resolve('@mediapipe/selfie_segmentation/package.json'));
	const vendor = fileURLToPath(new URL('./vendor/tflite/', import.meta.url));
	const files: Record<string, string> = {
		'selfie_segmentation_landscape.tflite': join(mediapipe, 'selfie_segmentation_landscape.tflite'),
		'tflite-simd.js': join(vendor, 'tflite-simd.js'),
		'tflite-simd.wasm': join(vendor, 'tflite-simd.wasm'),
	};
	const types: Record<string, string> = { js: 'text/javascript', wasm: 'application/wasm' };
	return {
		name: 'parley-background-assets',
		generateBundle() {
			for (const [file, path] of Object.entries(files)) this.emitFile({ type: 'asset', fileName: base + file, source: readFileSync(path) });
		},
		configureServer(server) {
			server.middlewares.use((req, res, next) => {
				const file = req.url?.startsWith(`/${base}`) ? req.url.slice(base.length + 1).split('?')[0] : undefined;
				const path = file ? files[file] : undefined;
				if (!file || !path) return next();
				res.setHeader('content-type', types[file.split('.').pop() ?? ''] ?? 'application/octet-stream');
				res.end(readFileSync(path));
			});
		},
	};
}
const backend = process.env.PARLEY_DEV_BACKEND ?? 'http://localhost:3000';

export default defineConfig({
	root,
	plugins: [react(), backgroundAssets()],
	// The background worker loads its model runtime with importScripts: a classic worker.
	worker: { format: 'iife' },
	build: {
		outDir: fileURLToPath(new URL('./dist', import.meta.url)),
		emptyOutDir: true,
		sourcemap: true,
		target: 'es2022',
		chunkSizeWarningLimit: 700,
		// The libraries (react-dom, mediasoup-client, socket.io-client, zod: ~2/3 of the code) in
		// their own chunk, preloaded beside the app's (index.html links both): a new Parley version
		// that changes only the app leaves the browser's cached libraries valid.
		rolldownOptions: { output: { codeSplitting: { groups: [{ name: 'vendor', test: /[\\/]node_modules[\\/]/ }] } } },
	},
	server: {
		// The protocol lives next to the server (../signaling/protocol).
		fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
		proxy: {
			'/api': { target: backend, changeOrigin: true },
			'/healthz': { target: backend, changeOrigin: true },
			'/socket.io': { target: backend, changeOrigin: true, ws: true },
		},
	},
});
