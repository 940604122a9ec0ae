/** The one signaling contract between the server and the browser client. */
export * from './limits.ts';
export * from './identifiers.ts';
export * from './errors.ts';
export * from './media.ts';
export * from './entities.ts';
export * from './requests.ts';
export * from './events.ts';
export * from './http.ts';
export * from './chat.ts';
export * from './request.ts';
export * from './meeting.ts';
export * from './recording.ts';
