import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export class OrgLedger extends DurableObject<Env> {}
