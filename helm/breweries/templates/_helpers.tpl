{{/* Names, labels and the pieces every template shares. */}}

{{- define "breweries.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name prefix, at most 20 characters: SparkApplication and pod names derive from it. */}}
{{- define "breweries.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 20 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 20 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 20 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "breweries.selectorLabels" -}}
app.kubernetes.io/name: {{ include "breweries.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "breweries.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "breweries.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: breweries
{{- end -}}

{{- define "breweries.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* The image of one stage ("bronze", "silver-anonymized", ...) or of "base". */}}
{{- define "breweries.image" -}}
{{- printf "%s-%s:%s" .root.Values.image.repository .component (include "breweries.imageTag" .root) -}}
{{- end -}}

{{- define "breweries.workflowServiceAccount" -}}
{{- default (printf "%s-workflow" (include "breweries.fullname" .)) .Values.serviceAccounts.workflow.name -}}
{{- end -}}

{{- define "breweries.sparkServiceAccount" -}}
{{- default (printf "%s-spark" (include "breweries.fullname" .)) .Values.serviceAccounts.spark.name -}}
{{- end -}}

{{/*
The API the bronze stage crawls: the chart's replay when it runs one, else pipeline.apiUrl (empty:
none is rendered, and the stages crawl the public API, breweries.settings.DEFAULT_API_URL). Both at
once is refused: the replay would win without a word, and a chart pointed at an API would crawl
the bundled snapshot instead.
*/}}
{{- define "breweries.apiUrl" -}}
{{- if .Values.apiReplay.enabled -}}
{{- with .Values.pipeline.apiUrl -}}
{{- fail (printf "pipeline.apiUrl is %s while apiReplay.enabled is true: the stages would crawl the chart's API replay, not %s. To crawl that API, set apiReplay.enabled=false; to crawl the replay, leave pipeline.apiUrl empty (--set pipeline.apiUrl=)" . .) -}}
{{- end -}}
{{- printf "http://%s-api-replay:8080/v1" (include "breweries.fullname" .) -}}
{{- else -}}
{{- .Values.pipeline.apiUrl -}}
{{- end -}}
{{- end -}}

{{- define "breweries.minioEndpoint" -}}
{{- printf "http://%s-minio:9000" (include "breweries.fullname" .) -}}
{{- end -}}

{{/* The object store endpoint the stages use: the configured one, or the chart's MinIO. */}}
{{- define "breweries.s3Endpoint" -}}
{{- if .Values.storage.endpoint -}}
{{- .Values.storage.endpoint -}}
{{- else if .Values.minio.enabled -}}
{{- include "breweries.minioEndpoint" . -}}
{{- end -}}
{{- end -}}

{{- define "breweries.postgresqlName" -}}
{{- printf "%s-postgresql" (include "breweries.fullname" .) -}}
{{- end -}}

{{/* The tables' catalog, a JDBC URL: catalog.uri, or the chart's PostgreSQL (the schema allows exactly one). */}}
{{- define "breweries.catalogUri" -}}
{{- if .Values.catalog.uri -}}
{{- .Values.catalog.uri -}}
{{- else if .Values.catalog.postgresql.enabled -}}
{{- printf "jdbc:postgresql://%s:5432/%s" (include "breweries.postgresqlName" .) .Values.catalog.postgresql.database -}}
{{- end -}}
{{- end -}}

{{/* Where a stage's driver finds the catalog, and its credentials from the existing Secret, never inline. */}}
{{- define "breweries.catalogEnv" -}}
- name: BREWERIES_CATALOG_URI
  value: {{ include "breweries.catalogUri" . | quote }}
- name: BREWERIES_CATALOG_USER
  valueFrom:
    secretKeyRef:
      name: {{ .Values.catalog.credentials.secretName }}
      key: {{ .Values.catalog.credentials.userKey }}
- name: BREWERIES_CATALOG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.catalog.credentials.secretName }}
      key: {{ .Values.catalog.credentials.passwordKey }}
{{- end -}}

{{/*
The pipeline's stages in run order, each with the stages whose output it reads
(breweries.pipeline.STAGES and their `upstream`; tests/chart checks that they agree): the name is
the CLI's and the key in values.stages, the component names images, workflow tasks and objects,
which Kubernetes allows no underscore in. Quality runs before silver anonymized and gold: nothing
is published from silver before the gate passes. Gold reads anonymized silver, not silver, so that
its credential never reads the raw names and phones (breweries.access): the two cannot run at once.
*/}}
{{- define "breweries.stages" -}}
- {name: bronze, component: bronze, upstream: []}
- {name: silver, component: silver, upstream: [bronze]}
- {name: quality, component: quality, upstream: [bronze, silver]}
- {name: silver_anonymized, component: silver-anonymized, upstream: [quality]}
- {name: gold, component: gold, upstream: [quality, silver-anonymized]}
{{- end -}}

{{/* Restricted pod security: non-root, no escalation, no capabilities, the runtime's seccomp profile. */}}
{{- define "breweries.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 185
runAsGroup: 185
fsGroup: 185
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "breweries.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 185
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The podSpecPatch of a container or script step: Argo adds an init and a wait container of its own
(argoexec) with no securityContext unless its controller is configured with one, and the restricted
Pod Security Standard refuses a pod whose containers do not drop every capability and forbid
privilege escalation. This gives them the chart's, and no variables for every Service of the
namespace (the trino Service's port variables would read as misspelt settings). Not for resource steps:
Argo locks their containers down itself, and their pods have no wait container (the patch would add one).
*/}}
{{- define "breweries.argoExecutorPodSpecPatch" -}}
{{- $securityContext := include "breweries.containerSecurityContext" . | fromYaml -}}
{{- dict "enableServiceLinks" false "initContainers" (list (dict "name" "init" "securityContext" $securityContext)) "containers" (list (dict "name" "wait" "securityContext" $securityContext)) | toYaml -}}
{{- end -}}

{{/*
The object-store identities (breweries.access.identity_names(); tests/chart checks that they
agree): one per stage, `breweries maintain`, the exit handler, Trino, analysts and the History
Server. Each has a key pair of its own (or, with irsa.enabled, an IAM role) allowed only what its
work needs.
*/}}
{{- define "breweries.identities" -}}
{{- range include "breweries.stages" . | fromYamlArray }}
- {{ .component }}
{{- end }}
{{- range list "maintain" "notify" "trino" "analyst" "history-server" }}
- {{ . }}
{{- end }}
{{- end -}}

{{/* The Secret of one identity's key pair: (dict "root" $ "identity" "silver-anonymized"). */}}
{{- define "breweries.identitySecret" -}}
{{- $trino := "" -}}
{{- with .root.Values.trino }}{{ with .s3Credentials }}{{ $trino = .name }}{{ end }}{{ end -}}
{{- if and (eq .identity "trino") $trino -}}
{{- $trino -}}
{{- else -}}
{{- printf .root.Values.secrets.s3Credentials.identitySecretName .identity -}}
{{- end -}}
{{- end -}}

{{/* With irsa.enabled, the ServiceAccount a stage's or maintain's pods run as, annotated with its role. */}}
{{- define "breweries.identityServiceAccount" -}}
{{- printf "%s-%s" (include "breweries.sparkServiceAccount" .root) .identity | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* MinIO's root key pair: MinIO itself and its set-up Job only. */}}
{{- define "breweries.minioRootEnv" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3Credentials.name }}
      key: {{ .Values.secrets.s3Credentials.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3Credentials.name }}
      key: {{ .Values.secrets.s3Credentials.secretAccessKeyKey }}
{{- end -}}

{{/*
One identity's object-store credential, (dict "root" $ "identity" "gold"): its own Secret, never
inline, or with irsa.enabled nothing (the pod's ServiceAccount carries the role). The keys are
optional, so that a missing Secret or key reaches the stage's own message (breweries.settings,
which names the Secret) instead of leaving the pod unable to start.
*/}}
{{- define "breweries.s3CredentialsEnv" -}}
{{- $root := .root -}}
- name: BREWERIES_S3_IDENTITY
  value: {{ .identity | quote }}
{{- if not $root.Values.irsa.enabled }}
{{- $secret := include "breweries.identitySecret" . }}
- name: BREWERIES_S3_CREDENTIALS_SECRET
  value: {{ $secret | quote }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.s3Credentials.accessKeyIdKey }}
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.s3Credentials.secretAccessKeyKey }}
      optional: true
{{- end }}
- name: AWS_REGION
  value: {{ $root.Values.storage.region | quote }}
- name: AWS_DEFAULT_REGION
  value: {{ $root.Values.storage.region | quote }}
{{- end -}}

{{/* The settings every stage reads (breweries.settings.Settings.from_env). */}}
{{- define "breweries.pipelineEnv" -}}
- name: BREWERIES_LOG_FORMAT
  value: json
{{- with include "breweries.apiUrl" . }}
- name: BREWERIES_API_URL
  value: {{ . | quote }}
{{- end }}
- name: BREWERIES_PAGE_SIZE
  value: {{ .Values.pipeline.pageSize | quote }}
- name: BREWERIES_HTTP_CONCURRENCY
  value: {{ .Values.pipeline.httpConcurrency | quote }}
- name: BREWERIES_RATE_LIMIT_PER_MINUTE
  value: {{ .Values.pipeline.rateLimitPerMinute | quote }}
- name: BREWERIES_PSEUDONYMIZE_COLUMNS
  value: {{ join "," .Values.pipeline.pseudonymizeColumns | quote }}
- name: BREWERIES_STORAGE_ROOT
  value: {{ printf "s3a://%s" .Values.storage.buckets.state | quote }}
- name: BREWERIES_BRONZE_URI
  value: {{ printf "s3a://%s" .Values.storage.buckets.bronze | quote }}
- name: BREWERIES_SILVER_URI
  value: {{ printf "s3a://%s" .Values.storage.buckets.silver | quote }}
- name: BREWERIES_SILVER_ANONYMIZED_URI
  value: {{ printf "s3a://%s" .Values.storage.buckets.silver_anonymized | quote }}
- name: BREWERIES_GOLD_URI
  value: {{ printf "s3a://%s" .Values.storage.buckets.gold | quote }}
{{ include "breweries.eventLogEnv" . }}
{{ include "breweries.objectStoreEnv" . }}
# The driver applies its S3A settings itself, over spark-submit's: it must know the committer too.
- name: BREWERIES_SPARK_COMMITTER
  value: {{ .Values.spark.committer | quote }}
{{- end -}}


{{/* Where the object store is (breweries.settings), for every process that talks to it. */}}
{{- define "breweries.objectStoreEnv" -}}
{{- with include "breweries.s3Endpoint" . }}
- name: BREWERIES_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: BREWERIES_S3_REGION
  value: {{ .Values.storage.region | quote }}
- name: BREWERIES_S3_PATH_STYLE_ACCESS
  value: {{ .Values.storage.pathStyleAccess | quote }}
{{- end -}}

{{/* Where Spark's event logs are: the stages write theirs there, the History Server reads them. */}}
{{- define "breweries.eventLogEnv" -}}
{{- with .Values.storage.buckets.spark_events }}
- name: BREWERIES_SPARK_EVENT_LOG_URI
  value: {{ printf "s3a://%s" . | quote }}
{{- end }}
{{- end -}}
