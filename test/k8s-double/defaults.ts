// Defaulting and validation as the real API server does them for the kinds the double serves:
// defaults make an applied object compare equal to its stored form (so re-applying the same
// spec does not bump generation), validation gives the 422 Invalid bodies clients see.
import { isObject, statusError, type KObject, type StatusCause } from './objects.js';
import { qualifiedName, type ResourceType } from './resources.js';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (isObject(probe.httpGet)) probe.httpGet.scheme ??= 'HTTP';
}

export function defaultPodSpec(spec: Rec): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const c of containers) {
    if (!isObject(c)) continue;
    const image = typeof c.image === 'string' ? c.image : '';
    const tagged = /:[^/]+$/.test(image) || image.includes('@');
    c.imagePullPolicy ??= !tagged || image.endsWith(':latest') ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
    defaultProbe(c.readinessProbe);
    defaultProbe(c.livenessProbe);
    defaultProbe(c.startupProbe);
  }
}

let nextClusterIP = 10;

export function applyDefaults(type: ResourceType, obj: KObject): void {
  switch (type.kind) {
    case 'Deployment': {
      const spec = rec(obj.spec);
      obj.spec = spec;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      const strategy = rec(spec.strategy);
      spec.strategy = strategy;
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        const ru = rec(strategy.rollingUpdate);
        strategy.rollingUpdate = ru;
        ru.maxSurge ??= '25%';
        ru.maxUnavailable ??= '25%';
      }
      const template = rec(spec.template);
      spec.template = template;
      template.metadata = { creationTimestamp: null, ...rec(template.metadata) };
      template.spec = rec(template.spec);
      defaultPodSpec(template.spec as Rec);
      break;
    }
    case 'ReplicaSet': {
      const spec = rec(obj.spec);
      obj.spec = spec;
      spec.replicas ??= 1;
      const template = rec(spec.template);
      spec.template = template;
      template.spec = rec(template.spec);
      defaultPodSpec(template.spec as Rec);
      break;
    }
    case 'Pod':
      obj.spec = rec(obj.spec);
      defaultPodSpec(obj.spec as Rec);
      break;
    case 'Service': {
      const spec = rec(obj.spec);
      obj.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.clusterIP === undefined) {
        const ip = `10.96.${Math.floor(nextClusterIP / 250)}.${(nextClusterIP % 250) + 1}`;
        nextClusterIP++;
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
      }
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports) {
          if (!isObject(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      }
      break;
    }
    case 'Secret':
      obj.type ??= 'Opaque';
      if (isObject(obj.stringData)) {
        // the API server folds stringData into data and never stores it
        const data = rec(obj.data);
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        obj.data = data;
        delete obj.stringData;
      }
      break;
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      break;
    default:
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function validate(type: ResourceType, obj: KObject, old?: KObject): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name ?? '';
  if (!name) causes.push({ type: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    causes.push({ type: 'FieldValueInvalid', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`, field: 'metadata.name' });
  }
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push({ type: 'FieldValueInvalid', message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`, field: `metadata.labels` });
    }
    if (!k) causes.push({ type: 'FieldValueInvalid', message: 'Invalid value: "": name part must be non-empty', field: 'metadata.labels' });
  }
  if (type.kind === 'Deployment' || type.kind === 'ReplicaSet') {
    const spec = rec(obj.spec);
    const selector = rec(spec.selector);
    const matchLabels = rec(selector.matchLabels);
    const templateLabels = rec(rec(rec(spec.template).metadata).labels);
    if (Object.keys(matchLabels).length === 0 && !Array.isArray(selector.matchExpressions)) {
      causes.push({ type: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' });
    } else if (!Object.entries(matchLabels).every(([k, v]) => templateLabels[k] === v)) {
      causes.push({ type: 'FieldValueInvalid', message: `Invalid value: map[string]string{...}: \`selector\` does not match template \`labels\``, field: 'spec.template.metadata.labels' });
    }
    if (typeof spec.replicas === 'number' && spec.replicas < 0) {
      causes.push({ type: 'FieldValueInvalid', message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`, field: 'spec.replicas' });
    }
    if (old && JSON.stringify(rec(old.spec).selector) !== JSON.stringify(spec.selector)) {
      causes.push({ type: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field: 'spec.selector' });
    }
    validateContainers(rec(rec(spec.template).spec), 'spec.template.spec', causes);
  }
  if (type.kind === 'Pod') validateContainers(rec(obj.spec), 'spec', causes);
  if (type.kind === 'Service') {
    const ports = rec(obj.spec).ports;
    if (Array.isArray(ports)) {
      ports.forEach((p, i) => {
        const port = rec(p).port;
        if (typeof port !== 'number' || port < 1 || port > 65535) {
          causes.push({ type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive`, field: `spec.ports[${i}].port` });
        }
      });
    }
  }
  if (causes.length > 0) {
    const detail = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    const kind = type.group ? `${type.kind}.${type.group}` : type.kind;
    throw statusError(422, 'Invalid', `${kind} "${name}" is invalid: ${causes.length > 1 ? `[${detail}]` : detail}`, {
      name,
      group: type.group,
      kind: type.kind,
      causes,
    });
  }
  void qualifiedName;
}

function validateContainers(podSpec: Rec, path: string, causes: StatusCause[]): void {
  const containers = podSpec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ type: 'FieldValueRequired', message: 'Required value', field: `${path}.containers` });
    return;
  }
  containers.forEach((c, i) => {
    const container = rec(c);
    if (typeof container.name !== 'string' || !container.name) causes.push({ type: 'FieldValueRequired', message: 'Required value', field: `${path}.containers[${i}].name` });
    if (typeof container.image !== 'string' || !container.image) causes.push({ type: 'FieldValueRequired', message: 'Required value', field: `${path}.containers[${i}].image` });
  });
}
