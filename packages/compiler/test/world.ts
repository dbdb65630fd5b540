import { namespace, pod } from '@knp/testing';

/**
 * The small cluster the semantics tests share: namespaces x and y, pods x/a and x/b (dual-stack, node n1,
 * port http on 8080 and 9090) and y/c (v4, node n2, http on 7070/UDP).
 */
export const worldObjects = (): unknown[] => [
  namespace('x', { team: 'x' }),
  namespace('y', { team: 'y' }),
  pod({ ns: 'x', name: 'a', labels: { app: 'a' }, ip: ['10.0.0.1', 'fd00::1'], node: 'n1', ports: [{ name: 'http', port: 8080 }] }),
  pod({ ns: 'x', name: 'b', labels: { app: 'b' }, ip: ['10.0.0.2', 'fd00::2'], node: 'n1', ports: [{ name: 'http', port: 9090 }] }),
  pod({ ns: 'y', name: 'c', labels: { app: 'c' }, ip: '10.0.1.3', node: 'n2', ports: [{ name: 'http', port: 7070, protocol: 'UDP' }] }),
];
