import { ApiError, Cancelled } from "./api";
import { byId, h, present } from "./dom";

/**
 * The page's two live regions: #problem (role=alert) for failures, network and API
 * alike, and #status (role=status) for quiet confirmations. A new request clears the
 * previous failure, so an old error never sits above a later success.
 */
export interface Notifier {
  /** Shows a failure; focuses the region (or the field at fault) so keyboard users land on it. */
  problem(error: unknown, fieldFor?: (field: string) => HTMLElement | null): void;
  /** A short confirmation, announced politely. */
  status(text: string): void;
  clear(): void;
}

/** The page's notifier (#problem, #status). */
export const pageNotifier = (): Notifier => regionNotifier(byId("problem", HTMLDivElement), byId("status", HTMLParagraphElement));

/**
 * A notifier over any alert region (a modal dialog has its own: the page behind a
 * modal is inert, so its live regions would not be heard).
 */
export function regionNotifier(problem: HTMLElement, status: HTMLElement): Notifier {
  return {
    problem(error, fieldFor) {
      if (error instanceof Cancelled) return;
      const api = error instanceof ApiError ? error : null;
      const message = api
        ? api.code === "NETWORK" || api.code === "HTTP_ERROR"
          ? api.message
          : `${api.code}: ${api.message}`
        : "Something went wrong in this page.";
      problem.replaceChildren(
        ...present(h("span", null, message), api?.requestId ? h("span", { class: "request-id mono" }, `request id ${api.requestId}`) : null),
      );
      problem.hidden = false;
      status.textContent = "";
      const field = api?.field && fieldFor ? fieldFor(api.field) : null;
      if (field) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
      } else {
        problem.focus();
      }
      if (!api) console.error(error);
    },
    status(text) {
      status.textContent = text;
    },
    clear() {
      problem.hidden = true;
      problem.replaceChildren();
      status.textContent = "";
    },
  };
}

/**
 * Runs one request behind a button: the button is disabled (and says what it is
 * doing) until the request ends, so a double click cannot send it twice; the
 * previous failure is cleared first and a new one is shown. Resolves to undefined
 * on failure.
 */
export async function run<T>(
  notify: Notifier,
  button: HTMLButtonElement | null,
  busyText: string,
  task: () => Promise<T>,
  fieldFor?: (field: string) => HTMLElement | null,
): Promise<T | undefined> {
  if (button?.disabled) return undefined;
  const idle = button ? [...button.childNodes] : [];
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = busyText;
  }
  notify.clear();
  try {
    return await task();
  } catch (error) {
    notify.problem(error, fieldFor);
    return undefined;
  } finally {
    if (button) {
      button.replaceChildren(...idle);
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

/** A "Loading …" line with a spinner, announced politely. */
export const loading = (what: string) => h("p", { class: "loading", role: "status" }, `Loading ${what}…`);
