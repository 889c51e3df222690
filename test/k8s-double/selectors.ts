// Label selectors (equality- and set-based) and field selectors over dotted paths, as list and
// watch requests use them (`kubectl rollout status` watches with metadata.name=...).
import { isObject, type KObject } from './objects.js';

type Matcher = (obj: KObject) => boolean;

export function labelMatcher(selector: string | null | undefined): Matcher {
  if (!selector) return () => true;
  const parts = selector.match(/([^,(]+(\([^)]*\))?)+/g) ?? [];
  const tests = parts.map((raw) => {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key = '', op, list = ''] = m;
      const values = list.split(',').map((v) => v.trim());
      return (labels: Record<string, string>) => (op === 'in' ? key in labels && values.includes(labels[key] ?? '') : !(key in labels) || !values.includes(labels[key] ?? ''));
    }
    if ((m = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(part))) {
      const [, key = '', value] = m;
      return (labels: Record<string, string>) => labels[key] !== value;
    }
    if ((m = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(part))) {
      const [, key = '', value] = m;
      return (labels: Record<string, string>) => labels[key] === value;
    }
    if ((m = /^!\s*(\S+)$/.exec(part))) {
      const key = m[1] ?? '';
      return (labels: Record<string, string>) => !(key in labels);
    }
    return (labels: Record<string, string>) => part in labels;
  });
  return (obj) => tests.every((t) => t(obj.metadata.labels ?? {}));
}

export function fieldMatcher(selector: string | null | undefined): Matcher {
  if (!selector) return () => true;
  const tests = selector.split(',').map((raw) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(raw.trim());
    if (!m) return () => true;
    const [, path = '', op, value] = m;
    return (obj: KObject) => {
      let node: unknown = obj;
      for (const part of path.split('.')) node = isObject(node) ? node[part] : undefined;
      const actual = node === undefined || node === null ? '' : String(node);
      return op === '!=' ? actual !== value : actual === value;
    };
  });
  return (obj) => tests.every((t) => t(obj));
}
