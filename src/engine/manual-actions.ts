// Manual actions (kubectl wren promote|abort|pause|resume|retry) arrive as an
// annotation on the rollout object; RBAC on the object decides who may ask.
import { z } from "zod";
import type { ManualAction } from "../strategies/decision.ts";

/** The annotation a person (through kubectl wren) sets to ask for an action. */
export const actionAnnotation = "wren.dev/action";

const ManualActionRequest = z.object({
  id: z.string().min(1),
  action: z.enum(["promote", "promote-full", "abort", "pause", "resume", "retry"]),
  requestedBy: z.string().optional(),
  requestedAt: z.string().optional(),
});

/** The requested action, or an error message when the annotation is malformed. */
export function readManualAction(annotations: Record<string, string> | undefined): {
  action?: ManualAction;
  error?: string;
} {
  const raw = annotations?.[actionAnnotation];
  if (raw === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { error: `annotation ${actionAnnotation} is not JSON` };
  }
  const parsed = ManualActionRequest.safeParse(json);
  if (!parsed.success) return { error: `annotation ${actionAnnotation}: ${parsed.error.issues[0]?.message}` };
  return { action: parsed.data };
}
