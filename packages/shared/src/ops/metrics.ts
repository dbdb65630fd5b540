import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * The series each service exposes on /metrics, named like those operators already scrape from kube-router,
 * Cilium and Antrea: `knp_<service>_...`, counters `_total`, durations in seconds. One registry per process,
 * with the process and Node.js defaults (CPU, memory, event loop lag).
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A registry with the process defaults and a `service` label on every series. */
export function serviceRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'knp_' });
  return registry;
}

export type WatcherMetrics = ReturnType<typeof watcherMetrics>;
export function watcherMetrics(registry: Registry) {
  return {
    eventsPublished: new Counter({ name: 'knp_watcher_events_published_total', help: 'Events published to the events stream, by kind and op', labelNames: ['kind', 'op'] as const, registers: [registry] }),
    publishErrors: new Counter({ name: 'knp_watcher_publish_errors_total', help: 'Publishes that failed: retried, or dropped when over the size bound of a message', registers: [registry] }),
    queueDepth: new Gauge({ name: 'knp_watcher_queue_depth', help: 'Events seen and not yet acknowledged by the stream', registers: [registry] }),
    lists: new Counter({ name: 'knp_watcher_lists_total', help: 'Complete lists received, by kind', labelNames: ['kind'] as const, registers: [registry] }),
    objects: new Gauge({ name: 'knp_watcher_objects', help: 'Live objects the watcher knows, by kind', labelNames: ['kind'] as const, registers: [registry] }),
  };
}

export type CompilerMetrics = ReturnType<typeof compilerMetrics>;
export function compilerMetrics(registry: Registry) {
  return {
    eventsFolded: new Counter({ name: 'knp_compiler_events_folded_total', help: 'Events folded into the cluster state', registers: [registry] }),
    eventsRejected: new Counter({ name: 'knp_compiler_events_rejected_total', help: 'Events refused or skipped, or fields rejected, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    compileDuration: new Histogram({ name: 'knp_compiler_compile_duration_seconds', help: 'Time to compile the nodes of one evaluation', buckets: LATENCY_BUCKETS, registers: [registry] }),
    evaluationDuration: new Histogram({ name: 'knp_compiler_evaluation_duration_seconds', help: 'Time of one evaluation: compile and publish', buckets: LATENCY_BUCKETS, registers: [registry] }),
    ruleSetsPublished: new Counter({ name: 'knp_compiler_rule_sets_published_total', help: 'Rule sets published (not adopted from another replica)', registers: [registry] }),
    ruleSetBytes: new Gauge({ name: 'knp_compiler_rule_set_bytes', help: 'Size of the last rule set published per node', labelNames: ['node'] as const, registers: [registry] }),
    publishErrors: new Counter({ name: 'knp_compiler_publish_errors_total', help: 'Rule set publishes that failed (retried at the next evaluation)', registers: [registry] }),
    rejectedPolicies: new Gauge({ name: 'knp_compiler_rejected_policies', help: 'Policy fields rejected in the current state', registers: [registry] }),
    lagEvents: new Gauge({ name: 'knp_compiler_lag_events', help: 'Events consumed but not yet evaluated', registers: [registry] }),
    caughtUp: new Gauge({ name: 'knp_compiler_caught_up', help: '1 once the backlog present at start is folded and evaluated', registers: [registry] }),
  };
}

export type ApplierMetrics = ReturnType<typeof applierMetrics>;
export function applierMetrics(registry: Registry) {
  return {
    applyDuration: new Histogram({ name: 'knp_applier_apply_duration_seconds', help: 'Render and kernel transaction of one rule set, by backend and mode', labelNames: ['backend', 'mode'] as const, buckets: LATENCY_BUCKETS, registers: [registry] }),
    applyErrors: new Counter({ name: 'knp_applier_apply_errors_total', help: 'Rule sets not applied, by reason (refused, unreadable, apply-failed)', labelNames: ['reason'] as const, registers: [registry] }),
    kernelRules: new Gauge({ name: 'knp_applier_kernel_rules', help: 'Rules (nft rules or iptables rules) of the rule set in force', labelNames: ['backend'] as const, registers: [registry] }),
    setElements: new Gauge({ name: 'knp_applier_set_elements', help: 'Set elements (nft sets or ipsets) of the rule set in force', labelNames: ['backend'] as const, registers: [registry] }),
    appliedSeq: new Gauge({ name: 'knp_applier_applied_version_seq', help: 'Events sequence of the rule set in force', registers: [registry] }),
    lagSeq: new Gauge({ name: 'knp_applier_lag_events', help: 'Events between the newest rule set seen for this node and the one in force', registers: [registry] }),
    repairs: new Counter({ name: 'knp_applier_drift_repairs_total', help: 'Kernel drift found and repaired', registers: [registry] }),
    implementationDelay: new Histogram({
      name: 'knp_policy_implementation_delay_seconds',
      help: 'From the moment the watcher received the change (stamped on the event) to the kernel write on this node',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}
