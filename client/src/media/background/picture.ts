/**
 * The picture a person chose for the background, kept for this tab only (lobby → call);
 * it is not stored: at the next visit the "Picture" background starts with the built-in one.
 */
let current: ImageBitmap | null = null;
const listeners = new Set<(picture: ImageBitmap | null) => void>();

export function backgroundPicture(): ImageBitmap | null {
	return current;
}

/** Decode an image file the person picked (rejects when it is not an image the browser can read). */
export async function setBackgroundPicture(file: Blob): Promise<void> {
	const picture = await createImageBitmap(file);
	current?.close();
	current = picture;
	for (const listener of listeners) listener(picture);
}

export function onBackgroundPicture(listener: (picture: ImageBitmap | null) => void): () => void {
	listeners.add(listener);
	return () => listeners.delete(listener);
}
