// Istio networking objects as Wren writes them (networking.istio.io/v1).
import type { KubernetesObject } from "@kubernetes/client-node";

export const istioApiVersion = "networking.istio.io/v1";

export interface Destination {
  host: string;
  subset?: string;
  port?: { number: number };
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
}

export interface HTTPRoute {
  name?: string;
  match?: unknown[];
  route?: HTTPRouteDestination[];
  mirror?: Destination;
  mirrorPercentage?: { value: number };
  [field: string]: unknown;
}

export interface VirtualService extends KubernetesObject {
  spec: { hosts?: string[]; gateways?: string[]; http?: HTTPRoute[]; [field: string]: unknown };
}

export interface DestinationRule extends KubernetesObject {
  spec: { host: string; trafficPolicy?: Record<string, unknown>; [field: string]: unknown };
}
