{{/* The chart's name. */}}
{{- define "greenkube.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name (names of the objects). */}}
{{- define "greenkube.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "greenkube.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "greenkube.labels" -}}
helm.sh/chart: {{ include "greenkube.chart" . }}
{{ include "greenkube.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the release's pods (add app.kubernetes.io/component for one kind). */}}
{{- define "greenkube.selectorLabels" -}}
app.kubernetes.io/name: {{ include "greenkube.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The component of the pods that serve HTTP: `server` (combined) or `api` (split). */}}
{{- define "greenkube.serverComponent" -}}
{{- if eq .Values.mode "split" }}api{{ else }}server{{ end }}
{{- end }}

{{- define "greenkube.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "greenkube.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Cluster-wide names carry the namespace, so a release of the same name elsewhere does not clash. */}}
{{- define "greenkube.clusterRoleName" -}}
{{- printf "%s-%s" (include "greenkube.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "greenkube.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret the chart creates for values given in clear (store URL, token, API key). */}}
{{- define "greenkube.secretName" -}}
{{- include "greenkube.fullname" . }}
{{- end }}

{{/* Whether the chart creates its Secret: "true" or "". */}}
{{- define "greenkube.createSecret" -}}
{{- $v := .Values -}}
{{- if or (and (ne $v.store.kind "sqlite") (not $v.store.existingSecret) $v.store.url) (and (not $v.electricityMapsToken.existingSecret) $v.electricityMapsToken.value) (and (not $v.apiKey.existingSecret) $v.apiKey.value) }}true{{ end }}
{{- end }}

{{/*
Refuses the combinations that cannot work, with a message saying why. (values.schema.json
refuses them too; this is for `--skip-schema-validation` and for the messages.)
*/}}
{{- define "greenkube.validate" -}}
{{- $v := .Values -}}
{{- if and (eq $v.store.kind "sqlite") (ne $v.mode "combined") }}
{{- fail "store.kind=sqlite needs mode=combined: a SQLite file on a ReadWriteOnce volume has one writer and cannot be shared by a collector and an API in two pods. Use PostgreSQL or Elasticsearch for mode=split." }}
{{- end }}
{{- if and (eq $v.mode "combined") (ne (int $v.api.replicas) 1) }}
{{- fail (printf "api.replicas=%v with mode=combined: the combined pod also collects (and with SQLite owns the database file), so it runs exactly one replica. Use mode=split with PostgreSQL or Elasticsearch to scale the API." $v.api.replicas) }}
{{- end }}
{{- if and (ne $v.store.kind "sqlite") (not $v.store.existingSecret) (not $v.store.url) }}
{{- fail (printf "store.kind=%s needs its URL: store.existingSecret (and store.existingSecretKey) naming a Secret that holds it, or store.url to have the chart create one." $v.store.kind) }}
{{- end }}
{{- end }}

{{/* The store URL: the SQLite file on the volume, else from a Secret. */}}
{{- define "greenkube.storeEnv" -}}
{{- $v := .Values -}}
- name: GREENKUBE_STORE
{{- if eq $v.store.kind "sqlite" }}
  value: {{ printf "sqlite:///var/lib/greenkube/%s" $v.store.sqlite.file | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      {{- if $v.store.existingSecret }}
      name: {{ $v.store.existingSecret | quote }}
      key: {{ $v.store.existingSecretKey | quote }}
      {{- else }}
      name: {{ include "greenkube.secretName" . | quote }}
      key: store-url
      {{- end }}
{{- end }}
{{- end }}

{{/* The environment every greenkube container shares: store, cluster, step, sources. */}}
{{- define "greenkube.commonEnv" -}}
{{- $v := .Values -}}
{{ include "greenkube.storeEnv" . }}
- name: GREENKUBE_STEP
  value: {{ $v.step | quote }}
{{- with $v.cluster }}
- name: GREENKUBE_CLUSTER
  value: {{ . | quote }}
{{- end }}
{{- with $v.sources.prometheusUrl }}
- name: GREENKUBE_PROMETHEUS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.sources.opencostUrl }}
- name: GREENKUBE_OPENCOST_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.sources.boaviztaUrl }}
- name: GREENKUBE_BOAVIZTA_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.sources.electricityMapsUrl }}
- name: GREENKUBE_ELECTRICITY_MAPS_URL
  value: {{ . | quote }}
{{- end }}
{{- if $v.sources.noKubernetes }}
- name: GREENKUBE_NO_KUBERNETES
  value: "true"
{{- end }}
- name: GREENKUBE_SOURCE_TIMEOUT
  value: {{ $v.sources.timeoutSeconds | quote }}
{{- if or $v.electricityMapsToken.existingSecret $v.electricityMapsToken.value }}
- name: GREENKUBE_ELECTRICITY_MAPS_TOKEN
  valueFrom:
    secretKeyRef:
      {{- if $v.electricityMapsToken.existingSecret }}
      name: {{ $v.electricityMapsToken.existingSecret | quote }}
      key: {{ $v.electricityMapsToken.existingSecretKey | quote }}
      {{- else }}
      name: {{ include "greenkube.secretName" . | quote }}
      key: electricity-maps-token
      {{- end }}
{{- end }}
{{- end }}

{{/* The environment of the server (`greenkube serve`). */}}
{{- define "greenkube.serverEnv" -}}
{{- $v := .Values -}}
- name: GREENKUBE_LISTEN
  value: {{ printf "0.0.0.0:%v" $v.api.port | quote }}
- name: GREENKUBE_RATE_LIMIT
  value: {{ $v.api.rateLimit | quote }}
{{- if or $v.api.readOnly (eq $v.mode "split") }}
- name: GREENKUBE_READ_ONLY
  value: "true"
{{- end }}
{{- if $v.api.trustAuthProxy }}
- name: GREENKUBE_TRUST_AUTH_PROXY
  value: "true"
{{- end }}
{{- with $v.api.corsOrigins }}
- name: GREENKUBE_CORS_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
{{- if or $v.apiKey.existingSecret $v.apiKey.value }}
- name: GREENKUBE_API_KEY
  valueFrom:
    secretKeyRef:
      {{- if $v.apiKey.existingSecret }}
      name: {{ $v.apiKey.existingSecret | quote }}
      key: {{ $v.apiKey.existingSecretKey | quote }}
      {{- else }}
      name: {{ include "greenkube.secretName" . | quote }}
      key: api-key
      {{- end }}
{{- end }}
{{- end }}

{{/* The pod-level settings both Deployments share. */}}
{{- define "greenkube.podCommon" -}}
{{- $v := .Values -}}
serviceAccountName: {{ include "greenkube.serviceAccountName" . }}
automountServiceAccountToken: {{ not $v.sources.noKubernetes }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
