// Every kind Wren serves. The CRD generator and the controller read this list.
import { alertProviderKind } from "./alert-provider.ts";
import { canaryKind } from "./canary.ts";
import type { KindDefinition } from "./kind.ts";
import { metricTemplateKind } from "./metric-template.ts";

export const kinds: readonly KindDefinition[] = [canaryKind, metricTemplateKind, alertProviderKind];
