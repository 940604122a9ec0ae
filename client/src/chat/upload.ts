/**
 * Attachment upload over HTTP (POST /api/rooms/:room/files), with XMLHttpRequest for its
 * upload progress events, and the download link of a stored file.
 */
import type { FileUploadResponse } from '../../../signaling/protocol/index.ts';

/**
 * Types by extension, for the allowed types (see signaling/files/types.ts): browsers give
 * File.type '' for extensions they do not know (.md is the usual one) and odd types for
 * some (Windows reports .csv as application/vnd.ms-excel).
 */
const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
	png: 'image/png',
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	gif: 'image/gif',
	webp: 'image/webp',
	pdf: 'application/pdf',
	txt: 'text/plain',
	log: 'text/plain',
	md: 'text/markdown',
	markdown: 'text/markdown',
	csv: 'text/csv',
	zip: 'application/zip',
	docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
	xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
	pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
	odt: 'application/vnd.oasis.opendocument.text',
	mp3: 'audio/mpeg',
	ogg: 'audio/ogg',
	oga: 'audio/ogg',
	wav: 'audio/wav',
	mp4: 'video/mp4',
	webm: 'video/webm',
};

/** The Content-Type to upload a file with: the allowed type its extension names, else what the browser says. */
export function uploadType(name: string, browserType: string): string {
	const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
	const byExtension = ext ? TYPES_BY_EXTENSION[ext] : undefined;
	if (byExtension) return byExtension;
	return browserType || 'application/octet-stream';
}

export class UploadError extends Error {
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.name = 'UploadError';
		this.status = status;
	}
}

export interface UploadHandle {
	promise: Promise<FileUploadResponse>;
	abort(): void;
}

export function uploadFile(
	room: string,
	token: string,
	file: Blob & { name: string },
	onProgress: (loaded: number, total: number) => void,
): UploadHandle {
	const xhr = new XMLHttpRequest();
	const promise = new Promise<FileUploadResponse>((resolve, reject) => {
		xhr.open('POST', `/api/rooms/${encodeURIComponent(room)}/files`);
		xhr.setRequestHeader('Authorization', `Bearer ${token}`);
		xhr.setRequestHeader('Content-Type', uploadType(file.name, file.type));
		xhr.setRequestHeader('X-File-Name', encodeURIComponent(file.name));
		xhr.responseType = 'text';
		xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
		xhr.onload = () => {
			const body = parse(xhr.responseText);
			if (xhr.status === 201 && body && typeof (body as FileUploadResponse).fileId === 'string') {
				resolve(body as FileUploadResponse);
				return;
			}
			reject(new UploadError(xhr.status, describeFailure(xhr.status, body)));
		};
		xhr.onerror = () => reject(new UploadError(0, 'The upload failed: the connection to the server was lost.'));
		xhr.onabort = () => reject(new UploadError(-1, 'Upload cancelled.'));
		xhr.ontimeout = () => reject(new UploadError(0, 'The upload timed out.'));
		xhr.send(file);
	});
	return { promise, abort: () => xhr.abort() };
}

export function downloadUrl(room: string, fileId: string, token: string): string {
	return `/api/rooms/${encodeURIComponent(room)}/files/${encodeURIComponent(fileId)}?token=${encodeURIComponent(token)}`;
}

function parse(text: string): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return null;
	}
}

function describeFailure(status: number, body: unknown): string {
	const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
	const detail = typeof message === 'string' && message ? message : null;
	switch (status) {
		case 413:
			return `This file is too large${detail ? ` (${detail})` : ''}.`;
		case 415:
			return `This type of file cannot be attached${detail ? ` (${detail})` : ''}. Allowed: images, PDF, text, Office documents, ZIP, audio and video.`;
		case 401:
		case 403:
			return `Not allowed to upload files${detail ? `: ${detail}` : ''}.`;
		default:
			return `The upload failed (${status})${detail ? `: ${detail}` : ''}.`;
	}
}
