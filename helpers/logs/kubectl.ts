// kubectl's tables for a kasm-helm deployment, as pasted into an issue: `kubectl get svc [-A]` and `kubectl get pods
// [-A]`, with or without their header and NAMESPACE column, and the `kubectl ...` command line itself.

export interface KubeService {
  namespace: string | null;
  name: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIp: string;
  /** `<none>` and `<pending>` kept as kubectl prints them. */
  externalIp: string;
  ports: string;
  age: string;
  raw: string;
}

export interface KubePod {
  namespace: string | null;
  name: string;
  ready: number;
  containers: number;
  status: string;
  restarts: number;
  age: string;
  raw: string;
}

export interface KubectlOutput {
  services: KubeService[];
  pods: KubePod[];
  commands: string[];
  unparsed: string[];
}

// A shell prompt (`k8s:~$ `, `user@host:~/dir$ `, `$ `), optional sudo, then kubectl.
export const KUBECTL_COMMAND = /^(?:[\w.-]{1,64}(?:@[\w.-]{1,64})?:[^\s$#]{0,200}[$#]\s*|[$#]\s+)?(?:sudo\s+)?(?:kubectl|k3s kubectl|microk8s kubectl)\s/;
const SVC_HEADER = /^(?:NAMESPACE\s+)?NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE(?:\s+SELECTOR)?$/;
const POD_HEADER = /^(?:NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE(?:\s+IP\s+NODE.*)?$/;
const SVC_ROW = /^(?:(\S+)\s+)?(\S+)\s+(ClusterIP|NodePort|LoadBalancer|ExternalName)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+[smhdy][\dsmhdy]*)(?:\s+\S+)?$/;
// RESTARTS is `3` or, since kubectl 1.22, `3 (2m ago)`; `-o wide` adds IP, NODE and two more columns.
const POD_ROW = /^(?:(\S+)\s+)?(\S+)\s+(\d+)\/(\d+)\s+(\S+)\s+(\d+)(?: \([\dsmhdy]+ ago\))?\s+(\d+[smhdy][\dsmhdy]*)(?:\s+\S+){0,4}$/;

/** A line of kubectl's tables or a kubectl command: what route.ts sends here. */
export function isKubectlLine(line: string): boolean {
  const text = line.trim();
  return KUBECTL_COMMAND.test(text) || SVC_HEADER.test(text) || POD_HEADER.test(text) || SVC_ROW.test(text) || POD_ROW.test(text);
}

export function parseKubectl(lines: readonly string[]): KubectlOutput {
  const out: KubectlOutput = { services: [], pods: [], commands: [], unparsed: [] };
  for (const raw of lines) {
    const text = raw.trim();
    if (KUBECTL_COMMAND.test(text)) {
      out.commands.push(text);
      continue;
    }
    if (SVC_HEADER.test(text) || POD_HEADER.test(text)) continue;
    const svc = SVC_ROW.exec(text);
    if (svc) {
      const [, namespace, name = '', type, clusterIp = '', externalIp = '', ports = '', age = ''] = svc;
      out.services.push({ namespace: namespace ?? null, name, type: type as KubeService['type'], clusterIp, externalIp, ports, age, raw });
      continue;
    }
    const pod = POD_ROW.exec(text);
    if (pod) {
      const [, namespace, name = '', ready = '0', containers = '0', status = '', restarts = '0', age = ''] = pod;
      out.pods.push({ namespace: namespace ?? null, name, ready: Number(ready), containers: Number(containers), status, restarts: Number(restarts), age, raw });
      continue;
    }
    out.unparsed.push(raw);
  }
  return out;
}
