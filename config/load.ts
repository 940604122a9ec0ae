import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { ConfigSchema, type Config } from './schema.ts';

/** Thrown when the configuration is invalid; the message names each bad key. */
export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConfigError';
	}
}

const PREFIX = 'PARLEY_';

/** `media.announcedAddress` → `PARLEY_MEDIA_ANNOUNCED_ADDRESS`. */
export function envName(path: readonly (string | number | symbol)[]): string {
	return (
		PREFIX +
		path
			.map((p) => String(p).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
			.join('_')
	);
}

/** Every leaf key of the schema, as dotted paths (for env mapping and docs). */
export function configKeys(): string[][] {
	const keys: string[][] = [];
	const walk = (shape: Record<string, z.ZodType>, prefix: string[]): void => {
		for (const [key, schema] of Object.entries(shape)) {
			const inner = unwrap(schema);
			if (inner instanceof z.ZodObject) walk(inner.shape as Record<string, z.ZodType>, [...prefix, key]);
			else keys.push([...prefix, key]);
		}
	};
	walk(ConfigSchema.shape as Record<string, z.ZodType>, []);
	return keys;
}

function unwrap(schema: z.ZodType): z.ZodType {
	let s: z.ZodType = schema;
	for (;;) {
		if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional) {
			s = s.unwrap() as z.ZodType;
		} else return s;
	}
}

type Tree = { [key: string]: unknown };

function setPath(tree: Tree, path: string[], value: unknown): void {
	let node = tree;
	for (const key of path.slice(0, -1)) {
		const next = node[key];
		if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next as Tree;
		else node = node[key] = {};
	}
	node[path[path.length - 1]!] = value;
}

export interface LoadOptions {
	env?: NodeJS.ProcessEnv;
	/** Values that override the file but not the environment (e.g. `{ dev: true }` from the run command). */
	defaults?: Tree;
}

/**
 * Defaults ← PARLEY_CONFIG file ← PARLEY_* environment. Throws ConfigError naming each
 * bad key (and its environment variable).
 */
export function loadConfig({ env = process.env, defaults = {} }: LoadOptions = {}): Config {
	let raw: Tree = structuredClone(defaults);
	const file = env.PARLEY_CONFIG;
	if (file) {
		try {
			const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
			if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
			raw = deepMerge(raw, parsed as Tree);
		} catch (error) {
			throw new ConfigError(`Invalid configuration: cannot read PARLEY_CONFIG file ${file}: ${(error as Error).message}`);
		}
	}
	const known = new Set<string>(['PARLEY_CONFIG']);
	for (const path of configKeys()) {
		const name = envName(path);
		known.add(name);
		const value = env[name];
		if (value !== undefined && value !== '') setPath(raw, path, value);
	}
	// PARLEY_TEST_* belong to the test suites and PARLEY_CACHE to the install scripts.
	const unknown = Object.keys(env).filter(
		(k) => k.startsWith(PREFIX) && !known.has(k) && !k.startsWith('PARLEY_TEST_') && k !== 'PARLEY_CACHE',
	);
	if (unknown.length > 0) {
		throw new ConfigError(`Invalid configuration: unknown environment variable(s) ${unknown.join(', ')}`);
	}

	const result = ConfigSchema.safeParse(raw);
	if (!result.success) {
		const lines = result.error.issues.map((issue) => {
			const key = issue.path.map(String).join('.');
			// A list item (auth.jwtSecrets.0) is set by its list's variable.
			const setting = issue.path.filter((p) => typeof p !== 'number');
			return `  ${key || '(root)'}${setting.length ? ` (${envName(setting)})` : ''}: ${issue.message}`;
		});
		throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
	}
	return finish(result.data);
}

const generatedSecrets = new WeakSet<Config>();

/** True when dev mode made up the JWT secret (none was configured): the server may keep one in the data folder instead. */
export function hasGeneratedSecret(config: Config): boolean {
	return generatedSecrets.has(config);
}

/** Fill derived defaults and enforce the rules that span keys. */
function finish(config: Config): Config {
	if (config.auth.jwtSecrets.length === 0) {
		if (!config.dev) {
			throw new ConfigError(
				'Invalid configuration:\n  auth.jwtSecrets (PARLEY_AUTH_JWT_SECRETS): required outside dev mode (at least 32 characters; generate one with `openssl rand -hex 32`)',
			);
		}
		config.auth.jwtSecrets = [randomBytes(32).toString('hex')];
		generatedSecrets.add(config);
	}
	if (config.auth.tokenTtlSeconds > config.auth.maxTokenLifetimeSeconds) {
		throw new ConfigError(
			`Invalid configuration:\n  auth.tokenTtlSeconds (PARLEY_AUTH_TOKEN_TTL_SECONDS): must not exceed auth.maxTokenLifetimeSeconds (${config.auth.maxTokenLifetimeSeconds})`,
		);
	}
	config.media.announcedAddress ??= config.media.listenIp === '0.0.0.0' ? firstExternalIPv4() : config.media.listenIp;
	config.http.publicUrl ??= `http://localhost:${config.http.port}`;
	return config;
}

function firstExternalIPv4(): string {
	for (const addresses of Object.values(os.networkInterfaces())) {
		for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
	}
	return '127.0.0.1';
}

function deepMerge(base: Tree, over: Tree): Tree {
	const out: Tree = { ...base };
	for (const [k, v] of Object.entries(over)) {
		const b = out[k];
		out[k] =
			typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b)
				? deepMerge(b as Tree, v as Tree)
				: v;
	}
	return out;
}
