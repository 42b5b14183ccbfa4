// The AlertProvider kind: a chat tool or webhook that receives rollout notifications.
// The address and any token live in a Secret, never in the spec, so reading the
// AlertProvider (kubectl get -o yaml, GitOps diffs, our logs) never reveals them.
import { z } from "zod";
import { CommonStatusFields, Duration, LocalObjectReference } from "./common.ts";
import type { KindDefinition } from "./kind.ts";

/** The chat tools and the generic webhook Wren can post to, each in its native format. */
export const AlertProviderType = z.enum(["slack", "msteams", "discord", "googlechat", "webhook"]);

/** Keys Wren reads from the AlertProvider's Secret. */
export const alertProviderSecretKeys = {
  address: "address",
  token: "token",
  signingKey: "signingKey",
} as const;

/** Desired state of an AlertProvider. */
export const AlertProviderSpec = z.object({
  type: AlertProviderType.describe(
    "Where messages go and in which format: slack (Block Kit, incoming webhook or chat.postMessage with a bot token), msteams (Adaptive Card through a Teams Workflows webhook), discord (webhook embeds), googlechat (cardsV2 through a space webhook), or webhook (Wren's JSON, signed with HMAC-SHA256).",
  ),
  secretRef: LocalObjectReference.describe(
    "Secret in the AlertProvider's namespace. Key `address` (required): the URL messages are POSTed to (the incoming webhook or Workflows URL; with a Slack bot token, https://slack.com/api/chat.postMessage). Key `token` (optional): a Slack bot token, sent as a bearer token. Key `signingKey` (webhook type, recommended): the HMAC-SHA256 key that signs each message; without it messages are sent unsigned. Wren never logs these values.",
  ),
  channel: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "Slack channel (ID or #name) to post to; required with a bot token. Legacy Slack incoming webhooks also honour it; other types ignore it (their webhook address fixes the channel).",
    ),
  username: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .describe(
      "Name the message is posted as, where the tool allows it (Slack, Discord); included in the generic webhook's JSON.",
    ),
  timeout: Duration.default("10s").describe(
    "Longest one delivery attempt may take, answer included; a slower attempt counts as failed and is retried.",
  ),
  allowedNamespaces: z
    .array(
      z
        .string()
        .regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/, "a namespace name, or * for every namespace")
        .max(63),
    )
    .max(256)
    .optional()
    .describe(
      "Namespaces besides the provider's own whose rollouts may send to it (`*`: every namespace). Unset: only rollouts in its own namespace, so a team cannot post to another team's channel by naming its provider. The controller's --default-alert-provider is always allowed.",
    ),
  rateLimit: z
    .number()
    .int()
    .min(1)
    .max(6000)
    .default(30)
    .describe(
      "Most messages Wren posts to this provider in any 60 seconds; more wait their turn in the queue. Stay within the tool's own limit (Discord 30, Google Chat 60 per minute per webhook).",
    ),
});

/** Observed state of an AlertProvider. */
export const AlertProviderStatus = z
  .object({ ...CommonStatusFields })
  .describe(
    "Conditions about the provider. Wren does not write them yet; delivery problems show in its log and in wren_notifications_failed_total.",
  );

export type AlertProviderType = z.infer<typeof AlertProviderType>;
export type AlertProviderSpec = z.infer<typeof AlertProviderSpec>;
export type AlertProviderStatus = z.infer<typeof AlertProviderStatus>;

export const alertProviderKind: KindDefinition = {
  kind: "AlertProvider",
  plural: "alertproviders",
  singular: "alertprovider",
  shortNames: ["wap"],
  categories: ["wren"],
  description:
    "AlertProvider is a chat tool or webhook that receives rollout notifications; its address and token come from a Secret.",
  spec: AlertProviderSpec,
  status: AlertProviderStatus,
  printerColumns: [
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    { name: "Channel", type: "string", jsonPath: ".spec.channel" },
    { name: "Secret", type: "string", jsonPath: ".spec.secretRef.name", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
