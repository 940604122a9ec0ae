// First: configures zod before any schema is built (see the module).
import './lib/zodConfig.ts';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');
createRoot(root).render(
	<StrictMode>
		<App />
	</StrictMode>,
);
