// Where a value of the pipeline file is, in words for messages: "in step 2 of job 'test'",
// "'timeout' in job 'test'", "item 2 of 'node' in 'matrix' of job 'test'".
import type { YamlPath } from './yaml-source.js';

function dotted(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** "in job 'test'", "in step 2 of job 'test'", "in 'deploy.health' of job 'web'", … */
export function placeOf(path: YamlPath): string {
  if (path.length === 0) return 'at the top level';
  const [first, job, ...rest] = path;
  if (first !== 'jobs' || job === undefined) return `in '${dotted(path)}'`;
  const ofJob = `job '${job}'`;
  if (rest.length === 0) return `in ${ofJob}`;
  const [section, item, ...more] = rest;
  if (section === 'steps' && typeof item === 'number') {
    const step = `step ${item + 1} of ${ofJob}`;
    return more.length ? `in '${dotted(more)}' of ${step}` : `in ${step}`;
  }
  if (section === 'services' && item !== undefined) {
    const service = `service '${item}' of ${ofJob}`;
    return more.length ? `in '${dotted(more)}' of ${service}` : `in ${service}`;
  }
  return `in '${dotted(rest)}' of ${ofJob}`;
}

/** The value at `path` named for a message: "'timeout' in job 'test'", "item 2 of 'secrets'". */
export function labelOf(path: YamlPath): string {
  const last = path[path.length - 1];
  const parent = path.slice(0, -1);
  if (last === undefined) return 'the file';
  if (typeof last === 'string') {
    if (parent.length === 1 && parent[0] === 'jobs') return `job '${last}'`;
    if (parent.length === 3 && parent[0] === 'jobs' && parent[2] === 'services') return `service '${last}' of job '${String(parent[1])}'`;
    return parent.length ? `'${last}' ${placeOf(parent)}` : `'${last}'`;
  }
  if (parent.length === 3 && parent[0] === 'jobs' && parent[2] === 'steps') return `step ${last + 1} of job '${String(parent[1])}'`;
  const owner = parent[parent.length - 1];
  const where = parent.length > 1 ? ` ${placeOf(parent.slice(0, -1))}` : '';
  return `item ${last + 1} of '${String(owner)}'${where}`;
}
