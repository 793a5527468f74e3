// Nodes: what the cluster runs on (provider, region, instance type, capacity), now.

import { get, type NodeInfo } from '../api';
import { pageHeader, type Ctx } from '../app';
import { barChart, chartBox, COLORS } from '../charts';
import { card, code, emptyBox, h } from '../dom';
import { bytes, count, num } from '../format';
import { kpi, figure, section, table } from '../widgets';

const PROVIDER_COLORS: Record<string, string> = {
  aws: '#c2410c',
  gcp: '#1d4ed8',
  azure: '#0e7490',
  ovh: '#6d28d9',
  scaleway: '#7c3aed',
};

/** `/nodes`. */
export function nodes(ctx: Ctx): void {
  const slot = h('div', { class: 'slot' });
  ctx.main.append(pageHeader('Nodes', 'The machines the workloads run on, as recorded now.'), slot);
  section(
    ctx,
    slot,
    () => get<NodeInfo[]>('/nodes'),
    (list) => {
      if (list.length === 0) {
        return emptyBox(
          h('p', null, h('strong', null, 'No nodes recorded.')),
          h('p', null, 'Run ', code('greenkube collect'), ' with access to the Kubernetes API to record the nodes (or ', code('greenkube demo'), ' for a demo cluster).'),
        );
      }
      const sorted = [...list].sort(
        (a, b) =>
          (a.cloud_provider ?? '').localeCompare(b.cloud_provider ?? '') ||
          (a.region ?? '').localeCompare(b.region ?? '') ||
          a.name.localeCompare(b.name),
      );
      const cores = list.reduce((sum, n) => sum + (n.cpu_capacity_cores ?? 0), 0);
      const memory = list.reduce((sum, n) => sum + (n.memory_capacity_bytes ?? 0), 0);
      const regions = new Map<string, { provider: string; cores: number; nodes: number }>();
      for (const n of list) {
        const key = `${n.cloud_provider ?? 'unknown'} ${n.region ?? 'unknown region'}`;
        const entry = regions.get(key) ?? { provider: n.cloud_provider ?? 'unknown', cores: 0, nodes: 0 };
        entry.cores += n.cpu_capacity_cores ?? 0;
        entry.nodes += 1;
        regions.set(key, entry);
      }
      const labels = [...regions.keys()].sort((a, b) => (regions.get(b)?.cores ?? 0) - (regions.get(a)?.cores ?? 0));
      const { box, canvas } = chartBox(
        `CPU cores by provider and region: ${labels.map((l) => `${l} ${num(regions.get(l)?.cores ?? 0)}`).join(', ')}`,
        Math.max(140, 32 * labels.length + 60),
        'chart-nodes',
      );
      barChart(
        ctx,
        canvas,
        labels,
        [
          {
            label: 'CPU cores',
            data: labels.map((l) => regions.get(l)?.cores ?? 0),
            backgroundColor: labels.map((l) => PROVIDER_COLORS[regions.get(l)?.provider ?? ''] ?? COLORS.operational),
          },
        ],
        'CPU cores',
        (item) => {
          const entry = regions.get(labels[item.dataIndex]);
          return `${num(entry?.cores ?? 0)} cores on ${count(entry?.nodes ?? 0)} node(s)`;
        },
      );
      const providers = new Set(list.map((n) => n.cloud_provider ?? 'unknown'));
      const clusters = new Set(list.map((n) => n.cluster ?? 'default'));
      return [
        h(
          'div',
          { class: 'kpis' },
          kpi('Nodes', figure(count(list.length), 'node-count'), `in ${count(clusters.size)} cluster${clusters.size === 1 ? '' : 's'}`, 'kpi-nodes', 'kpi-main'),
          kpi('CPU', figure(`${num(cores)} cores`), 'capacity', 'kpi-cpu'),
          kpi('Memory', figure(bytes(memory)), 'capacity', 'kpi-memory'),
          kpi('Providers', figure(count(providers.size)), [...providers].join(', '), 'kpi-providers'),
        ),
        card('CPU capacity by region', { class: 'card card-wide' }, box),
        card(
          'All nodes',
          { class: 'card card-wide' },
          table(
            'Nodes',
            [
              { label: 'Node', cell: (n: NodeInfo) => h('span', { class: 'mono' }, n.name) },
              { label: 'Cluster', cell: (n: NodeInfo) => n.cluster ?? '—' },
              { label: 'Provider', cell: (n: NodeInfo) => n.cloud_provider ?? 'unknown' },
              { label: 'Region', cell: (n: NodeInfo) => n.region ?? '—' },
              { label: 'Zone', cell: (n: NodeInfo) => n.zone ?? '—' },
              { label: 'Instance type', cell: (n: NodeInfo) => n.instance_type ?? '—' },
              { label: 'Arch', cell: (n: NodeInfo) => n.architecture ?? '—' },
              { label: 'Pool', cell: (n: NodeInfo) => n.node_pool ?? '—' },
              { label: 'CPU', numeric: true, cell: (n: NodeInfo) => (n.cpu_capacity_cores === null ? '—' : `${num(n.cpu_capacity_cores)} cores`) },
              { label: 'Memory', numeric: true, cell: (n: NodeInfo) => (n.memory_capacity_bytes === null ? '—' : bytes(n.memory_capacity_bytes)) },
            ],
            sorted,
            'table-nodes',
            (n) => n.name,
          ),
        ),
      ];
    },
    'Loading the nodes',
  );
}
