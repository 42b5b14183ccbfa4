// Each AlertProvider type and the format that renders it.
import type { AlertProviderType } from "../api/alert-provider.ts";
import { discord } from "./discord.ts";
import { googlechat } from "./googlechat.ts";
import { msteams } from "./msteams.ts";
import type { ProviderFormat } from "./provider.ts";
import { slack } from "./slack.ts";
import { webhook } from "./webhook.ts";

/** The format for every AlertProvider type. */
export const formats: Readonly<Record<AlertProviderType, ProviderFormat>> = {
  slack,
  msteams,
  discord,
  googlechat,
  webhook,
};
