{{/*
The SparkApplication one workflow step creates for one stage, or for the tables' upkeep. Rendered
into the step's resource manifest, so Argo placeholders are escaped for Helm. Called with
(dict "root" $ "stage" <an entry of breweries.stages>), or with (dict "root" $) for the maintenance
CronWorkflow's application: `breweries maintain` on the base image, with maintenance's resources.
*/}}
{{- define "breweries.sparkApplication" -}}
{{- $root := .root -}}
{{- $stage := .stage -}}
{{- $component := "maintenance" -}}
{{- $imageComponent := "base" -}}
{{- $identity := "maintain" -}}
{{- $resources := $root.Values.maintenance -}}
{{- with $stage -}}
{{- $component = .component -}}
{{- $imageComponent = .component -}}
{{- $identity = .component -}}
{{- $resources = index $root.Values.stages .name -}}
{{- end -}}
{{- $credentials := dict "root" $root "identity" $identity -}}
{{- $serviceAccount := include "breweries.sparkServiceAccount" $root -}}
{{- if $root.Values.irsa.enabled -}}
{{- $serviceAccount = include "breweries.identityServiceAccount" $credentials -}}
{{- end -}}
{{- $endpoint := include "breweries.s3Endpoint" $root -}}
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  # generateName: a retried step creates a new application instead of colliding with the old one.
  generateName: {{ printf "%s-%s-" (include "breweries.fullname" $root) $component }}
  labels:
    {{- include "breweries.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
    app.kubernetes.io/part-of: breweries
    app.kubernetes.io/component: {{ $component }}
    # Created by the workflow at run time, not by Helm.
    app.kubernetes.io/managed-by: argo-workflows
    {{- if $stage }}
    breweries/run-date: {{ `"{{inputs.parameters.run-date}}"` }}
    {{- end }}
    workflows.argoproj.io/workflow: {{ `"{{workflow.name}}"` }}
spec:
  type: Python
  pythonVersion: "3"
  mode: cluster
  image: {{ include "breweries.image" (dict "root" $root "component" $imageComponent) }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  {{- with $root.Values.image.pullSecrets }}
  # The operator takes Secret names here, not {name: ...} objects.
  imagePullSecrets:
    {{- range . }}
    - {{ .name }}
    {{- end }}
  {{- end }}
  {{- if $stage }}
  mainApplicationFile: local:///opt/breweries/run_stage.py
  arguments:
    - {{ `"--date={{inputs.parameters.run-date}}"` }}
    - {{ `"--force={{inputs.parameters.force}}"` }}
  {{- else }}
  # The package's command line as a script (the base image has no stage entry point): `breweries maintain`.
  mainApplicationFile: local:///opt/breweries/package/breweries/cli.py
  arguments:
    - maintain
  {{- end }}
  sparkVersion: {{ $root.Values.spark.version | quote }}
  # Argo's retryStrategy owns retries; an operator restart on top would multiply them.
  restartPolicy:
    type: Never
  timeToLiveSeconds: {{ $root.Values.spark.timeToLiveSeconds }}
  sparkConf:
    spark.sql.session.timeZone: UTC
    spark.sql.sources.commitProtocolClass: org.apache.spark.internal.io.cloud.PathOutputCommitProtocol
    spark.sql.parquet.output.committer.class: org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter
    {{- /* breweries.spark's PARALLEL_GC and QUICK_JIT: why, there. */}}
    {{- if not (hasKey $root.Values.spark.extraConf "spark.driver.extraJavaOptions") }}
    spark.driver.extraJavaOptions: "-XX:+UseParallelGC -XX:TieredStopAtLevel=1"
    {{- end }}
    {{- if not (hasKey $root.Values.spark.extraConf "spark.executor.extraJavaOptions") }}
    spark.executor.extraJavaOptions: "-XX:+UseParallelGC"
    {{- end }}
    {{- range $key, $value := $root.Values.spark.extraConf }}
    {{ $key }}: {{ $value | quote }}
    {{- end }}
  # The S3A settings of breweries/s3a.py, which local Spark applies too (tests/chart checks they agree).
  hadoopConf:
    {{- if $endpoint }}
    fs.s3a.endpoint: {{ $endpoint | quote }}
    fs.s3a.connection.ssl.enabled: {{ hasPrefix "https://" $endpoint | quote }}
    {{- end }}
    fs.s3a.endpoint.region: {{ $root.Values.storage.region | quote }}
    fs.s3a.path.style.access: {{ $root.Values.storage.pathStyleAccess | quote }}
    fs.s3a.committer.name: {{ $root.Values.spark.committer | quote }}
    # Credentials come from the environment (the identity's Secret) or, with IRSA, from the pod's
    # web identity token: never from this manifest.
    {{- if $root.Values.irsa.enabled }}
    fs.s3a.aws.credentials.provider: software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider
    {{- else }}
    fs.s3a.aws.credentials.provider: software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider
    {{- end }}
  # Resources are Spark settings; everything else a driver or executor pod needs (its environment,
  # secrets, security contexts, writable mounts) is in Spark's pod template, which spark-submit
  # applies itself: nothing here depends on the operator's mutating webhook.
  driver:
    cores: {{ $resources.driver.cores }}
    {{- with $resources.driver.coreRequest }}
    coreRequest: {{ . | quote }}
    {{- end }}
    coreLimit: {{ $resources.driver.cores | quote }}
    memory: {{ $resources.driver.memory | quote }}
    serviceAccount: {{ $serviceAccount }}
    labels:
      {{- include "breweries.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $component }}
    template:
      {{- $env := include "breweries.driverEnv" (dict "root" $root "stage" $stage "credentials" $credentials) }}
      {{- include "breweries.sparkPodTemplate" (dict "root" $root "container" "spark-kubernetes-driver" "env" $env) | nindent 6 }}
  executor:
    instances: {{ $resources.executor.instances }}
    cores: {{ $resources.executor.cores }}
    {{- with $resources.executor.coreRequest }}
    coreRequest: {{ . | quote }}
    {{- end }}
    coreLimit: {{ $resources.executor.cores | quote }}
    memory: {{ $resources.executor.memory | quote }}
    {{- if $root.Values.irsa.enabled }}
    # The identity's role reaches executors through their ServiceAccount too: they read and write the data.
    serviceAccount: {{ $serviceAccount }}
    {{- end }}
    labels:
      {{- include "breweries.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $component }}
    template:
      {{- include "breweries.sparkPodTemplate" (dict "root" $root "container" "spark-kubernetes-executor" "env" (include "breweries.s3CredentialsEnv" $credentials)) | nindent 6 }}
{{- end -}}

{{/*
A driver's environment: which stage (or, without one, the maintenance's retention), the pipeline's
settings, the tables' catalog, its secrets.
*/}}
{{- define "breweries.driverEnv" -}}
{{- $root := .root -}}
{{- if .stage -}}
- name: BREWERIES_STAGE
  value: {{ .stage.name }}
{{- else -}}
- name: BREWERIES_SNAPSHOT_RETENTION_DAYS
  value: {{ $root.Values.maintenance.snapshotRetentionDays | quote }}
{{- end }}
# The SparkApplication this driver belongs to, from the label the operator gives its pods: a
# driver that fails for good tells the workflow's retry rule through it (breweries.cluster).
- name: BREWERIES_SPARK_APPLICATION
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['sparkoperator.k8s.io/app-name']
- name: BREWERIES_SPARK_EXECUTOR_WAIT_SECONDS
  value: {{ $root.Values.spark.executorWaitSeconds | quote }}
# In the Spark application's name, which the History Server lists (breweries.runner.application_name).
- name: BREWERIES_WORKFLOW_NAME
  value: {{ `"{{workflow.name}}"` }}
{{ include "breweries.pipelineEnv" $root }}
{{ include "breweries.catalogEnv" $root }}
{{ include "breweries.s3CredentialsEnv" .credentials }}
{{- if .stage }}
# The workflow's parameter, whose default is spark.executorsAbove: the driver reads the date's
# bronze size and runs Spark in itself below it (breweries.runner.spark_in_driver).
- name: BREWERIES_SPARK_EXECUTORS_ABOVE
  value: {{ `"{{inputs.parameters.spark-executors-above}}"` }}
{{- with $root.Values.pipeline.lineageUrl }}
# Each stage run's OpenLineage events, under the workflow's run as their parent (breweries.lineage).
- name: BREWERIES_LINEAGE_URL
  value: {{ . | quote }}
- name: BREWERIES_LINEAGE_PARENT_RUN_ID
  value: {{ `"{{workflow.uid}}"` }}
{{- end }}
{{- if eq .stage.name "silver_anonymized" }}
- name: BREWERIES_PSEUDONYMIZATION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.pseudonymizationKey.name }}
      key: {{ $root.Values.secrets.pseudonymizationKey.key }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Spark's pod template for a driver or an executor: non-root, a read-only root filesystem with the
two folders Spark and Python write to as emptyDirs (/tmp must allow exec: snappy-java loads its
native library from there), and the container's environment.
*/}}
{{- define "breweries.sparkPodTemplate" -}}
spec:
  # No variables for every Service of the namespace: the trino Service's port variables would
  # read as misspelt settings.
  enableServiceLinks: false
  securityContext:
    {{- include "breweries.podSecurityContext" .root | nindent 4 }}
  containers:
    - name: {{ .container }}
      securityContext:
        {{- include "breweries.containerSecurityContext" .root | nindent 8 }}
        readOnlyRootFilesystem: true
      env:
        {{- .env | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: work-dir
          mountPath: /opt/spark/work-dir
  volumes:
    - name: tmp
      emptyDir: {}
    - name: work-dir
      emptyDir: {}
{{- end -}}
