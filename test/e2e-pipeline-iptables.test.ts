// The end-to-end pipeline test of e2e-pipeline.test.ts with the iptables + ipset dataplane (own process, own fixture).
process.env.KNP_E2E_BACKEND = 'iptables';
await import('./e2e-pipeline.test.js');
