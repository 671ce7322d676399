{{/*
The SparkApplication one workflow step creates for one stage. Rendered into the step's resource
manifest, so Argo placeholders are escaped for Helm. Called with
(dict "root" $ "stage" <an entry of breweries.stages>).
*/}}
{{- define "breweries.sparkApplication" -}}
{{- $root := .root -}}
{{- $stage := .stage -}}
{{- $resources := index $root.Values.stages $stage.name -}}
{{- $endpoint := include "breweries.s3Endpoint" $root -}}
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  # generateName: a retried step creates a new application instead of colliding with the old one.
  generateName: {{ printf "%s-%s-" (include "breweries.fullname" $root) $stage.component }}
  labels:
    {{- include "breweries.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
    app.kubernetes.io/part-of: breweries
    app.kubernetes.io/component: {{ $stage.component }}
    # Created by the workflow at run time, not by Helm.
    app.kubernetes.io/managed-by: argo-workflows
    breweries/run-date: {{ `"{{inputs.parameters.run-date}}"` }}
    workflows.argoproj.io/workflow: {{ `"{{workflow.name}}"` }}
spec:
  type: Python
  pythonVersion: "3"
  mode: cluster
  image: {{ include "breweries.image" (dict "root" $root "component" $stage.component) }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  {{- with $root.Values.image.pullSecrets }}
  # The operator takes Secret names here, not {name: ...} objects.
  imagePullSecrets:
    {{- range . }}
    - {{ .name }}
    {{- end }}
  {{- end }}
  mainApplicationFile: local:///opt/breweries/run_stage.py
  arguments:
    - {{ `"--date={{inputs.parameters.run-date}}"` }}
    - {{ `"--force={{inputs.parameters.force}}"` }}
  sparkVersion: {{ $root.Values.spark.version | quote }}
  # Argo's retryStrategy owns retries; an operator restart on top would multiply them.
  restartPolicy:
    type: Never
  timeToLiveSeconds: {{ $root.Values.spark.timeToLiveSeconds }}
  sparkConf:
    spark.sql.session.timeZone: UTC
    spark.sql.sources.commitProtocolClass: org.apache.spark.internal.io.cloud.PathOutputCommitProtocol
    spark.sql.parquet.output.committer.class: org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter
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
    # Credentials come from the environment (a Secret), never from this manifest.
    fs.s3a.aws.credentials.provider: software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider
  driver:
    cores: {{ $resources.driver.cores }}
    coreLimit: {{ $resources.driver.cores | quote }}
    memory: {{ $resources.driver.memory | quote }}
    serviceAccount: {{ include "breweries.sparkServiceAccount" $root }}
    labels:
      {{- include "breweries.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $stage.component }}
    podSecurityContext:
      {{- include "breweries.podSecurityContext" $root | nindent 6 }}
    securityContext:
      {{- include "breweries.containerSecurityContext" $root | nindent 6 }}
    env:
      - name: BREWERIES_STAGE
        value: {{ $stage.name }}
      {{- include "breweries.pipelineEnv" $root | nindent 6 }}
      {{- include "breweries.s3CredentialsEnv" $root | nindent 6 }}
      {{- if eq $stage.name "silver_anonymized" }}
      - name: BREWERIES_PSEUDONYMIZATION_KEY
        valueFrom:
          secretKeyRef:
            name: {{ $root.Values.secrets.pseudonymizationKey.name }}
            key: {{ $root.Values.secrets.pseudonymizationKey.key }}
      {{- end }}
  executor:
    instances: {{ $resources.executor.instances }}
    cores: {{ $resources.executor.cores }}
    coreLimit: {{ $resources.executor.cores | quote }}
    memory: {{ $resources.executor.memory | quote }}
    labels:
      {{- include "breweries.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $stage.component }}
    podSecurityContext:
      {{- include "breweries.podSecurityContext" $root | nindent 6 }}
    securityContext:
      {{- include "breweries.containerSecurityContext" $root | nindent 6 }}
    env:
      {{- include "breweries.s3CredentialsEnv" $root | nindent 6 }}
{{- end -}}
