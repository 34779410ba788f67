/**
 * `alerts`: who is told when the nightly backup goes missing or a data tool Job fails (docs/adr/0017). A
 * self-contained part of the schema: config.ts adds `alerts: alertsSchema.optional()` and the rule
 * `alertsScheduleKnown` to its cross-field rules; the policy pack requires the key's resources in production.
 *
 * No standing secret: a webhook receives the alert with a Microsoft Entra token the action group obtains
 * (a "secure webhook"), so its URL carries no credential, and one that visibly does (user info, a query, a
 * fragment) is refused.
 */
import { z } from "zod";

const AZURE_ID_TEXT =
  "a Log Analytics workspace resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>)";
const WORKSPACE_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A receiver's id: it names the receiver in the action group (Azure: unique within the group). */
const RECEIVER_ID = /^[a-z][a-z0-9-]{0,31}$/;
const RECEIVER_ID_TEXT = "a short lowercase id such as on-call (letters, digits, hyphens; ≤ 32)";
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The grace: at most a day, so a daily gap plus the grace fits Azure's two-day look-back (docs/provider-facts.md). */
export const GRACE_MINUTES = { min: 15, max: 24 * 60, default: 120 } as const;
const GRACE_TEXT = `must be a whole number from ${GRACE_MINUTES.min} to ${GRACE_MINUTES.max}`;

const ENTRA_TEXT =
  "must be { tenantId, objectId, identifierUri } of the Entra application that receives the alert (a secure webhook)";

/** A map keyed by receiver ids: each key checked here, so a bad one is reported with the rule it breaks. */
const receivers = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).superRefine((map, ctx) => {
    const bad = Object.keys(map).filter((id) => !RECEIVER_ID.test(id));
    if (bad.length > 0)
      ctx.addIssue({
        code: "custom",
        message: `every id must be ${RECEIVER_ID_TEXT}; not: ${bad.map((id) => JSON.stringify(id)).join(", ")}`,
      });
  });

const matching = (re: RegExp, what: string) =>
  z.string({ error: `must be ${what}` }).regex(re, { error: `must be ${what}` });

/** Why `uri` cannot be a webhook receiver: not https, or a credential in it; undefined when it can. */
export function webhookUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute https URL";
  }
  if (url.protocol !== "https:") return "must be an https URL (the alert leaves Azure)";
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "")
    return (
      "must carry no credential (no user:password@, no ?query, no #fragment): a token in the URL is a standing " +
      "secret that anyone who can read the action group reads back; the receiver authenticates the alert by " +
      "its Microsoft Entra token instead (webhooks.<id>.entraAuth)"
    );
  return undefined;
}

const webhookSchema = z.strictObject({
  uri: z.string({ error: "must be an https URL" }).superRefine((uri, ctx) => {
    const problem = webhookUriProblem(uri);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** The Entra application the receiver validates tokens for (Azure's secure webhook). */
  entraAuth: z.strictObject(
    {
      tenantId: matching(GUID, "the tenant id (a GUID)"),
      objectId: matching(GUID, "the receiving application's object id (a GUID)"),
      identifierUri: z
        .string({ error: "must be the application's identifier URI (api://… or https://…)" })
        .regex(/^(api|https):\/\/\S+$/, {
          error: "must be the application's identifier URI (api://… or https://…)",
        }),
    },
    { error: ENTRA_TEXT },
  ),
});

export const alertsSchema = z
  .strictObject({
    /**
     * The Log Analytics workspace the AKS cluster's Container Insights writes to: the Job rule reads its
     * KubeEvents, and the backup account's blob writes are sent there for the missing-backup rule.
     */
    workspaceId: matching(WORKSPACE_ID, AZURE_ID_TEXT),
    /** Email receivers by id (a map, so adding one renames nothing). */
    emails: receivers(matching(EMAIL, "an email address such as on-call@example.gov.uk")).default({}),
    /** Webhook receivers by id: https, no credential in the URL, authenticated by Entra. */
    webhooks: receivers(webhookSchema).default({}),
    /** How late a verified nightly may be, after the schedule's longest gap, before the alert fires. */
    graceMinutes: z
      .number({ error: GRACE_TEXT })
      .int({ error: GRACE_TEXT })
      .min(GRACE_MINUTES.min, { error: GRACE_TEXT })
      .max(GRACE_MINUTES.max, { error: GRACE_TEXT })
      .default(GRACE_MINUTES.default),
  })
  .superRefine((a, ctx) => {
    if (Object.keys(a.emails).length + Object.keys(a.webhooks).length === 0)
      ctx.addIssue({
        code: "custom",
        path: ["emails"],
        message:
          "must name at least one receiver (alerts.emails or alerts.webhooks): an alert nobody receives is none",
      });
  });

export type AlertsConfig = z.output<typeof alertsSchema>;

/**
 * The longest gap between two runs of a daily cron schedule `M H[,H…] * * *`, in minutes; undefined for any
 * other form (the alert cannot tell when the next backup is due).
 */
export function dailyScheduleGapMinutes(schedule: string): number | undefined {
  const m = /^(\d{1,2})\s+(\d{1,2}(?:,\d{1,2})*)\s+\*\s+\*\s+\*$/.exec(schedule.trim());
  if (m === null) return undefined;
  const minute = Number(m[1]);
  const hours = [...new Set(m[2]!.split(",").map(Number))].sort((a, b) => a - b);
  if (minute > 59 || hours.some((h) => h > 23)) return undefined;
  const gaps = hours.map((h, i) => ((hours[(i + 1) % hours.length]! - h + 24) % 24 || 24) * 60);
  return Math.max(...gaps);
}

/**
 * The problem with `alerts` given `backup.schedule`, or none: the missing-backup rule must know the schedule's
 * longest gap. A daily gap is at most a day and the grace at most a day (GRACE_MINUTES), so their sum always
 * fits Azure's two-day log alert look-back.
 */
export function alertsScheduleProblems(alertsSet: boolean, schedule: string | undefined): string[] {
  if (!alertsSet || schedule === undefined) return [];
  const gap = dailyScheduleGapMinutes(schedule);
  if (gap === undefined)
    return [
      `backup.schedule: must be a daily schedule 'M H * * *' (hours may be a list, e.g. '0 2,14 * * *') while alerts is set, so the missing-backup alert knows when a backup is due; received ${JSON.stringify(schedule)}`,
    ];
  return [];
}
