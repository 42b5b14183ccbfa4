// The Istio control plane, per revision: which revisions exist and are healthy,
// how their proxies fare, and the istiod metrics a ControlPlaneUpgrade is judged by.
//
// A revision is an istiod Deployment in istio-system (`istiod` is "default",
// `istiod-<rev>` is <rev>, an `istio.io/rev` label wins over the name). It is
// faulty when the Deployment is annotated `meshsim.wren.dev/faulty: "true"` or has
// no ready replica; proxies on a faulty revision fail half of the requests their
// pod serves (503, flag UF at the destination) and reject the config pushed to them.
// A pod injected with a revision that has no istiod while other istiods exist is
// treated as faulty too (its proxy has no control plane). With no istiod at all the
// control plane is not being modelled and every proxy is healthy.

import { latencyBehaviour, sampleLatencyMs } from "./behaviour.ts";
import { sidecarRevision } from "./injection.ts";
import type { ClusterView, Labels } from "./model.ts";
import { type ExpositionWriter, escapeLabelValue, HistogramCell } from "./prom.ts";
import type { Random } from "./random.ts";
import { isServing } from "./workload.ts";

export const ISTIO_NAMESPACE = "istio-system";
export const FAULTY_ANNOTATION = "meshsim.wren.dev/faulty";
export const FAULTY_FAILURE_RATE = 0.5;
export const CONVERGENCE_BUCKETS: readonly number[] = [0.1, 0.5, 1, 3, 5, 10, 20, 30];
export const XDS_TYPES = ["cds", "eds", "lds", "rds"] as const;

/** Background pushes per connected proxy per second and per type (endpoint churn, resyncs). */
const BASELINE_PUSH_RATE = 0.05;
// Convergence time in seconds: quick when healthy, slow when proxies reject config.
const HEALTHY_CONVERGENCE = latencyBehaviour(0.05, 0.5);
const FAULTY_CONVERGENCE = latencyBehaviour(8, 28);

/** Revision of an istiod Deployment, or undefined when it is not one. */
export function istiodRevision(name: string, labels: Labels): string | undefined {
  const label = labels["istio.io/rev"];
  if (label) return label;
  if (name === "istiod") return "default";
  if (name.startsWith("istiod-")) return name.slice("istiod-".length);
  return undefined;
}

export interface RevisionState {
  readonly revision: string;
  readonly deployment: string;
  readonly readyReplicas: number;
  readonly faultyAnnotation: boolean;
  /** Proxies on this revision fail requests and reject pushes. */
  readonly faulty: boolean;
  /** Ready injected pods on this revision, connected to a ready istiod. */
  readonly connectedProxies: number;
}

export class ControlPlane {
  readonly revisions: ReadonlyMap<string, RevisionState>;
  private readonly modelled: boolean;

  constructor(view: ClusterView) {
    const proxies = new Map<string, number>();
    for (const pod of view.pods) {
      const rev = isServing(pod) ? sidecarRevision(pod.annotations) : undefined;
      if (rev) proxies.set(rev, (proxies.get(rev) ?? 0) + 1);
    }
    const revisions = new Map<string, RevisionState>();
    for (const d of view.istiods) {
      revisions.set(d.revision, {
        revision: d.revision,
        deployment: d.name,
        readyReplicas: d.readyReplicas,
        faultyAnnotation: d.faulty,
        faulty: d.faulty || d.readyReplicas <= 0,
        connectedProxies: d.readyReplicas > 0 ? (proxies.get(d.revision) ?? 0) : 0,
      });
    }
    this.revisions = revisions;
    this.modelled = view.istiods.length > 0;
  }

  /** Fraction of requests a pod's proxy fails, by the pod's sidecar revision. */
  failureRate(revision: string | undefined): number {
    if (revision === undefined || !this.modelled) return 0;
    const state = this.revisions.get(revision);
    return !state || state.faulty ? FAULTY_FAILURE_RATE : 0;
  }
}

interface RevisionMetrics {
  readonly labels: string;
  connected: number;
  faultyAnnotation: boolean;
  readonly pushes: number[];
  readonly rejects: number[];
  readonly carry: number[];
  readonly convergence: HistogramCell;
}

/** pilot_xds, pilot_xds_pushes, pilot_total_xds_rejects, pilot_proxy_convergence_time per revision. */
export class IstiodMetrics {
  private readonly random: Random;
  private readonly byRevision = new Map<string, RevisionMetrics>();

  constructor(random: Random) {
    this.random = random;
  }

  /**
   * A new view is a config change: istiod pushes every type to every connected
   * proxy (istiod debounces changes too, so one push per view is about right).
   * Revisions whose istiod is gone stop being exported, as their istiod would.
   */
  update(plane: ControlPlane): void {
    for (const rev of this.byRevision.keys()) if (!plane.revisions.has(rev)) this.byRevision.delete(rev);
    for (const state of plane.revisions.values()) {
      let m = this.byRevision.get(state.revision);
      if (!m) {
        m = {
          labels: `revision="${escapeLabelValue(state.revision)}"`,
          connected: 0,
          faultyAnnotation: false,
          pushes: [0, 0, 0, 0],
          rejects: [0, 0, 0, 0],
          carry: [0, 0, 0, 0],
          convergence: new HistogramCell(CONVERGENCE_BUCKETS),
        };
        this.byRevision.set(state.revision, m);
      }
      m.connected = state.connectedProxies;
      m.faultyAnnotation = state.faultyAnnotation;
      for (let t = 0; t < XDS_TYPES.length; t++) this.push(m, t, m.connected);
    }
  }

  /** Background pushes over `dtSeconds`, with fractional carry so the rate is exact. */
  tick(dtSeconds: number): void {
    for (const m of this.byRevision.values()) {
      for (let t = 0; t < XDS_TYPES.length; t++) {
        const due = (m.carry[t] ?? 0) + m.connected * BASELINE_PUSH_RATE * dtSeconds;
        const n = Math.floor(due + 1e-9); // absorb float error: 10 x 0.1 must make 1
        m.carry[t] = due - n;
        this.push(m, t, n);
      }
    }
  }

  private push(m: RevisionMetrics, type: number, proxies: number): void {
    if (proxies <= 0) return;
    m.pushes[type] = (m.pushes[type] ?? 0) + proxies;
    if (m.faultyAnnotation) m.rejects[type] = (m.rejects[type] ?? 0) + proxies;
    const dist = m.faultyAnnotation ? FAULTY_CONVERGENCE : HEALTHY_CONVERGENCE;
    // One convergence observation per proxy push, capped per call to bound the cost.
    const samples = Math.min(proxies, 64);
    for (let i = 0; i < samples; i++) {
      m.convergence.observe(sampleLatencyMs(dist, this.random()), i === 0 ? proxies - samples + 1 : 1);
    }
  }

  render(w: ExpositionWriter): void {
    if (this.byRevision.size === 0) return;
    const all = [...this.byRevision.values()];
    w.header("pilot_xds", "Number of endpoints connected to this pilot using XDS.", "gauge");
    for (const m of all) w.text(`pilot_xds{${m.labels}} ${m.connected}\n`);
    const typed = (name: string, help: string, values: (m: RevisionMetrics) => readonly number[]): void => {
      w.header(name, help, "counter");
      for (const m of all) {
        const v = values(m);
        XDS_TYPES.forEach((type, t) => {
          w.text(`${name}{${m.labels},type="${type}"} ${v[t] ?? 0}\n`);
        });
      }
    };
    typed("pilot_xds_pushes", "Pilot build and send errors for lds, rds, cds and eds.", (m) => m.pushes);
    typed(
      "pilot_total_xds_rejects",
      "Total number of XDS responses from pilot rejected by proxy.",
      (m) => m.rejects,
    );
    const conv = "pilot_proxy_convergence_time";
    w.header(
      conv,
      "Delay in seconds between config change and a proxy receiving all required configuration.",
      "histogram",
    );
    for (const m of all) m.convergence.render(w, conv, m.labels);
  }
}
