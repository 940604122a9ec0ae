import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePath, pathOf } from './stats.ts';

type Entry = Record<string, unknown> & { id: string; type: string; timestamp: number };
const map = (...entries: Entry[]) => new Map(entries.map((e) => [e.id, e]));
const transport = (pairId: string): Entry => ({ id: 'T', type: 'transport', timestamp: 0, selectedCandidatePairId: pairId });
const pair = (localId: string): Entry => ({ id: 'P', type: 'candidate-pair', timestamp: 0, localCandidateId: localId, nominated: true, state: 'succeeded' });
const local = (fields: Record<string, unknown>): Entry => ({ id: 'L', type: 'local-candidate', timestamp: 0, ...fields });

describe('media path from the selected candidate pair', () => {
	it('tells UDP, TCP and relayed paths apart', () => {
		assert.deepEqual(pathOf(map(transport('P'), pair('L'), local({ candidateType: 'host', protocol: 'udp' }))), { kind: 'udp', relayProtocol: null });
		assert.deepEqual(pathOf(map(transport('P'), pair('L'), local({ candidateType: 'host', protocol: 'tcp' }))), { kind: 'tcp', relayProtocol: null });
		const relayed = pathOf(map(transport('P'), pair('L'), local({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' })));
		assert.deepEqual(relayed, { kind: 'relay', relayProtocol: 'tls' });
		assert.equal(describePath(relayed), 'relayed (TURN over TLS)');
		assert.equal(describePath({ kind: 'tcp', relayProtocol: null }), 'TCP');
	});

	it('is unknown before ICE has selected a pair', () => {
		assert.equal(pathOf(map(local({ candidateType: 'host', protocol: 'udp' }))), null);
		assert.equal(describePath(null), '–');
	});
});
