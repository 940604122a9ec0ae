/** The router's codecs: a floor under the publishers' video send estimate only when configured. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { mediaCodecs, routerCodecs } from './codecs.ts';

it('media.videoMinBitrateKbps puts x-google-min-bitrate on every video codec, none on audio; 0 leaves the codecs as they are', () => {
	assert.equal(routerCodecs({ videoMinBitrateKbps: 0 }), mediaCodecs);
	const floored = routerCodecs({ videoMinBitrateKbps: 250 });
	assert.equal(floored.length, mediaCodecs.length);
	for (const c of floored) assert.equal(c.parameters?.['x-google-min-bitrate'], c.kind === 'video' ? 250 : undefined, c.mimeType);
	assert.ok(mediaCodecs.every((c) => c.parameters?.['x-google-min-bitrate'] === undefined), 'the defaults are not changed');
});
