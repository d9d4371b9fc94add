import * as z from "zod";
import { ConfigError } from "../config";

/**
 * Declarative route policy: method + path pattern -> the permission required,
 * and optionally the path parameter naming a resource that must be among the
 * user's assigned ones. Once rules exist, a route that no rule matches is denied.
 *
 *   { "rules": [ { "method": "GET", "path": "/customers/:customerId", "permission": "customers:read", "resource": "customerId" } ] }
 */
export const ALL_RESOURCES = "resources:all";

/** A hold's longest life: a day. Longer would keep a guard's credits locked past any sane request. */
export const MAX_HOLD_SECONDS = 86_400;
/** Method and path pairs whose route match a compiled policy keeps (compilePolicy): more clear it and start again. */
const MATCHES_KEPT = 512;
/** Longer paths are matched every time, not kept (the memory a client's odd paths can take stays small). */
const MATCH_PATH_KEPT = 256;
/** A metered rule's hold when it sets no holdSeconds. */
export const DEFAULT_HOLD_SECONDS = 300;

/** What a metered route holds at admission and how it is settled (docs/metering.md). */
export interface Metering {
  reserve: number;
  holdSeconds: number;
  chargeOn: "always" | "success";
}

export interface Preset {
  permissions: string[];
}

/** Built-in role presets (overridable in the policy file). */
export const BUILTIN_PRESETS: Record<string, Preset> = {
  admin: { permissions: ["customers:read", "customers:write", "subscriptions:read", "subscriptions:write", ALL_RESOURCES] },
  limited: { permissions: ["customers:read", "customers:write", "subscriptions:read", "subscriptions:write"] },
  support: { permissions: ["customers:read", "subscriptions:read", ALL_RESOURCES] },
};

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"] as const;
const PERMISSION = /^[A-Za-z0-9:_.-]{1,64}$/;
// `;` is not among a literal's characters: a request segment holding one is denied (`decode`).
const SEGMENT = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~!$&'()+,=@-]+|\*)$/;

function paramNames(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s.startsWith(":"))
    .map((s) => s.slice(1));
}

const ruleSchema = z
  .strictObject({
    method: z.union([z.enum(METHODS), z.array(z.enum(METHODS)).min(1)], {
      error: `must be one of ${METHODS.slice(0, -1).join(", ")} or *, or a non-empty list of them`,
    }),
    path: z
      .string()
      .startsWith("/", "must start with /")
      .refine((p) => !p.includes(";"), "must not contain ; (a request segment with ; is denied: origins read matrix parameters differently)")
      .refine(
        (p) =>
          p === "/" ||
          p
            .slice(1)
            .split("/")
            .every((s) => SEGMENT.test(s)),
        "segments must be literals, :params or a final *",
      )
      .refine((p) => !p.slice(1).split("/").slice(0, -1).includes("*"), "* may only be the last segment")
      .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), "must not contain . or .. segments (requests never match them)")
      .superRefine((p, ctx) => {
        const names = paramNames(p);
        const twice = names.find((n, i) => names.indexOf(n) !== i);
        if (twice !== undefined) ctx.addIssue({ code: "custom", message: `names the parameter :${twice} twice` });
      }),
    permission: z.string().regex(PERMISSION, "must be 1-64 letters, digits or :_.-").nullable(),
    resource: z.string().optional(),
    /** Credits a request on this route spends from a key that has credits (default 1; 0 for free routes). */
    cost: z.number({ error: "must be a whole number from 0 to 1000000" }).int("must be a whole number").min(0).max(1_000_000).optional(),
    /** Metered route (docs/metering.md): hold this much at admission, charge what the origin reports, release the rest. */
    reserve: z.number({ error: "must be a whole number from 1 to 1000000" }).int("must be a whole number").min(1).max(1_000_000).optional(),
    /** How long a hold waits for its settlement before it is charged in full (default 300). */
    holdSeconds: z
      .number({ error: `must be a whole number of seconds from 1 to ${MAX_HOLD_SECONDS}` })
      .int("must be a whole number of seconds")
      .min(1)
      .max(MAX_HOLD_SECONDS)
      .optional(),
    /** "success": an origin answer of 400 or more, or no answer (502/504), charges nothing. */
    chargeOn: z.enum(["always", "success"], { error: 'must be "always" or "success"' }).optional(),
  })
  .refine((r) => r.resource === undefined || paramNames(r.path).includes(r.resource), {
    message: "names a parameter the path does not have",
    path: ["resource"],
  })
  .refine((r) => r.reserve === undefined || r.cost === undefined, {
    message: "cannot be given with reserve: a metered route is charged what the origin reports (Keyward-Charge), up to its reserve; drop cost",
    path: ["cost"],
  })
  .refine((r) => r.reserve !== undefined || r.holdSeconds === undefined, {
    message: "needs reserve: only a metered route holds credits until it is settled",
    path: ["holdSeconds"],
  })
  .refine((r) => r.reserve !== undefined || r.chargeOn === undefined, {
    message: "needs reserve: only a metered route is charged after the origin answers",
    path: ["chargeOn"],
  });

export const policyFileSchema = z.strictObject({
  $comment: z.string().optional(),
  /** The user-token claim naming a preset, for tokens that carry no permissions. */
  roleClaim: z.string().min(1).optional(),
  /**
   * Whether path literals compare case-sensitively. Default false: `/v1/EXPENSIVE`
   * meets the rule for `/v1/expensive`, as Express and ASP.NET origins serve it.
   */
  caseSensitive: z.boolean({ error: "must be true or false" }).optional(),
  presets: z.record(z.string(), z.strictObject({ permissions: z.array(z.string().regex(PERMISSION)) })).optional(),
  rules: z.array(ruleSchema).nullable(),
});

export interface RouteMatch {
  permission: string | null;
  resource: string | null;
  params: Record<string, string>;
  cost: number;
  /** null: not metered (the route spends `cost` at admission). */
  metering: Metering | null;
}

export interface RoutePolicy {
  roleClaim: string;
  presets: Record<string, Preset>;
  /** null when no rules are configured (key scopes and user token only). */
  match: ((method: string, path: string) => RouteMatch | null) | null;
}

interface CompiledRule {
  methods: Set<string>;
  segments: string[];
  permission: string | null;
  resource: string | null;
  cost: number;
  metering: Metering | null;
}

/**
 * `literals` are the request's segments as literals compare (lower case unless
 * the policy is case-sensitive, like the rules' literals); parameters take the
 * segment as sent.
 */
function matchRule(rule: CompiledRule, method: string, segments: string[], literals: string[]): Record<string, string> | null {
  if (!rule.methods.has("*") && !rule.methods.has(method)) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < rule.segments.length; i++) {
    const pattern = rule.segments[i] as string;
    if (pattern === "*") return i < segments.length ? params : null;
    const actual = segments[i];
    if (actual === undefined) return null;
    if (pattern.startsWith(":")) params[pattern.slice(1)] = actual;
    else if (pattern !== literals[i]) return null;
  }
  return segments.length === rule.segments.length ? params : null;
}

/**
 * One path segment as a rule sees it, or null when the segment could mean a
 * different path to the origin than to the rule: then no rule matches and the
 * request is denied. The URL parser has already resolved plain and %2e dot
 * segments; what is left are the ones origins resolve in their own ways:
 * an encoded slash or backslash (`%2F`, `%5C`), a dot segment with a matrix
 * parameter (`..;`, which Tomcat and Spring resolve as `..`), any other
 * segment with `;` (Tomcat and Spring drop `;params`, so `/expensive;a=b` is
 * `/expensive` there), a segment still encoded after decoding (`%252e`, for
 * origins that decode twice), control characters, and empty segments (`//`, a
 * trailing slash). Letter case is the policy's `caseSensitive` (threats.md 72).
 */
function decode(segment: string): string | null {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    return null;
  }
  if (value === "" || value.includes("/") || value.includes("\\") || [...value].some((c) => c < " " || c === "\x7f")) return null;
  if (value === "." || value === ".." || value.includes(";")) return null;
  if (/%(2e|2f|5c|25|00)/i.test(value)) return null;
  return value;
}

/** Validates a policy file (start-up); the error names the rule and field at fault. */
export function compilePolicy(raw: unknown, source = "keyward.policy.json"): RoutePolicy {
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) {
    // The first few problems, each with where it is: a misspelt field shows up
    // as itself, not only as the required field it left missing.
    const problems = parsed.error.issues.slice(0, 3).map((issue) => {
      const where = issue.path
        .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
        .join("")
        .replace(/^\./, "");
      return `${where || "(top level)"}: ${issue.message}`;
    });
    throw new ConfigError(source, problems.join("; "));
  }
  const file = parsed.data;
  const caseSensitive = file.caseSensitive ?? false;
  // Literals in the case requests are compared in; parameter names keep theirs.
  const literal = (segment: string) => (caseSensitive || segment.startsWith(":") ? segment : segment.toLowerCase());
  const rules: CompiledRule[] | null =
    file.rules?.map((r) => ({
      methods: new Set(Array.isArray(r.method) ? r.method : [r.method]),
      segments: r.path === "/" ? [] : r.path.slice(1).split("/").map(literal),
      permission: r.permission,
      resource: r.resource ?? null,
      cost: r.cost ?? 1,
      metering: r.reserve === undefined ? null : { reserve: r.reserve, holdSeconds: r.holdSeconds ?? DEFAULT_HOLD_SECONDS, chargeOn: r.chargeOn ?? "always" },
    })) ?? null;
  const evaluate = (method: string, path: string): RouteMatch | null => {
    if (rules === null) return null;
    const raw = path === "/" ? [] : path.slice(1).split("/");
    const segments: string[] = [];
    for (const s of raw) {
      const d = decode(s);
      if (d === null) return null; // a segment origins may read differently: no rule matches, denied
      segments.push(d);
    }
    const literals = caseSensitive ? segments : segments.map((x) => x.toLowerCase());
    for (const rule of rules) {
      const params = matchRule(rule, method, segments, literals);
      if (params)
        return Object.freeze({ permission: rule.permission, resource: rule.resource, params: Object.freeze(params), cost: rule.cost, metering: rule.metering });
    }
    return null;
  };
  // The answer for a method and path never changes for a compiled policy: the
  // latest ones are kept (a hot route is decoded and matched once per isolate,
  // not per request; docs/performance.md). Frozen, since every caller shares them.
  const seen = new Map<string, RouteMatch | null>();
  return {
    roleClaim: file.roleClaim ?? "role",
    presets: { ...BUILTIN_PRESETS, ...file.presets },
    match:
      rules === null
        ? null
        : (method, path) => {
            if (path.length > MATCH_PATH_KEPT) return evaluate(method, path);
            const id = `${method} ${path}`;
            let found = seen.get(id);
            if (found === undefined) {
              found = evaluate(method, path);
              if (seen.size >= MATCHES_KEPT) seen.clear();
              seen.set(id, found);
            }
            return found;
          },
  };
}
