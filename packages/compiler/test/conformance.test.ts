import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAll, compileNode, emptyState, eventsFromObjects, evolveAll, explainMatrix, nodesOf } from '../src/index.js';
import { scenarioObjects, scenarios } from '@knp/testing/conformance';
import { mismatches } from '@knp/testing/conformance';
import type { Pod } from '@knp/testing/conformance';

// The upstream e2e NetworkPolicy truth tables, replayed through the compiler: objects -> events -> state ->
// rule sets -> explainMatrix, whose verdicts come only from the compiled rule sets.
const Conformance = suite('conformance (upstream netpol e2e)');

for (const scenario of scenarios)
  Conformance(scenario.name, () => {
    const objects = scenarioObjects(scenario);
    const { events, errors } = eventsFromObjects(objects);
    assert.equal(errors, [], 'eventsFromObjects errors');
    const state = evolveAll(emptyState(), events);
    const matrix = explainMatrix(state, compileAll(state), scenario.port, scenario.protocol);
    // spec leaves hostNetwork pods out of pod networking: whether a matrix lists them is unspecified
    const hostNetwork = new Set(objects.filter((o): o is Pod => o.kind === 'Pod' && o.spec.hostNetwork === true)
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    const wrong = mismatches(scenario.expected, matrix, hostNetwork);
    if (wrong.length === 0) return;
    const rejections = nodesOf(state).flatMap((node) => compileNode(state, node).rejections)
      .map((r) => `${r.object} ${r.field}: ${r.reason}`);
    assert.unreachable([
      `${scenario.protocol}/${scenario.port}: ${wrong.length} wrong`,
      ...wrong.map((w) => `  ${w}`),
      ...(rejections.length > 0 ? ['rejections:', ...rejections.map((r) => `  ${r}`)] : []),
      'expected:', scenario.expected.render(),
    ].join('\n'));
  });

Conformance('the table holds at least 45 scenarios with distinct names', () => {
  assert.ok(scenarios.length >= 45, `${scenarios.length} scenarios`);
  assert.is(new Set(scenarios.map((s) => s.name)).size, scenarios.length);
});

Conformance.run();
