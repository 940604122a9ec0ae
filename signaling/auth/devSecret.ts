/**
 * Dev mode's JWT secret, kept in the data folder: a restarted dev server still accepts the
 * tokens it minted before, so calls come back by themselves as they do in production.
 * The file is created with mode 0600 (owner only) and refused when others can read it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEV_SECRET_FILE = 'dev-jwt-secret';

export interface DevSecret {
	secret: string;
	file: string;
	created: boolean;
}

export function loadOrCreateDevSecret(dataDir: string): DevSecret {
	const file = path.join(dataDir, DEV_SECRET_FILE);
	try {
		const secret = readFileSync(file, 'utf8').trim();
		if (secret.length >= 32) {
			// Tighten a file someone loosened; the secret is only worth its privacy.
			if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
			return { secret, file, created: false };
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
	mkdirSync(dataDir, { recursive: true });
	const secret = randomBytes(32).toString('hex');
	writeFileSync(file, `${secret}\n`, { mode: 0o600 });
	chmodSync(file, 0o600); // the umask may have been applied to a file that already existed
	return { secret, file, created: true };
}
