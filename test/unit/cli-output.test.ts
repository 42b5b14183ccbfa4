// Snapshots of what people read: the get table, the status view and the chart, for fixed inputs.
import { describe, expect, it } from "vitest";
import { renderHistory } from "../../src/cli/chart.ts";
import { normaliseEvents } from "../../src/cli/events.ts";
import { buildHistory } from "../../src/cli/history.ts";
import { renderRolloutTable } from "../../src/cli/rollout-table.ts";
import { renderStatus, type StatusReport } from "../../src/cli/status-view.ts";
import { summarize } from "../../src/cli/views.ts";
import { actionAnnotation } from "../../src/engine/manual-actions.ts";
import {
  ago,
  canary,
  canaryRolloutKind,
  now,
  progressingStatus,
  webEvents,
  webRevision,
} from "./cli-fixtures.ts";

const kind = canaryRolloutKind;

const succeeded = {
  observedGeneration: 3,
  phase: "Succeeded",
  canaryWeight: 0,
  stepIndex: 5,
  failedChecks: 0,
  lastAppliedSpec: "77aa88bb99",
  lastPromotedSpec: "77aa88bb99",
  lastTransitionTime: ago(7200),
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: "promoted revision 77aa88bb99",
      lastTransitionTime: ago(7200),
    },
  ],
};

function rollouts() {
  return [
    summarize(kind, canary("web"), now),
    summarize(kind, canary("checkout", { namespace: "pay", status: succeeded, created: ago(190) }), now),
    summarize(kind, canary("new", { status: {}, created: ago(5) }), now),
  ];
}

describe("get table", () => {
  it("lists kind, name, phase, weight, step and age", () => {
    expect(renderRolloutTable(rollouts(), { now })).toMatchInlineSnapshot(`
      "KIND     NAME       PHASE         WEIGHT   STEP   AGE
      Canary   checkout   Succeeded     0%       5/5    3m10s
      Canary   new        -             -        -      5s
      Canary   web        Progressing   20%      2/5    4d1h
      "
    `);
  });

  it("adds the namespace with -A and failed checks, target and reason with -o wide", () => {
    expect(renderRolloutTable(rollouts(), { now, allNamespaces: true, wide: true })).toMatchInlineSnapshot(`
      "NAMESPACE   KIND     NAME       PHASE         WEIGHT   STEP   AGE     FAILED   TARGET   REASON
      pay         Canary   checkout   Succeeded     0%       5/5    3m10s   0/5      web      Succeeded
      shop        Canary   new        -             -        -      5s      0/5      web      -
      shop        Canary   web        Progressing   20%      2/5    4d1h    1/5      web      CheckFailed
      "
    `);
  });
});

describe("status view", () => {
  it("shows a progressing canary with a failed check", () => {
    const object = canary("web", {
      annotations: {
        [actionAnnotation]: JSON.stringify({
          id: "b2",
          action: "pause",
          requestedBy: "bob",
          requestedAt: ago(2),
        }),
      },
    });
    const summary = summarize(kind, object, now);
    const events = normaliseEvents(webEvents);
    const report: StatusReport = {
      summary,
      events,
      history: buildHistory(events, [{ at: now.toISOString(), summary }]),
    };
    expect(renderStatus(report, { now })).toMatchInlineSnapshot(`
      "Canary shop/web
        Phase:       Progressing for 5m
        Why:         CheckFailed: check failed (1 of 5): request-success-rate 97.5 is below the minimum 99 (Ready=False)
        Next:        next analysis in 20s; kubectl wren promote moves on a step now, abort rolls back, pause holds
        Target:      Deployment web (releasing revision 3589ec9606; primary runs revision 0a1b2c3d4e)
        Traffic:     primary 80%, canary 20%
        Step:        2 of 5 (10% → 20% → 30% → 40% → 50%)
        Checks:      1 failed (rolls back at 5)
        Last step:   40s ago, interval 1m

      Analysis (last results, 40s ago)
        METRIC                 VALUE   PRIMARY   THRESHOLD                   VERDICT   MESSAGE
        request-success-rate   97.5%   -         >= 99%                      Fail      97.5 is below the minimum 99
        request-duration       120ms   110ms     <= 500ms, <= primary +20%   Pass      120 passed (max 500; the primary's 110 allows up to 132)

      Conditions
        TYPE    STATUS   REASON        AGE   MESSAGE
        Ready   False    CheckFailed   40s   check failed (1 of 5): request-success-rate 97.5 is below the minimum 99

      Last manual action: promote by alice: advanced one step (requested 3m20s ago, consumed 3m19s ago, id a1)
      Pending manual action: pause by bob, requested 2s ago, not consumed yet (id b2)

      History
        canary weight          ▁▅█   0% → 10% → 20%
        request-success-rate   ▁     last 97.5% Fail (>= 99%); 1 result
        request-duration       ▁     last 120ms Pass (<= 500ms, <= primary +20%); 1 result
        From 5 Events and the current status. The controller writes an Event only when the phase or reason changes, so steps in between can be missing; kubectl wren watch records every change it sees.

      Events (oldest first)
        LAST SEEN               TYPE      REASON        MESSAGE
        50m                     Normal    Initialized   primary runs revision 0a1b2c3d4e; all traffic on the primary
        6m40s                   Normal    Progressing   new revision 3589ec9606 detected; starting analysis of revision 3589ec9606
        6m30s                   Normal    Waiting       waiting for the canary Deployment web to become ready (0s of 600s)
        3m20s (x2 over 6m20s)   Normal    Progressing   canary ready; canary weight 0% -> 10% (step 1 of 5)
        40s                     Warning   CheckFailed   check failed (1 of 5): request-success-rate 97.5 is below the minimum 99
      "
    `);
  });

  it("shows a canary the controller has not reconciled, and what could not be read", () => {
    const summary = summarize(kind, canary("new", { status: {}, created: ago(5) }), now);
    const report: StatusReport = {
      summary,
      events: [],
      history: buildHistory([], [{ at: now.toISOString(), summary }], false),
      notes: ['Events are not shown: you may not list events in namespace "shop" (RBAC forbids it)'],
    };
    expect(renderStatus(report, { now })).toMatchInlineSnapshot(`
      "Canary shop/new
        Phase:       unknown (no status yet)
        Next:        no status yet: the Wren controller has not reconciled this canary (is it running?)
        Target:      Deployment web
        Step:        not started (10% → 20% → 30% → 40% → 50%)
        Checks:      0 failed (rolls back at 5)

      Analysis (not run yet)
        METRIC                 VALUE   THRESHOLD                   VERDICT   MESSAGE
        request-success-rate   -       >= 99%                      -         not measured yet
        request-duration       -       <= 500ms, <= primary +20%   -         not measured yet

      Conditions: none

      Last manual action: none

      History
        request-success-rate   no results yet
        request-duration       no results yet
        From no Events (they could not be read) and the current status. The controller writes an Event only when the phase or reason changes, so steps in between can be missing; kubectl wren watch records every change it sees.

      Events: could not be read (see the note below)

      Note: Events are not shown: you may not list events in namespace "shop" (RBAC forbids it)
      "
    `);
  });

  it("shows only the latest Events unless wide", () => {
    const many = Array.from({ length: 14 }, (_, i) => ({
      type: "Normal",
      reason: "Progressing",
      message: `event ${i}`,
      count: 1,
      firstTimestamp: ago(1000 - i),
      lastTimestamp: ago(1000 - i),
    }));
    const summary = summarize(kind, canary("web", { status: succeeded }), now);
    const events = normaliseEvents(many);
    const report = { summary, events, history: buildHistory(events, [{ at: now.toISOString(), summary }]) };
    const short = renderStatus(report, { now });
    expect(short).toContain("Events (last 10 of 14; -o wide shows all)");
    expect(short).not.toContain("event 3\n");
    expect(renderStatus(report, { now, wide: true })).toContain("event 0\n");
  });
});

describe("history chart", () => {
  it("draws the weight and each metric over what a watch saw", () => {
    const observations = [10, 20, 30, 40, 50].map((weight, i) => {
      const time = ago(300 - i * 60);
      const status = {
        ...progressingStatus,
        canaryWeight: weight,
        stepIndex: i + 1,
        metrics: [
          {
            ...progressingStatus.metrics[0],
            value: [99.8, 99.6, 99.9, 98.2, 99.1][i],
            verdict: i === 3 ? "Fail" : "Pass",
            time,
          },
          { ...progressingStatus.metrics[1], value: [90, 110, 130, 210, 180][i], time },
        ],
      };
      return { at: time, summary: summarize(kind, canary("web", { status }), now) };
    });
    const history = buildHistory(normaliseEvents(webEvents), observations);
    expect(renderHistory(history, now).join("\n")).toMatchInlineSnapshot(`
      "canary weight          ▁▂▄▅▇█   0% → 10% → 20% → 30% → 40% → 50%
      request-success-rate   █▇█▁▅    last 99.1% Pass (>= 99%); 5 results, between 98.2% and 99.9%
      request-duration       ▁▂▂▃▃    last 180ms Pass (<= 500ms, <= primary +20%); 5 results, between 90ms and 210ms
      From 5 Events and 5 statuses this watch has seen over the last 5m; before the watch, only changes of phase or reason are known."
    `);
  });

  it("says when every result had the same value", () => {
    const observations = [0, 1].map((i) => {
      const time = ago(60 - i * 30);
      const metrics = [{ ...progressingStatus.metrics[0], value: 100, verdict: "Pass", time }];
      return {
        at: time,
        summary: summarize(kind, canary("web", { status: { ...progressingStatus, metrics } }), now),
      };
    });
    expect(renderHistory(buildHistory([], observations), now)[1]).toBe(
      "request-success-rate   ██   last 100% Pass (>= 99%); 2 results, all 100%",
    );
  });

  it("says when there is nothing to draw yet", () => {
    expect(renderHistory(buildHistory([], []), now)).toMatchInlineSnapshot(`
      [
        "no history yet",
        "From 0 Events and the current status. The controller writes an Event only when the phase or reason changes, so steps in between can be missing; kubectl wren watch records every change it sees.",
      ]
    `);
  });

  it("keeps the latest points when there are more than fit", () => {
    const observations = Array.from({ length: 60 }, (_, i) => ({
      at: ago(600 - i),
      summary: summarize(
        kind,
        canary("web", { status: { ...progressingStatus, canaryWeight: i % 2 === 0 ? 10 : 20, metrics: [] } }),
        now,
      ),
    }));
    const [line] = renderHistory(buildHistory([], observations), now, { width: 12 });
    expect(line).toBe("canary weight          ▅█▅█▅█▅█▅█▅█   10% → … → 10% → 20% → 10% → 20% (59 changes)");
  });
});

it("fixtures: the progressing canary releases the target's current revision", () => {
  expect(progressingStatus.lastAppliedSpec).toBe(webRevision);
});
