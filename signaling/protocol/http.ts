/** Bodies of the HTTP API (validated at the edge like the socket events). */
import { z } from 'zod';

/** Room names are URL-safe so that `/r/<room>` links just work. */
export const RoomNameSchema = z
	.string()
	.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'room names are 1-64 letters, digits, "-" or "_"');
export const DisplayNameSchema = z.string().trim().min(1).max(64);

/** POST /api/dev/token (dev mode only). */
export const DevTokenRequestSchema = z.strictObject({
	room: RoomNameSchema,
	name: DisplayNameSchema,
	identity: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/).optional(),
});
export type DevTokenRequest = z.infer<typeof DevTokenRequestSchema>;
export interface DevTokenResponse {
	token: string;
	identity: string;
	room: string;
	expiresAt: number;
}
