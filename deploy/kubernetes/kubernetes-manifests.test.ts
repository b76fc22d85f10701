import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap, IContainer, INamespace, IPodTemplateSpec, ISecret, IService } from 'kubernetes-models/v1';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigSchema } from '../../server/src/config/config-schema';
import { ENV_SETTINGS, loadConfig } from '../../server/src/config/load-config';
import type { TestServer } from '../../server/src/testing/test-server';

const KUBERNETES = import.meta.dirname;
const OVERLAYS = join(KUBERNETES, 'overlays');
const COMPONENTS = join(KUBERNETES, 'components');
const NAMESPACE = 'axon';

interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** What one kustomization renders to, with the example Secrets its folders hold. */
interface Rendering {
  name: string;
  objects: KubernetesObject[];
  secrets: Map<string, Record<string, string>>;
}

/** `kubectl kustomize DIR`, parsed. Fails saying what to install when kubectl is missing. */
function kustomize(dir: string): KubernetesObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(
      'kubectl is not on PATH: install kubectl 1.27 or newer (it contains kustomize), e.g. https://kubernetes.io/docs/tasks/tools/',
    );
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize ${relative(process.cwd(), dir)} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`kubectl kustomize ${dir} wrote invalid YAML: ${document.errors[0]?.message}`);
      return document.toJS() as KubernetesObject | null;
    })
    .filter((object): object is KubernetesObject => object !== null);
}

/** The Secrets that `secret.example.yaml` files in these folders define; a later folder wins. */
function exampleSecrets(dirs: string[]): Map<string, Record<string, string>> {
  const secrets = new Map<string, Record<string, string>>();
  for (const dir of dirs) {
    const file = join(dir, 'secret.example.yaml');
    if (!existsSync(file)) continue;
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const secret = document.toJS() as ISecret;
      secrets.set(secret.metadata?.name ?? '', secret.stringData ?? {});
    }
  }
  return secrets;
}

/** The overlays and components that `dir`'s kustomization builds on, itself last. */
function kustomizationFolders(dir: string): string[] {
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
    resources?: string[];
    components?: string[];
  };
  const below = [...(kustomization.resources ?? []), ...(kustomization.components ?? [])]
    .map((entry) => join(dir, entry))
    .filter((path) => existsSync(join(path, 'kustomization.yaml')));
  return [...below.flatMap(kustomizationFolders), dir];
}

const temporaryDirs: string[] = [];

/** Renders a kustomization written for the test: an overlay with components or other settings over it. */
function renderComposition(
  name: string,
  kustomization: { resources: string[]; components?: string[]; [field: string]: unknown },
): Rendering {
  const dir = mkdtempSync(join(tmpdir(), 'axon-kustomization-'));
  temporaryDirs.push(dir);
  const relativeTo = (path: string) => relative(dir, path);
  const content = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: NAMESPACE,
    ...kustomization,
    resources: kustomization.resources.map(relativeTo),
    components: (kustomization.components ?? []).map(relativeTo),
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(content, null, 2));
  const folders = [...kustomization.resources, ...(kustomization.components ?? [])].flatMap(kustomizationFolders);
  return { name, objects: kustomize(dir), secrets: exampleSecrets(folders) };
}

function renderOverlay(name: string): Rendering {
  const dir = join(OVERLAYS, name);
  return { name, objects: kustomize(dir), secrets: exampleSecrets(kustomizationFolders(dir)) };
}

function find<T>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as unknown as T;
}

/** A generated ConfigMap by the name it was declared with (kustomize adds a hash to it). */
function findConfigMap(objects: KubernetesObject[], name: string): IConfigMap {
  const found = objects.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)));
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return found as unknown as IConfigMap;
}

function podTemplates(objects: KubernetesObject[]): Array<{ owner: string; template: IPodTemplateSpec }> {
  const templates: Array<{ owner: string; template: IPodTemplateSpec }> = [];
  for (const object of objects) {
    const spec = object.spec as { template?: IPodTemplateSpec; jobTemplate?: { spec?: { template?: IPodTemplateSpec } } } | undefined;
    const template = spec?.template ?? spec?.jobTemplate?.spec?.template;
    if (template?.spec) templates.push({ owner: `${object.kind}/${object.metadata.name}`, template });
  }
  return templates;
}

/** The pod templates that run Axon: the API Deployment and the migration Job. */
function axonTemplates(objects: KubernetesObject[]): Array<{ owner: string; template: IPodTemplateSpec; container: IContainer }> {
  return [
    { owner: 'Deployment/axon-api', template: find<IDeployment>(objects, 'Deployment', 'axon-api').spec?.template },
    { owner: 'Job/axon-migrate', template: find<IJob>(objects, 'Job', 'axon-migrate').spec?.template },
  ].map(({ owner, template }) => {
    const container = template?.spec?.containers[0];
    if (!template || !container) throw new Error(`${owner} has no container`);
    return { owner, template, container };
  });
}

/**
 * The environment a container starts with, as the kubelet builds it: `envFrom` ConfigMaps and Secrets
 * in order, then `env`. Secrets come from the example files; an optional reference may be missing.
 */
function containerEnvironment(rendering: Rendering, container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  const secret = (name: string) => {
    const found = rendering.secrets.get(name);
    if (!found) throw new Error(`the Secret ${name} has no secret.example.yaml in ${rendering.name}'s folders`);
    return found;
  };
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, findConfigMap(rendering.objects, source.configMapRef.name ?? '').data);
    if (source.secretRef) Object.assign(env, secret(source.secretRef.name ?? ''));
  }
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configMapRef = variable.valueFrom?.configMapKeyRef;
    let value = variable.value;
    if (secretRef) value = secret(secretRef.name ?? '')[secretRef.key];
    if (configMapRef) value = findConfigMap(rendering.objects, configMapRef.name ?? '').data?.[configMapRef.key];
    if (value === undefined && !(secretRef?.optional || configMapRef?.optional))
      throw new Error(`${container.name}: ${variable.name} refers to a key that does not exist`);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

/** Axon's config file as the pod sees it: the ConfigMap key mounted where AXON_CONFIG points. */
function mountedConfigFile(rendering: Rendering, template: IPodTemplateSpec, container: IContainer, env: Record<string, string>): string {
  const path = env.AXON_CONFIG;
  if (!path) throw new Error(`${container.name}: AXON_CONFIG is not set`);
  const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(path));
  const volume = template.spec?.volumes?.find((v) => v.name === mount?.name);
  if (!volume?.configMap?.name) throw new Error(`${container.name}: no ConfigMap is mounted at ${dirname(path)}`);
  const text = findConfigMap(rendering.objects, volume.configMap.name).data?.[basename(path)];
  if (text === undefined) throw new Error(`the ConfigMap mounted at ${dirname(path)} has no key ${basename(path)}`);
  return text;
}

/** Loads the configuration a container of Axon starts with, through Axon's real loader. */
function loadContainerConfig(rendering: Rendering, template: IPodTemplateSpec, container: IContainer) {
  const env = containerEnvironment(rendering, container);
  const text = mountedConfigFile(rendering, template, container, env);
  const dir = mkdtempSync(join(tmpdir(), 'axon-deploy-config-'));
  temporaryDirs.push(dir);
  writeFileSync(join(dir, basename(env.AXON_CONFIG as string)), text);
  return { env, text, config: loadConfig({ env: { ...env, AXON_CONFIG: join(dir, basename(env.AXON_CONFIG as string)) }, cwd: dir }) };
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value) && Object.keys(selector ?? {}).length > 0;
}

/** The kubernetes-models module of each API group. */
const MODEL_MODULE_NAMES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};
/** The same, loaded (import() needs the names written out for the bundler). */
const MODEL_MODULES: Record<string, () => Promise<Record<string, unknown>>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'monitoring.coreos.com/v1': () => import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'),
  'keda.sh/v1alpha1': () => import('@kubernetes-models/keda/keda.sh/v1alpha1'),
};

/** Builds the object with its kubernetes-models class and validates it against the Kubernetes schema. */
async function validateObject(object: KubernetesObject): Promise<void> {
  const load = MODEL_MODULES[object.apiVersion];
  if (!load) throw new Error(`${object.kind}/${object.metadata.name}: no schema for apiVersion ${object.apiVersion}`);
  const Model = (await load())[object.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`${object.kind}/${object.metadata.name}: ${object.apiVersion} has no kind ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
  }
}

/**
 * The fields the API does not know (a misspelt one is dropped without a word by a lenient client):
 * each object is written as a TypeScript literal of its kubernetes-models interface and type-checked
 * in memory, where an unknown property is an error. Returns the compiler's messages.
 */
function unknownFields(objects: KubernetesObject[]): string[] {
  const imports = new Map<string, string>();
  const ranges: Array<{ start: number; end: number; what: string }> = [];
  let body = '';
  objects.forEach((object, index) => {
    const module = MODEL_MODULE_NAMES[object.apiVersion];
    if (!module) throw new Error(`${object.kind}/${object.metadata.name}: no schema for apiVersion ${object.apiVersion}`);
    const alias = `T${index}`;
    imports.set(alias, `import type { I${object.kind} as ${alias} } from '${module}';\n`);
    const start = body.length;
    body += `export const o${index}: ${alias} = ${JSON.stringify(object, null, 1)};\n`;
    ranges.push({ start, end: body.length, what: `${object.kind}/${object.metadata.name}` });
  });
  const header = [...imports.values()].join('');
  const file = join(KUBERNETES, 'rendered-objects.ts');
  const source = header + body;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const at = (diagnostic.start ?? 0) - header.length;
    const what = diagnostic.file?.fileName === file ? ranges.find((r) => at >= r.start && at < r.end)?.what : diagnostic.file?.fileName;
    return `${what ?? 'rendered objects'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

/** A Kubernetes memory quantity (`512Mi`, `2Gi`) in MiB. */
function mebibytes(quantity: string | number | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi)$/.exec(String(quantity));
  if (!match) throw new Error(`write the memory quantity ${quantity} in Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

const CLUSTER_SCOPED = new Set(['Namespace']);
/** After the grace period the server gives aborted streams 2 s to save and open connections 2 s more (server.ts). */
const SERVER_STOP_AFTER_GRACE_SECONDS = 4;
const QUANTIZATIONS = ['awq', 'awq_marlin', 'gptq', 'gptq_marlin', 'fp8'];

const overlayNames = readdirSync(OVERLAYS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

let rendered: Rendering[] | undefined;
/**
 * Every overlay, and an overlay with each component as a user's overlay would add it; rendered at the
 * first test that needs them, so that each test fails on its own when kubectl is missing.
 */
function allRenderings(): Rendering[] {
  rendered ??= [
    ...overlayNames.map(renderOverlay),
    renderComposition('external+keda', { resources: [join(OVERLAYS, 'external')], components: [join(COMPONENTS, 'keda')] }),
    renderComposition('external+vllm', { resources: [join(OVERLAYS, 'external')], components: [join(COMPONENTS, 'vllm')] }),
  ];
  return rendered;
}
const rendering = (name: string) => {
  const found = allRenderings().find((r) => r.name === name);
  if (!found) throw new Error(`${name} was not rendered`);
  return found;
};

afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the Kustomize overlays', () => {
  it('are bundled, external and vllm', () => {
    expect(overlayNames).toEqual(['bundled', 'external', 'vllm']);
  });

  it('render objects that pass the Kubernetes schemas (and those of the Prometheus Operator and KEDA)', async () => {
    for (const { name, objects } of allRenderings()) {
      expect(objects.length, name).toBeGreaterThan(10);
      for (const object of objects) await validateObject(object);
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(keys).size, `${name}: an object twice`).toBe(keys.length);
    }
  });

  it('hold no field that the Kubernetes API (or the CRDs) does not know', () => {
    const objects = new Map<string, KubernetesObject>();
    for (const { objects: rendered } of allRenderings()) for (const object of rendered) objects.set(JSON.stringify(object), object);
    const secrets = [join(KUBERNETES, 'base'), ...overlayNames.map((n) => join(OVERLAYS, n)), join(COMPONENTS, 'vllm')]
      .map((dir) => join(dir, 'secret.example.yaml'))
      .filter(existsSync)
      .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubernetesObject));
    expect([...new Set(unknownFields([...objects.values(), ...secrets]))]).toEqual([]);
  }, 60_000);

  it('put every object in the axon namespace, with the part-of label', () => {
    for (const { name, objects } of allRenderings())
      for (const object of objects) {
        const what = `${name}: ${object.kind}/${object.metadata.name}`;
        if (!CLUSTER_SCOPED.has(object.kind)) expect(object.metadata.namespace, what).toBe(NAMESPACE);
        expect(object.metadata.labels?.['app.kubernetes.io/part-of'], what).toBe('axon');
      }
  });

  it('have an example Secret with every key that a pod or the ServiceMonitor reads', () => {
    for (const r of allRenderings()) {
      for (const { owner, template } of podTemplates(r.objects))
        for (const container of template.spec?.containers ?? []) {
          for (const source of container.envFrom ?? [])
            if (source.secretRef)
              expect(r.secrets.has(source.secretRef.name ?? ''), `${r.name} ${owner}: ${source.secretRef.name}`).toBe(true);
          for (const variable of container.env ?? []) {
            const ref = variable.valueFrom?.secretKeyRef;
            if (ref && !ref.optional)
              expect(Object.keys(r.secrets.get(ref.name ?? '') ?? {}), `${r.name} ${owner}: ${ref.name}.${ref.key}`).toContain(ref.key);
          }
        }
      for (const monitor of r.objects.filter((o) => o.kind === 'ServiceMonitor') as unknown as IServiceMonitor[])
        for (const endpoint of monitor.spec.endpoints ?? []) {
          const credentials = endpoint.authorization?.credentials;
          expect(credentials, `${r.name}: the ServiceMonitor sends no token`).toBeDefined();
          expect(Object.keys(r.secrets.get(credentials?.name ?? '') ?? {})).toContain(credentials?.key);
        }
    }
  });

  it('validate the example Secrets as Kubernetes objects in the axon namespace', async () => {
    const files = [join(KUBERNETES, 'base'), ...overlayNames.map((n) => join(OVERLAYS, n)), join(COMPONENTS, 'vllm')]
      .map((dir) => join(dir, 'secret.example.yaml'))
      .filter(existsSync);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files)
      for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const secret = document.toJS() as KubernetesObject;
        await validateObject(secret);
        expect(secret.metadata.namespace, file).toBe(NAMESPACE);
      }
  });

  it("select the migration Job and every ConfigMap it reads with the upgrade's first step (docs/deploy.md)", () => {
    const firstStep = new Set(['config', 'migrate']);
    for (const r of allRenderings()) {
      const selected = r.objects.filter((o) => firstStep.has(o.metadata.labels?.['app.kubernetes.io/component'] ?? ''));
      const [, migrate] = axonTemplates(r.objects);
      if (!migrate) throw new Error('no migration Job');
      expect(selected.filter((o) => o.kind === 'Job').map((o) => o.metadata.name)).toEqual(['axon-migrate']);
      const read = [
        // An optional ConfigMap (the external overlay's CA bundle) is one you create, not one rendered.
        ...(migrate.template.spec?.volumes ?? []).flatMap((v) => (v.configMap?.optional ? [] : (v.configMap?.name ?? []))),
        ...(migrate.container.envFrom ?? []).flatMap((e) => e.configMapRef?.name ?? []),
      ];
      expect(read.length).toBeGreaterThan(0);
      for (const name of read)
        expect(
          selected.some((o) => o.kind === 'ConfigMap' && o.metadata.name === name),
          `${r.name}: ${name}`,
        ).toBe(true);
    }
  });

  it('let an overlay name the real image for the API and the migration Job', () => {
    const { objects } = renderComposition('with-image', {
      resources: [join(OVERLAYS, 'external')],
      images: [{ name: 'axon', newName: 'registry.example.com/team/axon', newTag: '1.2.3' }],
    });
    for (const { owner, container } of axonTemplates(objects)) expect(container.image, owner).toBe('registry.example.com/team/axon:1.2.3');
  });
});

describe("Axon's configuration in the manifests", () => {
  it('sets only environment variables that Axon reads', () => {
    for (const r of allRenderings())
      for (const { owner, template, container } of axonTemplates(r.objects)) {
        const { env, config } = loadContainerConfig(r, template, container);
        // AXON_CONFIG names the file (load-config.ts); a connection's apiKeyEnv names its key's variable.
        const known = new Set([...Object.keys(ENV_SETTINGS), 'AXON_CONFIG', ...config.connections.flatMap((c) => c.apiKeyEnv ?? [])]);
        for (const name of Object.keys(env))
          expect(known.has(name), `${r.name} ${owner} sets ${name}, which Axon does not read`).toBe(true);
      }
  });

  it("loads with Axon's real loader and schema, from the ConfigMap's file where AXON_CONFIG points", () => {
    for (const r of allRenderings())
      for (const { owner, template, container } of axonTemplates(r.objects)) {
        const { text, config } = loadContainerConfig(r, template, container);
        // The file alone passes the schema too (strict: an unknown or misspelt key fails).
        const alone = ConfigSchema.safeParse(parseYaml(text));
        expect(alone.success ? [] : alone.error.issues, `${r.name} ${owner}`).toEqual([]);
        // The values come from the file, not from the defaults.
        expect(config.dataDir, owner).toBe('/data');
        expect(config.host).toBe('0.0.0.0');
        expect(config.trustProxy).toBe(true);
        expect(config.databaseUrl, `${r.name}: AXON_DATABASE_URL`).toMatch(/^postgres:\/\//);
        expect(config.redisUrl, `${r.name}: REDIS_URL`).toMatch(/^rediss?:\/\//);
        expect(config.metricsToken).toBeDefined();
      }
  });

  it('gives the pod a writable emptyDir at the data directory and at /tmp, and a read-only root', () => {
    for (const r of allRenderings())
      for (const { owner, template, container } of axonTemplates(r.objects)) {
        const { config } = loadContainerConfig(r, template, container);
        expect(container.securityContext?.readOnlyRootFilesystem, owner).toBe(true);
        for (const path of [config.dataDir, '/tmp']) {
          const mount = container.volumeMounts?.find((m) => m.mountPath === path);
          const volume = template.spec?.volumes?.find((v) => v.name === mount?.name);
          expect(volume?.emptyDir, `${r.name} ${owner}: ${path}`).toBeDefined();
          expect(mount?.readOnly ?? false).toBe(false);
        }
      }
  });

  it('listens on the port the probes, the Service and the ServiceMonitor use', () => {
    for (const r of allRenderings()) {
      const [api] = axonTemplates(r.objects);
      if (!api) throw new Error('no API');
      const { config } = loadContainerConfig(r, api.template, api.container);
      const port = api.container.ports?.find((p) => p.name === 'http');
      expect(port?.containerPort).toBe(config.port);
      for (const probe of [api.container.startupProbe, api.container.livenessProbe, api.container.readinessProbe])
        expect(probe?.httpGet?.port).toBe('http');
      const service = find<IService>(r.objects, 'Service', 'axon');
      expect(service.spec?.ports?.[0]?.targetPort).toBe('http');
      const monitor = find<IServiceMonitor>(r.objects, 'ServiceMonitor', 'axon');
      expect(monitor.spec.endpoints?.[0]?.port).toBe(service.spec?.ports?.[0]?.name);
    }
  });
});

describe('the API Deployment', () => {
  it('outlasts the streams at shutdown: terminationGracePeriodSeconds > preStop + shutdownGraceMs + the final stop', () => {
    for (const r of allRenderings()) {
      const [api] = axonTemplates(r.objects);
      if (!api) throw new Error('no API');
      const { config } = loadContainerConfig(r, api.template, api.container);
      const preStop = api.container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(preStop, 'a preStop pause lets the endpoints drop the pod first').toBeGreaterThanOrEqual(5);
      expect(api.template.spec?.terminationGracePeriodSeconds).toBeGreaterThan(
        preStop + config.shutdownGraceMs / 1000 + SERVER_STOP_AFTER_GRACE_SECONDS,
      );
    }
  });

  it('rolls out without losing capacity and leaves the replica count to the autoscaler', () => {
    for (const r of allRenderings()) {
      const deployment = find<IDeployment>(r.objects, 'Deployment', 'axon-api');
      expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      expect(deployment.spec?.replicas).toBeUndefined();
    }
  });

  it('has requests and limits, and spreads over zones and nodes', () => {
    const deployment = find<IDeployment>(rendering('bundled').objects, 'Deployment', 'axon-api');
    const pod = deployment.spec?.template.spec;
    const resources = pod?.containers[0]?.resources;
    for (const key of ['cpu', 'memory']) {
      expect(resources?.requests?.[key]).toBeDefined();
      expect(resources?.limits?.[key]).toBeDefined();
    }
    expect(pod?.topologySpreadConstraints?.map((c) => c.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    for (const constraint of pod?.topologySpreadConstraints ?? [])
      expect(matches(constraint.labelSelector?.matchLabels, deployment.spec?.template.metadata?.labels)).toBe(true);
  });

  it('has room in its memory limit for the documents it parses at once', () => {
    for (const r of allRenderings()) {
      const [api] = axonTemplates(r.objects);
      if (!api) throw new Error('no API');
      const { config } = loadContainerConfig(r, api.template, api.container);
      // Without a setting a replica parses one document per core, up to 4 (rag/ingest/parse-in-worker.ts).
      const parsing = (config.ingestQueue.concurrency ?? 4) * config.rag.parseMemoryMb;
      const processItself = 512;
      expect(mebibytes(api.container.resources?.limits?.memory), r.name).toBeGreaterThanOrEqual(parsing + processItself);
    }
  });

  it('turns service links off, which would put variables such as AXON_PORT into the environment Axon reads', () => {
    for (const r of allRenderings())
      for (const { owner, template } of podTemplates(r.objects))
        expect(template.spec?.enableServiceLinks, `${r.name} ${owner}`).toBe(false);
  });

  it('is selected by its Service, PodDisruptionBudget and ServiceMonitor, and the migration Job by none of them', () => {
    for (const r of allRenderings()) {
      const pods = find<IDeployment>(r.objects, 'Deployment', 'axon-api').spec?.template.metadata?.labels;
      const job = find<IJob>(r.objects, 'Job', 'axon-migrate').spec?.template.metadata?.labels;
      const service = find<IService>(r.objects, 'Service', 'axon');
      const budget = find<IPodDisruptionBudget>(r.objects, 'PodDisruptionBudget', 'axon-api');
      const monitor = find<IServiceMonitor>(r.objects, 'ServiceMonitor', 'axon');
      for (const selector of [service.spec?.selector, budget.spec?.selector?.matchLabels]) {
        expect(matches(selector, pods)).toBe(true);
        expect(matches(selector, job)).toBe(false);
      }
      expect(matches(monitor.spec.selector.matchLabels, service.metadata?.labels)).toBe(true);
    }
  });

  it('runs every pod as the restricted Pod Security Standard asks', () => {
    for (const r of allRenderings()) {
      const namespace = find<INamespace>(r.objects, 'Namespace', NAMESPACE);
      expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      for (const { owner, template } of podTemplates(r.objects)) {
        const pod = template.spec;
        expect(pod?.securityContext?.runAsNonRoot, owner).toBe(true);
        expect(pod?.securityContext?.seccompProfile?.type, owner).toBe('RuntimeDefault');
        expect(pod?.automountServiceAccountToken, owner).toBe(false);
        for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
          expect(container.securityContext?.allowPrivilegeEscalation, `${owner} ${container.name}`).toBe(false);
          expect(container.securityContext?.capabilities?.drop, `${owner} ${container.name}`).toEqual(['ALL']);
        }
      }
    }
  });
});

describe('the Ingress', () => {
  it('passes Server-Sent Events on unbuffered and waits longer than an upstream may stay silent', () => {
    for (const r of allRenderings()) {
      const [api] = axonTemplates(r.objects);
      if (!api) throw new Error('no API');
      const { config } = loadContainerConfig(r, api.template, api.container);
      const ingress = find<IIngress>(r.objects, 'Ingress', 'axon');
      const annotations = ingress.metadata?.annotations ?? {};
      expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
      expect(annotations['nginx.ingress.kubernetes.io/proxy-request-buffering']).toBe('off');
      const longestSilence = Math.max(config.upstreamTimeouts.firstByteMs, config.upstreamTimeouts.idleMs) / 1000;
      for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout'])
        expect(Number(annotations[`nginx.ingress.kubernetes.io/${timeout}`]), timeout).toBeGreaterThan(longestSilence);
      expect(Number.parseInt(annotations['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '0', 10)).toBeGreaterThanOrEqual(
        config.rag.maxUploadMb,
      );
      const backend = ingress.spec?.rules?.[0]?.http?.paths[0]?.backend.service;
      expect(backend?.name).toBe('axon');
      expect(backend?.port?.name).toBe(find<IService>(r.objects, 'Service', 'axon').spec?.ports?.[0]?.name);
    }
  });
});

describe('scaling', () => {
  it('scales on CPU with a HorizontalPodAutoscaler', () => {
    for (const name of overlayNames) {
      const hpa = find<IHorizontalPodAutoscaler>(rendering(name).objects, 'HorizontalPodAutoscaler', 'axon-api');
      expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'axon-api' });
      expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec?.metrics?.[0]?.resource).toMatchObject({ name: 'cpu', target: { type: 'Utilization' } });
    }
  });

  it('with the keda component, scales on open streams and CPU through a ScaledObject instead', () => {
    const { objects } = rendering('external+keda');
    expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    const scaled = find<IScaledObject>(objects, 'ScaledObject', 'axon-api');
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'axon-api' });
    expect(scaled.spec.triggers.map((t) => t.type)).toEqual(['prometheus', 'cpu']);
    expect(scaled.spec.triggers[0]?.metadata.query).toContain(`namespace="${NAMESPACE}"`);
    expect(scaled.spec.triggers[0]?.metadata.query).toContain('service="axon"');
  });
});

describe('the bundled overlay', () => {
  it('runs PostgreSQL with pgvector and Redis as StatefulSets on PersistentVolumeClaims', () => {
    const { objects } = rendering('bundled');
    const postgres = find<IStatefulSet>(objects, 'StatefulSet', 'axon-postgres');
    const redis = find<IStatefulSet>(objects, 'StatefulSet', 'axon-redis');
    expect(postgres.spec?.template.spec?.containers[0]?.image).toMatch(/^pgvector\/pgvector:pg1\d/);
    for (const set of [postgres, redis]) {
      expect(set.spec?.volumeClaimTemplates?.[0]?.metadata?.name).toBe('data');
      expect(set.spec?.template.spec?.containers[0]?.volumeMounts?.some((m) => m.name === 'data')).toBe(true);
    }
    // Job queues need every key kept.
    expect(redis.spec?.template.spec?.containers[0]?.args?.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it("points Axon's example URLs at the bundled Services with the bundled passwords", () => {
    const r = rendering('bundled');
    const [api] = axonTemplates(r.objects);
    if (!api) throw new Error('no API');
    const { config } = loadContainerConfig(r, api.template, api.container);
    const passwords = r.secrets.get('axon-bundled') ?? {};
    const database = new URL(config.databaseUrl ?? '');
    const redis = new URL(config.redisUrl ?? '');
    const postgresService = find<IService>(r.objects, 'Service', 'axon-postgres');
    const redisService = find<IService>(r.objects, 'Service', 'axon-redis');
    expect([database.hostname, Number(database.port)]).toEqual([postgresService.metadata?.name, postgresService.spec?.ports?.[0]?.port]);
    expect([redis.hostname, Number(redis.port)]).toEqual([redisService.metadata?.name, redisService.spec?.ports?.[0]?.port]);
    expect(database.password).toBe(passwords.POSTGRES_PASSWORD);
    expect(redis.password).toBe(passwords.REDIS_PASSWORD);
    const env = containerEnvironment(
      r,
      find<IStatefulSet>(r.objects, 'StatefulSet', 'axon-postgres').spec?.template.spec?.containers[0] as IContainer,
    );
    expect([database.username, database.pathname]).toEqual([env.POSTGRES_USER, `/${env.POSTGRES_DB}`]);
  });

  it("gives PostgreSQL enough connections for the most replicas, each with its pool, and the Job's", () => {
    const r = rendering('bundled');
    const [api] = axonTemplates(r.objects);
    if (!api) throw new Error('no API');
    const { config } = loadContainerConfig(r, api.template, api.container);
    const args = find<IStatefulSet>(r.objects, 'StatefulSet', 'axon-postgres').spec?.template.spec?.containers[0]?.args ?? [];
    const maxConnections = Number(args.find((a) => a.startsWith('max_connections='))?.split('=')[1]);
    const maxReplicas = find<IHorizontalPodAutoscaler>(r.objects, 'HorizontalPodAutoscaler', 'axon-api').spec?.maxReplicas ?? 0;
    expect(maxConnections).toBeGreaterThan((maxReplicas + 1) * config.databasePoolSize);
  });

  it('lets only pods of Axon reach PostgreSQL and Redis', () => {
    const { objects } = rendering('bundled');
    const api = find<IDeployment>(objects, 'Deployment', 'axon-api').spec?.template.metadata?.labels;
    const job = find<IJob>(objects, 'Job', 'axon-migrate').spec?.template.metadata?.labels;
    for (const name of ['axon-postgres', 'axon-redis']) {
      const policy = find<INetworkPolicy>(objects, 'NetworkPolicy', name);
      const target = find<IStatefulSet>(objects, 'StatefulSet', name).spec?.template.metadata?.labels;
      expect(matches(policy.spec?.podSelector.matchLabels, target)).toBe(true);
      const from = policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels;
      expect(matches(from, api) && matches(from, job)).toBe(true);
    }
  });
});

describe('the external overlay', () => {
  it('mounts an optional CA bundle for the database in the API and the migration Job', () => {
    for (const { owner, template, container } of axonTemplates(rendering('external').objects)) {
      const volume = template.spec?.volumes?.find((v) => v.configMap?.name === 'axon-tls-ca');
      expect(volume?.configMap?.optional, owner).toBe(true);
      expect(container.volumeMounts?.find((m) => m.name === volume?.name)?.mountPath).toBe('/etc/axon/tls');
    }
  });
});

describe('the vllm component', () => {
  for (const name of ['vllm', 'external+vllm']) {
    it(`runs vLLM on a GPU node and wires it to Axon as a connection (${name})`, () => {
      const r = rendering(name);
      const vllm = find<IDeployment>(r.objects, 'Deployment', 'vllm');
      const pod = vllm.spec?.template.spec;
      const container = pod?.containers[0];
      if (!container) throw new Error('no vLLM container');
      expect(pod?.nodeSelector).toHaveProperty(['nvidia.com/gpu.present']);
      expect(pod?.tolerations?.[0]).toMatchObject({ key: 'nvidia.com/gpu', effect: 'NoSchedule' });
      expect(container.resources?.limits?.['nvidia.com/gpu']).toBe('1');
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
        expect(probe?.httpGet?.path).toBe('/health');
      const models = pod?.volumes?.find((v) => v.persistentVolumeClaim);
      find(r.objects, 'PersistentVolumeClaim', models?.persistentVolumeClaim?.claimName ?? '');

      // Every $(VAR) in the flags is defined, or the kubelet would pass it on literally.
      const env = containerEnvironment(r, container);
      const flags = (container.args ?? []).map((arg) => arg.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `<${v} undefined>`));
      expect(flags.join(' ')).not.toContain('undefined>');
      const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
      expect(QUANTIZATIONS).toContain(flag('quantization'));
      expect(Number(flag('max-model-len'))).toBeGreaterThan(0);
      expect(Number(flag('gpu-memory-utilization'))).toBeLessThanOrEqual(0.95);
      expect(flags).toContain('--enable-prefix-caching');
      // `vllm serve` takes the model as its first argument, and refuses --model.
      expect(flags[0]).toBe(env.MODEL_NAME);
      expect(flag('model')).toBeUndefined();

      const [api] = axonTemplates(r.objects);
      if (!api) throw new Error('no API');
      const { config } = loadContainerConfig(r, api.template, api.container);
      const connection = config.connections.find((c) => c.name === 'vllm');
      if (!connection) throw new Error('no vllm connection');
      const service = find<IService>(r.objects, 'Service', 'vllm');
      const url = new URL(connection.baseURL);
      expect([url.hostname, Number(url.port), url.pathname]).toEqual([service.metadata?.name, service.spec?.ports?.[0]?.port, '/v1']);
      expect(matches(service.spec?.selector, vllm.spec?.template.metadata?.labels)).toBe(true);
      expect(connection.models?.map((m) => m.id)).toEqual([flag('served-model-name')]);
      expect(connection.models?.[0]?.capabilities?.contextWindow).toBe(Number(flag('max-model-len')));
      expect(config.defaultModel).toBe(`vllm/${flag('served-model-name')}`);
      // Axon sends the bearer token vLLM checks.
      expect(config.secrets?.[connection.apiKeyEnv ?? '']).toBe(env.VLLM_API_KEY);
    });
  }

  it('keeps its config file equal to the base file but for the connection and the default model', () => {
    const base = parseYaml(readFileSync(join(KUBERNETES, 'base', 'axon.config.yaml'), 'utf8')) as Record<string, unknown>;
    const { connections, defaultModel, ...rest } = parseYaml(readFileSync(join(COMPONENTS, 'vllm', 'axon.config.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(connections).toBeDefined();
    expect(defaultModel).toBeDefined();
    expect(rest).toEqual(base);
  });
});

describe('the endpoints the manifests name', () => {
  let server: TestServer;
  const metricsToken = 'metrics-token-for-the-deploy-test';

  beforeAll(async () => {
    // Imported here so that the manifests' own checks run even while the server does not build.
    const { startTestServer } = await import('../../server/src/testing/test-server');
    server = await startTestServer({ env: { AXON_METRICS_TOKEN: metricsToken } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answer the API's probes with 200", async () => {
    const paths = new Set<string>();
    for (const r of allRenderings())
      for (const { container } of axonTemplates(r.objects))
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
          if (probe?.httpGet?.path) paths.add(probe.httpGet.path);
    expect([...paths].sort()).toEqual(['/healthz', '/readyz']);
    for (const path of paths) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
  });

  it('serve the ServiceMonitor /metrics with the bearer token, holding the metric KEDA scales on', async () => {
    const monitor = find<IServiceMonitor>(rendering('bundled').objects, 'ServiceMonitor', 'axon');
    const endpoint = monitor.spec.endpoints?.[0];
    expect(endpoint?.authorization?.type).toBe('Bearer');
    // The Secret key the ServiceMonitor reads is the variable Axon takes the token from.
    expect(ENV_SETTINGS[endpoint?.authorization?.credentials?.key ?? '']).toBe('metricsToken');
    expect((await fetch(`${server.url}${endpoint?.path}`)).status).toBe(401);
    const response = await fetch(`${server.url}${endpoint?.path}`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(response.status).toBe(200);
    const metrics = await response.text();
    const query = find<IScaledObject>(rendering('external+keda').objects, 'ScaledObject', 'axon-api').spec.triggers[0]?.metadata.query;
    const names = [...(query ?? '').matchAll(/\b(axon_[a-z_]+)\b/g)].map((m) => m[1]);
    expect(names).toEqual(['axon_active_streams']);
    for (const metric of names) expect(metrics).toMatch(new RegExp(`^# TYPE ${metric} gauge$`, 'm'));
  });
});
