/**
 * What the rules and the incident read: the config field by field (each value parsed once, by its own schema),
 * whether a key is set at all, and the times resolved to UTC.
 */
import type { DateTime } from "luxon";
import type { ResolvedTime } from "../plan/time";
import { schema } from "./schema";
import type { Parsed } from "./schema";
import { parseFields, valueAt } from "./fields";
import type { Fields } from "./fields";
import { resolveIn, restorePin } from "./times";
import type { Resolution } from "./times";

/**
 * A rule runs whenever its own inputs are valid — whatever else in the config is not — and is silent when an
 * input is invalid (the schema reports that one). The times are resolved here, once: rules report their
 * problems, the incident takes their values.
 */
export interface RuleContext {
  readonly now: DateTime;
  /** Every field as its own schema parsed it; undefined where absent or invalid. */
  readonly values: Fields<Parsed>;
  /**
   * Whether the stack sets `key` (a dotted path such as `rebuild.location`), valid or not: a rule requires a
   * key only when it is absent, an invalid one is the schema's to report.
   */
  readonly set: (key: string) => boolean;
  /** `ptr.restoreTime` in UTC (in any mode: a bad time is reported even if unused). */
  readonly restore: Resolution<ResolvedTime>;
  /** The pin's instant, checked only once the restore time resolved (it is bound to that time). */
  readonly pin: Resolution<DateTime>;
  /** `rebuild.deletedAt` in UTC. */
  readonly deleted: Resolution<ResolvedTime>;
  /** `incidentDeclaredAt` in UTC (in any mode, like the restore time). */
  readonly declared: Resolution<ResolvedTime>;
}

export function ruleContext(raw: Record<string, unknown>, now: DateTime): RuleContext {
  const values = parseFields(schema, raw);
  const set = (key: string): boolean => valueAt(raw, key.split(".")) !== undefined;
  const zone = values.timeZone;
  const restoreText = values.ptr.restoreTime;
  const restore: Resolution<ResolvedTime> =
    restoreText === undefined ? { problems: [] } : resolveIn("ptr.restoreTime", restoreText, zone);
  const deletedText = values.rebuild.deletedAt;
  const declaredText = values.incidentDeclaredAt;
  const pinKeys = { requestedAt: values.ptr.requestedAt, requestedFor: values.ptr.requestedFor, set };
  return {
    now,
    values,
    set,
    restore,
    pin:
      restoreText === undefined || restore.value === undefined
        ? { problems: [] }
        : restorePin(pinKeys, restoreText, restore.value, zone, now),
    deleted: deletedText === undefined ? { problems: [] } : resolveIn("rebuild.deletedAt", deletedText, zone),
    declared:
      declaredText === undefined ? { problems: [] } : resolveIn("incidentDeclaredAt", declaredText, zone),
  };
}
