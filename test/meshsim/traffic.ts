// The traffic generator. Every tick, each traffic entry sends rps*dt requests (the
// fractional remainder is carried, so counts over any window are exact to within
// one request), each drawn from the entry's weighted request population and played
// through its compiled plan (plan.ts). Outcomes are sampled per request, which keeps
// every distribution exact; the cost stays low because routing was decided at
// compile time and every metric series is a cached handle (see bench.ts).

import { latencyBehaviour, sampleLatencyMs } from "./behaviour.ts";
import { ControlPlane } from "./istiod.ts";
import type { IstioMetrics, Reporter } from "./metrics.ts";
import type { ClusterView } from "./model.ts";
import {
  compilePlans,
  describePlans,
  type GroupPlan,
  type HostPlan,
  type Slots,
  type TargetPlan,
  type TemplatePlan,
} from "./plan.ts";
import { pickCumulative, type Random } from "./random.ts";
import type { ServiceRef } from "./resolve.ts";
import { type PeerIdentity, UNKNOWN_PEER } from "./workload.ts";

// Outcomes a served request can have; index into GroupPlan slots.
const OK = 0;
const APP_ERROR = 1;
const PROXY_FAILURE = 2;

/** Answers Envoy makes up itself (no route, no upstream, injected abort) take well under a millisecond. */
const LOCAL_REPLY = latencyBehaviour(0.3, 1);

export interface TrafficOptions {
  readonly random: Random;
  readonly metrics: IstioMetrics;
  /** Series idle this long are dropped at the next view change (default 10 minutes). */
  readonly seriesTtlMs?: number;
}

export class TrafficGenerator {
  private readonly random: Random;
  private readonly metrics: IstioMetrics;
  private readonly seriesTtlMs: number;
  private plans: HostPlan[] = [];

  constructor(options: TrafficOptions) {
    this.random = options.random;
    this.metrics = options.metrics;
    this.seriesTtlMs = options.seriesTtlMs ?? 10 * 60_000;
  }

  /** Recompiles the plans for a new view; carries and totals survive by entry key. */
  setView(view: ClusterView, plane: ControlPlane = new ControlPlane(view)): void {
    // Plans are rebuilt just below, so dropping series here cannot strand a handle.
    this.metrics.collectIdle(this.seriesTtlMs);
    const previous = new Map(this.plans.map((p) => [p.key, p]));
    this.plans = compilePlans(view, plane);
    for (const p of this.plans) {
      const old = previous.get(p.key);
      if (old) {
        p.carry = old.carry;
        p.sent = old.sent;
      }
    }
  }

  /** Sends the requests due over `dtSeconds`. */
  tick(dtSeconds: number): void {
    if (!(dtSeconds > 0)) return;
    for (const p of this.plans) {
      if (p.rps <= 0 || p.templates.length === 0) continue;
      const due = p.carry + p.rps * dtSeconds;
      const n = Math.floor(due + 1e-9); // absorb float error: 10 x 0.1 must make 1
      p.carry = due - n;
      p.sent += n;
      for (let i = 0; i < n; i++) this.send(p);
    }
  }

  describe(): unknown[] {
    return describePlans(this.plans);
  }

  /** `namespace/workload` of served workloads whose pods have no sidecar (no "destination" reporter). */
  workloadsWithoutSidecar(): string[] {
    const out = new Set<string>();
    for (const p of this.plans) {
      for (const t of p.templates) {
        if (t.decision.kind === "no-route") continue;
        const targets = [...t.decision.targets, ...t.decision.mirrors.map((m) => m.target)];
        for (const target of targets) {
          for (const g of target.groups) {
            if (!g.injected) out.add(`${g.group.identity.namespace}/${g.group.identity.workload}`);
          }
        }
      }
    }
    return [...out].sort();
  }

  private send(p: HostPlan): void {
    const r = this.random;
    const t =
      p.templates.length === 1
        ? (p.templates[0] as TemplatePlan)
        : (p.templates[pickCumulative(p.cumulativeWeights, r() * p.totalWeight)] as TemplatePlan);
    const d = t.decision;
    if (d.kind === "no-route") {
      const latency = sampleLatencyMs(LOCAL_REPLY, r());
      this.record(d.slots, 0, latency, "source", t.source, UNKNOWN_PEER, d.service, 404, "NR");
      return;
    }
    const target =
      d.targets.length === 1
        ? (d.targets[0] as TargetPlan)
        : (d.targets[pickCumulative(d.cumulativeShares, r())] as TargetPlan);
    if (d.abort && r() * 100 < d.abort.percent) {
      // The source sidecar's fault filter answers; nothing leaves the pod, nothing is mirrored.
      const latency = sampleLatencyMs(LOCAL_REPLY, r());
      this.record(
        target.slots,
        1,
        latency,
        "source",
        t.source,
        UNKNOWN_PEER,
        target.service,
        d.abort.status,
        "FI",
      );
      return;
    }
    const delayMs = d.delay && r() * 100 < d.delay.percent ? d.delay.delayMs : 0;
    this.serve(t.source, target, delayMs, false);
    for (const m of d.mirrors) {
      if (m.percent >= 100 || r() * 100 < m.percent) this.serve(t.source, m.target, 0, true);
    }
  }

  /**
   * One request reaching `target`. The source sidecar reports every request it
   * sent (not mirrors: Envoy's shadow requests are fire-and-forget); the serving
   * pod's sidecar reports what it served, mirrors included, if the pod has one.
   */
  private serve(source: PeerIdentity, target: TargetPlan, extraSourceMs: number, mirrored: boolean): void {
    const r = this.random;
    if (target.totalPods === 0) {
      if (mirrored) return;
      const latency = sampleLatencyMs(LOCAL_REPLY, r()) + extraSourceMs;
      const flag = target.unavailableFlag;
      this.record(target.slots, 0, latency, "source", source, UNKNOWN_PEER, target.service, 503, flag);
      return;
    }
    const g =
      target.groups.length === 1
        ? (target.groups[0] as GroupPlan)
        : (target.groups[pickCumulative(target.cumulativePods, r() * target.totalPods)] as GroupPlan);
    let outcome = OK;
    let code = 200;
    let latency: number;
    if (g.proxyFailureRate > 0 && r() < g.proxyFailureRate) {
      outcome = PROXY_FAILURE;
      code = 503;
      latency = sampleLatencyMs(LOCAL_REPLY, r());
    } else {
      latency = sampleLatencyMs(g.behaviour, r());
      if (g.behaviour.errorRate > 0 && r() < g.behaviour.errorRate) {
        outcome = APP_ERROR;
        code = g.behaviour.errorCode;
      }
    }
    const identity = g.group.identity;
    if (g.injected) {
      // The destination proxy knows it failed to reach its app (UF); the source just sees a 503.
      const flag = outcome === PROXY_FAILURE ? "UF" : "-";
      this.record(
        g.destinationSlots,
        outcome,
        latency,
        "destination",
        source,
        identity,
        target.service,
        code,
        flag,
      );
    }
    if (!mirrored) {
      const total = latency + extraSourceMs;
      this.record(g.sourceSlots, outcome, total, "source", source, identity, target.service, code, "-");
    }
  }

  /** Observes into the cached series `slots[slot]`, resolving it on first use. */
  private record(
    slots: Slots,
    slot: number,
    latencyMs: number,
    reporter: Reporter,
    source: PeerIdentity,
    destination: PeerIdentity,
    service: ServiceRef,
    responseCode: number,
    responseFlags: string,
  ): void {
    let series = slots[slot];
    if (!series) {
      series = this.metrics.request({ reporter, source, destination, service, responseCode, responseFlags });
      slots[slot] = series;
    }
    series.observe(latencyMs);
  }
}
