// What the CRD generator needs to know about a Wren kind.
import type { z } from "zod";

/** A column `kubectl get` prints for a kind. */
export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** One Wren kind: names, schemas and printer columns. The CRD is derived from this. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** Categories for `kubectl get <category>`; every rollout kind is in `wren`. */
  categories: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}
