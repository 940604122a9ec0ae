import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const backend = process.env.PARLEY_DEV_BACKEND ?? 'http://localhost:3000';

export default defineConfig({
	root,
	plugins: [react()],
	build: {
		outDir: fileURLToPath(new URL('./dist', import.meta.url)),
		emptyOutDir: true,
		sourcemap: true,
		target: 'es2022',
		// react-dom and mediasoup-client are most of it; one chunk loads fastest for a single-page call.
		chunkSizeWarningLimit: 700,
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
