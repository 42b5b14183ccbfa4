// Every kind Wren serves. The CRD generator and the controller read this list.
import { alertProviderKind } from "./alert-provider.ts";
import { blueGreenKind } from "./bluegreen.ts";
import { canaryKind } from "./canary.ts";
import { controlPlaneUpgradeKind } from "./control-plane-upgrade.ts";
import type { KindDefinition } from "./kind.ts";
import { metricTemplateKind } from "./metric-template.ts";
import { migrationKind } from "./migration.ts";

export const kinds: readonly KindDefinition[] = [
  canaryKind,
  migrationKind,
  blueGreenKind,
  controlPlaneUpgradeKind,
  metricTemplateKind,
  alertProviderKind,
];
