// Authentication by bearer token and RBAC authorization from the Roles, ClusterRoles and their
// bindings stored in the double, as the real authorizer evaluates them; tokens for service
// accounts come from the TokenRequest subresource, so a test can build a restricted identity
// the same way on the double and on a real cluster.
import { randomBytes } from 'node:crypto';
import { isObject, type KObject } from './objects.js';
import { RESOURCES, type ResourceType } from './resources.js';
import type { ObjectStore } from './store.js';

export interface Identity {
  user: string;
  groups: string[];
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

const type = (kind: string) => RESOURCES.find((r) => r.kind === kind) as ResourceType;

export class Authorizer {
  private readonly tokens = new Map<string, Identity>();

  constructor(private readonly store: ObjectStore, adminToken: string) {
    this.tokens.set(adminToken, { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
  }

  authenticate(header: string | undefined): Identity | undefined {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
    return match ? this.tokens.get(match[1]?.trim() ?? '') : undefined;
  }

  /** A token for a service account (the TokenRequest subresource). */
  issueServiceAccountToken(namespace: string, name: string): string {
    const token = `sa.${randomBytes(24).toString('hex')}`;
    this.tokens.set(token, {
      user: `system:serviceaccount:${namespace}:${name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    });
    return token;
  }

  /** Registers a fixed identity for a token (tests that want a user without RBAC objects). */
  addToken(token: string, identity: Identity): void {
    this.tokens.set(token, identity);
  }

  isAllowed(who: Identity, attrs: RequestAttributes): boolean {
    if (who.groups.includes('system:masters')) return true;
    const bindings: KObject[] = this.store.list(type('ClusterRoleBinding'));
    if (attrs.namespace) bindings.push(...this.store.list(type('RoleBinding'), attrs.namespace));
    for (const binding of bindings) {
      if (!this.bindsSubject(binding, who)) continue;
      const ref = isObject(binding.roleRef) ? binding.roleRef : {};
      const role =
        ref.kind === 'ClusterRole'
          ? this.store.get(type('ClusterRole'), undefined, String(ref.name))
          : this.store.get(type('Role'), binding.metadata.namespace, String(ref.name));
      const rules = Array.isArray(role?.rules) ? (role.rules as PolicyRule[]) : [];
      if (rules.some((rule) => ruleAllows(rule, attrs))) return true;
    }
    return false;
  }

  private bindsSubject(binding: KObject, who: Identity): boolean {
    const subjects = Array.isArray(binding.subjects) ? binding.subjects : [];
    return subjects.some((s) => {
      if (!isObject(s)) return false;
      if (s.kind === 'ServiceAccount') return who.user === `system:serviceaccount:${String(s.namespace ?? binding.metadata.namespace)}:${String(s.name)}`;
      if (s.kind === 'User') return who.user === s.name;
      if (s.kind === 'Group') return who.groups.includes(String(s.name));
      return false;
    });
  }
}

function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const has = (list: string[] | undefined, value: string) => (list ?? []).some((v) => v === '*' || v === value);
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  if (!has(rule.verbs, attrs.verb)) return false;
  if (!has(rule.apiGroups, attrs.group)) return false;
  if (!has(rule.resources, resource) && !(attrs.subresource && (rule.resources ?? []).includes(`${attrs.resource}/*`))) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return attrs.name !== undefined && rule.resourceNames.includes(attrs.name);
  return true;
}
