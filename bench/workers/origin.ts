/**
 * The origin as a Worker, for the service-binding scenario: Keyward reaches it
 * through its ORIGIN binding, in the same workerd process, with no network hop.
 * It answers what the Node origin answers (bench/lib/origin.mjs): a constant
 * 11-byte JSON body.
 */
const BODY = '{"ok":true}';

export default {
  fetch(): Response {
    return new Response(BODY, { headers: { "content-type": "application/json" } });
  },
} satisfies ExportedHandler;
