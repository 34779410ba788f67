import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { MaintenancePlan } from "../../plan";
import { PART_OF_LABEL } from "@service-dr/dr-data";

export interface MaintenanceModeArgs {
  /** Hosts, names, the message, and whether maintenance is on. */
  readonly plan: MaintenancePlan;
}

/** nginx-unprivileged listens on 8080 (a non-root process cannot bind below 1024). */
const PAGE_PORT = 8080;
/** The nginx user of nginxinc/nginx-unprivileged. */
const NGINX_UID = 101;

/**
 * Maintenance mode as declared state instead of the seed's enable/disable workflows (which fought the app's
 * Terraform with kubectl): a maintenance page that always runs, the service's public Ingress whose backend is
 * either the app or that page, and — while maintenance is on — a temporary Ingress that exposes the app on its
 * own host so it can be validated before the public is let back in.
 *
 * The page runs all the time (two small nginx pods) so that switching is only an Ingress backend change and the
 * page always has ready endpoints before the public Ingress points at it. The app's existing public Ingress is
 * adopted with `adopt.publicIngress` (docs/runbook.md).
 */
export class MaintenanceMode extends pulumi.ComponentResource {
  public readonly page: k8s.apps.v1.Deployment;
  public readonly pageService: k8s.core.v1.Service;
  public readonly publicIngress: k8s.networking.v1.Ingress;
  public readonly temporaryIngress: k8s.networking.v1.Ingress | undefined;
  public readonly temporaryUrl: string | undefined;
  public readonly maintenanceOn: boolean;

  constructor(name: string, args: MaintenanceModeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:MaintenanceMode", name, {}, opts);
    const p = args.plan;
    const { page, service } = declarePage(this, name, p);
    this.page = page;
    this.pageService = service;
    this.publicIngress = declarePublicIngress(this, name, p, [page, service]);
    this.maintenanceOn = p.on;
    if (p.temporaryHost !== undefined) {
      this.temporaryIngress = new k8s.networking.v1.Ingress(
        `${name}-temporary`,
        {
          metadata: { name: p.temporaryIngressName, namespace: p.namespace },
          spec: ingressSpec(p, p.temporaryHost, {
            service: { name: p.app.serviceName, port: { number: p.app.port } },
          }),
        },
        { parent: this },
      );
      this.temporaryUrl = `https://${p.temporaryHost}`;
    }
    this.registerOutputs({ maintenanceOn: this.maintenanceOn, temporaryUrl: this.temporaryUrl });
  }
}

/** The maintenance page: its content, the nginx Deployment serving it, and its Service. */
function declarePage(
  parent: pulumi.Resource,
  name: string,
  p: MaintenancePlan,
): { readonly page: k8s.apps.v1.Deployment; readonly service: k8s.core.v1.Service } {
  const labels = { app: p.pageName, ...PART_OF_LABEL };
  // No fixed name: a ConfigMap is replaced on every data change, and an auto-named one is created before the
  // old one is deleted, while the Deployment's pod template picks up the new name and rolls the page.
  const content = new k8s.core.v1.ConfigMap(
    `${name}-content`,
    {
      metadata: { namespace: p.namespace, labels },
      data: { "maintenance.html": maintenanceHtml(p.message), "default.conf": NGINX_CONF },
    },
    { parent },
  );
  const page = new k8s.apps.v1.Deployment(
    `${name}-page`,
    {
      metadata: { name: p.pageName, namespace: p.namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: pagePodSpec(p.image, content.metadata.name),
        },
      },
    },
    { parent },
  );
  const service = new k8s.core.v1.Service(
    `${name}-page`,
    {
      metadata: { name: p.pageName, namespace: p.namespace, labels },
      spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: PAGE_PORT }] },
    },
    { parent },
  );
  return { page, service };
}

/** The public host's Ingress: to the page while maintenance is on, to the app otherwise. */
function declarePublicIngress(
  parent: pulumi.Resource,
  name: string,
  p: MaintenancePlan,
  page: readonly pulumi.Resource[],
): k8s.networking.v1.Ingress {
  const backend = p.on
    ? { service: { name: p.pageName, port: { number: 80 } } }
    : { service: { name: p.app.serviceName, port: { number: p.app.port } } };
  return new k8s.networking.v1.Ingress(
    `${name}-public`,
    {
      metadata: {
        name: p.publicIngressName,
        namespace: p.namespace,
        annotations: { "service-dr/maintenance": p.on ? "on" : "off" },
      },
      spec: ingressSpec(p, p.publicHost, backend),
    },
    // The page must be serving before the public host is pointed at it. adopt.publicIngress takes over the
    // app's existing Ingress instead of creating a second one for the same host.
    {
      parent,
      dependsOn: [...page],
      ...(p.publicIngressImportId === undefined ? {} : { import: p.publicIngressImportId }),
    },
  );
}

/** The page's pod: nginx-unprivileged serving the ConfigMap's page and config, locked down. */
function pagePodSpec(image: string, contentName: pulumi.Input<string>): k8s.types.input.core.v1.PodSpec {
  return {
    // The page never calls the Kubernetes API.
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: NGINX_UID,
      runAsGroup: NGINX_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: "page",
        image,
        ports: [{ containerPort: PAGE_PORT, name: "http" }],
        readinessProbe: { httpGet: { path: "/healthz", port: PAGE_PORT } },
        resources: {
          requests: { cpu: "10m", memory: "16Mi" },
          limits: { cpu: "100m", memory: "64Mi" },
        },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: NGINX_UID,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        volumeMounts: [
          // nginx-unprivileged keeps its pid file and request temp files in /tmp.
          { name: "tmp", mountPath: "/tmp" },
          { name: "content", mountPath: "/etc/nginx/conf.d/default.conf", subPath: "default.conf" },
          {
            name: "content",
            mountPath: "/usr/share/nginx/html/maintenance.html",
            subPath: "maintenance.html",
          },
        ],
      },
    ],
    volumes: [
      { name: "content", configMap: { name: contentName } },
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ],
  };
}

type Backend = { service: { name: string; port: { number: number } } };

function ingressSpec(
  p: MaintenancePlan,
  host: string,
  backend: Backend,
): k8s.types.input.networking.v1.IngressSpec {
  return {
    ingressClassName: p.ingressClassName,
    rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }],
    ...(p.tlsSecretName === undefined ? {} : { tls: [{ hosts: [host], secretName: p.tlsSecretName }] }),
  };
}

/** Every request gets 503 + Retry-After with the page, so crawlers and monitors see an outage, not content. */
const NGINX_CONF = `server {
  listen ${PAGE_PORT};
  root /usr/share/nginx/html;
  location = /healthz { access_log off; return 200 "ok\\n"; }
  error_page 503 /maintenance.html;
  location = /maintenance.html { internal; add_header Retry-After 600 always; }
  location / { return 503; }
}
`;

export function maintenanceHtml(message: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Service unavailable</title></head>
<body><main><h1>Sorry, the service is unavailable</h1><p>${escapeHtml(message)}</p></main></body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
