// The job graph of a run, laid out by dagre: an edge is drawn only where a job needs another, so no
// line suggests an order that is not there. Each node shows the job's live status and duration; the
// critical path (the chain of needs that took longest) is marked; a node opens the job's log.
import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { duration } from '../format.js';

export interface GraphJob {
  name: string;
  needs: string[];
  status: string;
  durationMs?: number;
}

interface Layout {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>;
}

const NODE_W = 180;
const NODE_H = 56;

async function layoutOf(jobs: readonly GraphJob[]): Promise<Layout> {
  // loaded with the run page only: the initial script stays small
  const dagre = (await import('@dagrejs/dagre')).default;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const job of jobs) g.setNode(job.name, { width: NODE_W, height: NODE_H });
  const names = new Set(jobs.map((j) => j.name));
  for (const job of jobs) for (const need of job.needs) if (names.has(need)) g.setEdge(need, job.name);
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const nodes = new Map<string, { x: number; y: number }>();
  for (const name of g.nodes()) {
    const n = g.node(name) as { x: number; y: number };
    nodes.set(name, { x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 });
  }
  const edges = g.edges().map((e: { v: string; w: string }) => ({ from: e.v, to: e.w, points: (g.edge(e) as { points: Array<{ x: number; y: number }> }).points }));
  return { width: graph.width ?? 0, height: graph.height ?? 0, nodes, edges };
}

/** The jobs on the longest chain of needs by duration: what the run's length depends on. */
export function criticalPath(jobs: readonly GraphJob[]): Set<string> {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const best = new Map<string, { total: number; via?: string }>();
  const visit = (name: string, depth = 0): number => {
    const known = best.get(name);
    if (known) return known.total;
    const job = byName.get(name);
    if (!job || depth > jobs.length) return 0;
    let via: string | undefined;
    let before = 0;
    for (const need of job.needs) {
      const t = visit(need, depth + 1);
      if (t > before) [before, via] = [t, need];
    }
    const total = before + (job.durationMs ?? 0);
    best.set(name, { total, ...(via ? { via } : {}) });
    return total;
  };
  let end: string | undefined;
  let longest = 0;
  for (const job of jobs) {
    const t = visit(job.name);
    if (t > longest) [longest, end] = [t, job.name];
  }
  const path = new Set<string>();
  for (let at = end; at; at = best.get(at)?.via) path.add(at);
  return longest > 0 ? path : new Set();
}

export function JobGraph({ jobs, selected, onSelect }: { jobs: readonly GraphJob[]; selected?: string; onSelect: (job: string) => void }): JSX.Element {
  const shape = jobs.map((j) => `${j.name}<${j.needs.join(',')}`).join('|');
  const [layout, setLayout] = useState<Layout | undefined>(undefined);
  useEffect(() => {
    let current = true;
    void layoutOf(jobs).then((l) => current && setLayout(l));
    return () => void (current = false);
  }, [shape]);
  if (!layout) return <div class="graph loading">laying out the job graph…</div>;
  const critical = criticalPath(jobs);
  return (
    <div class="graph" style={{ width: `${layout.width}px`, height: `${layout.height}px` }} role="group" aria-label="job graph">
      <svg width={layout.width} height={layout.height} aria-hidden="true">
        <defs>
          <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">
            <path d="M0,0 L8,4 L0,8 z" class="arrow" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <polyline
            key={`${e.from}->${e.to}`}
            class={`edge${critical.has(e.from) && critical.has(e.to) ? ' critical' : ''}`}
            points={e.points.map((p) => `${p.x},${p.y}`).join(' ')}
            marker-end="url(#arrow)"
          />
        ))}
      </svg>
      {jobs.map((job) => {
        const at = layout.nodes.get(job.name);
        if (!at) return null;
        return (
          <button
            type="button"
            key={job.name}
            class={`node s-${job.status}${job.name === selected ? ' selected' : ''}${critical.has(job.name) ? ' critical' : ''}`}
            style={{ left: `${at.x}px`, top: `${at.y}px`, width: `${NODE_W}px`, height: `${NODE_H}px` }}
            onClick={() => onSelect(job.name)}
            aria-pressed={job.name === selected}
          >
            <span class="node-name">{job.name}</span>
            <span class="node-meta">
              <span class={`badge s-${job.status}`}>{job.status}</span> {job.durationMs !== undefined ? duration(job.durationMs) : ''}
              {critical.has(job.name) ? <span class="sr-only">, on the critical path</span> : null}
            </span>
          </button>
        );
      })}
    </div>
  );
}
