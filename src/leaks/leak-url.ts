/**
 * Where a leaked key was found, as a reporter said: kept only as an http or https
 * URL. It is shown to admins (the console links it) and sent in webhook events, so
 * a `javascript:` or `data:` URL from a public report must never get that far
 * (threats.md 75). Anything else is dropped to null (no URL given).
 */
export function leakUrlOrNull(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? raw : null;
  } catch {
    return null;
  }
}

/** The schemes `POST /leaks` accepts in `url`. */
export const LEAK_URL_PROTOCOL = /^https?$/;
