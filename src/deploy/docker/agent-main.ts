// Entry of the detached deploy agent process (`node agent-main.js --data DIR`), started by the CLI or
// the server when no agent answers on DATA/agent.sock. SIGTERM stops it; replicas keep running.
import { parseArgs } from 'node:util';
import { Agent } from './agent.js';

export async function runAgent(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, host: { type: 'string' } }, strict: true });
  if (!values.data) {
    process.stderr.write('slipway agent: --data DIR is required\n');
    return 2;
  }
  let agent: Agent;
  try {
    agent = await Agent.start({ dataDir: values.data, ...(values.host ? { host: values.host } : {}) });
  } catch (err) {
    process.stderr.write(`slipway agent: ${(err as Error).message}\n`);
    return 1;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void agent.shutdown(false));
  await agent.closed;
  return 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runAgent(process.argv.slice(2)).then((code) => process.exit(code));
}
