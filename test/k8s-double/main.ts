// `npm run -s k8s-double -- --port P --kubeconfig FILE`: the API server double on its own,
// serving until stopped (SIGINT/SIGTERM), with a kubeconfig written for it.
import { parseArgs } from 'node:util';
import { startDouble } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    kubeconfig: { type: 'string' },
    token: { type: 'string' },
    'tick-ms': { type: 'string' },
  },
});

const double = await startDouble({
  port: Number(values.port),
  ...(values.token ? { adminToken: values.token } : {}),
  ...(values['tick-ms'] ? { tickMs: Number(values['tick-ms']) } : {}),
});
if (values.kubeconfig) await double.writeKubeconfig(values.kubeconfig);
// one line on stdout that a parent process can wait for
process.stdout.write(`k8s-double listening on ${double.url}${values.kubeconfig ? ` kubeconfig=${values.kubeconfig}` : ''}\n`);

const stop = () => {
  void double.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// serve until stopped: the server keeps the event loop alive
