/** Chat attachments: storage on disk, type allowlist and sniffing, name sanitising. */
export * from './FileStore.ts';
export * from './types.ts';
