/**
 * Imported first by main.tsx, before any module that builds a zod schema: zod's fast path
 * probes `new Function('')` when an object schema is built, which the page's strict CSP
 * (no 'unsafe-eval') reports as a violation. The client only validates small payloads, so
 * it runs zod without that JIT.
 */
import { z } from 'zod';

z.config({ jitless: true });
