/** Bodies of the HTTP API (validated at the edge like the socket events). */
import { z } from 'zod';
import { DisplayNameSchema, IdentitySchema, RoomNameSchema } from './identifiers.ts';

/** POST /api/dev/token (dev mode only). */
export const DevTokenRequestSchema = z.strictObject({
	room: RoomNameSchema,
	name: DisplayNameSchema,
	identity: IdentitySchema.optional(),
});
export type DevTokenRequest = z.infer<typeof DevTokenRequestSchema>;
export interface DevTokenResponse {
	token: string;
	identity: string;
	room: string;
	expiresAt: number;
}
