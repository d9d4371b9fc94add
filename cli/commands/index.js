// Every command, in the order `keyward --help` lists them.
import { anomalies, anomaliesAck } from "./anomalies.js";
import { audit } from "./audit.js";
import { init } from "./init.js";
import { keysCredits, keysDisable, keysEnable } from "./key-plans.js";
import { keysRoll } from "./key-roll.js";
import { keysCreate, keysGet, keysList, keysMeta, keysRevoke } from "./keys.js";
import { keysRevokeAll } from "./kill-switch.js";
import { limitSet } from "./limit.js";
import { orgCreditsClear, orgCreditsSet, orgLimitClear, orgLimitSet } from "./org.js";
import { tokenCommand } from "./token.js";
import { usage } from "./usage.js";

/** @type {readonly import("../command.js").Command[]} */
export const COMMANDS = [
  init,
  tokenCommand,
  keysCreate,
  keysList,
  keysGet,
  keysRevoke,
  keysRoll,
  keysRevokeAll,
  keysCredits,
  keysDisable,
  keysEnable,
  keysMeta,
  limitSet,
  orgLimitSet,
  orgLimitClear,
  orgCreditsSet,
  orgCreditsClear,
  audit,
  usage,
  anomalies,
  anomaliesAck,
];
