// Names a person reads for the API's identifiers.

/** Recommendation types, as a short label. */
export const TYPE_LABELS: Record<string, string> = {
  ZOMBIE_POD: 'Idle workload',
  RIGHTSIZING_CPU: 'CPU rightsizing',
  RIGHTSIZING_MEMORY: 'Memory rightsizing',
  AUTOSCALING_CANDIDATE: 'Autoscaling',
  OFF_PEAK_SCALING: 'Off-peak scaling',
  IDLE_NAMESPACE: 'Idle namespace',
  CARBON_AWARE_SCHEDULING: 'Carbon-aware scheduling',
  OVERPROVISIONED_NODE: 'Overprovisioned node',
  UNDERUTILIZED_NODE: 'Underutilized node',
  REGION_SHIFT: 'Region shift',
  INSTANCE_FAMILY: 'Instance family',
  NODE_CONSOLIDATION: 'Node consolidation',
};

/** The label of a recommendation type. */
export function typeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type.toLowerCase().replace(/_/g, ' ');
}

/** Score dimensions: a name and what it measures. */
export const DIMENSIONS: Record<string, [string, string]> = {
  resource_efficiency: ['Resource efficiency', 'how much of what pods request they use'],
  carbon_efficiency: ['Carbon efficiency', 'how clean the electricity is, data-centre overhead included'],
  waste_elimination: ['Waste', 'idle workloads and namespaces that still cost'],
  node_efficiency: ['Node utilisation', 'how busy the nodes are'],
  scaling_practices: ['Scaling', 'workloads that should autoscale or scale down off-peak'],
  carbon_aware_scheduling: ['Carbon-aware scheduling', 'workloads running when the grid is dirtier than usual'],
  stability: ['Stability', 'container restarts'],
};

/** A word for a score out of 100. */
export function rating(score: number): { word: string; tone: string } {
  if (score >= 80) return { word: 'good', tone: 'good' };
  if (score >= 60) return { word: 'fair', tone: 'fair' };
  return { word: 'needs work', tone: 'poor' };
}

/** Source names of `/health/services`. */
export const SOURCE_LABELS: Record<string, [string, string]> = {
  prometheus: ['Prometheus', 'CPU and memory use of pods'],
  kubernetes: ['Kubernetes API', 'nodes, pods, owners and requests'],
  opencost: ['OpenCost', 'cost of each pod'],
  electricity_maps: ['Electricity Maps', 'live grid carbon intensity'],
  boavizta: ['Boavizta', 'embodied emissions of the hardware'],
};

/** Status words of a source. */
export const STATUS_LABELS: Record<string, string> = {
  healthy: 'Healthy',
  degraded: 'Degraded',
  unreachable: 'Unreachable',
  unconfigured: 'Not configured',
};
