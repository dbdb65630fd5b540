import type { PodSpec } from '@knp/sim';
import { scenarioObjects, type Pod, type Scenario } from '@knp/testing/conformance';

/** The pods of a scenario's matrix with their IP and node, as the scenario's objects place them. */
export function matrixPodSpecs(scenario: Scenario): PodSpec[] {
  const objects = scenarioObjects(scenario);
  return scenario.expected.pods.map((ref) => {
    const pod = objects.find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === ref);
    if (!pod?.status.podIP || !pod.spec.nodeName) throw new Error(`${scenario.name}: matrix pod ${ref} has no IP or node`);
    return { name: ref, ip: pod.status.podIP, node: pod.spec.nodeName };
  });
}

/** One fixture for many scenarios: the union of their matrix pods (a pod placed differently by two scenarios is a bug here). */
export function fixturePods(scenarios: readonly Scenario[]): PodSpec[] {
  const byName = new Map<string, PodSpec>();
  for (const s of scenarios)
    for (const p of matrixPodSpecs(s)) {
      const known = byName.get(p.name);
      if (known && (known.ip !== p.ip || known.node !== p.node)) throw new Error(`${p.name} is placed differently by two scenarios`);
      byName.set(p.name, p);
    }
  return [...byName.values()];
}
