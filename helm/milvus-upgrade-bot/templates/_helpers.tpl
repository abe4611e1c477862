{{/* Names and labels. */}}
{{- define "mub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mub.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mub.labels" -}}
helm.sh/chart: {{ include "mub.chart" . }}
{{ include "mub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The ServiceAccount that runs upgrades (the single Deployment, or the worker when split). */}}
{{- define "mub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mub.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Split mode: the bot's own, read-only ServiceAccount. */}}
{{- define "mub.botServiceAccountName" -}}
{{- printf "%s-bot" (include "mub.serviceAccountName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped objects are shared by every release in the cluster: the namespace is in the name. */}}
{{- define "mub.clusterRoleName" -}}
{{- printf "%s-%s" .Release.Namespace (include "mub.fullname" .) -}}
{{- end -}}

{{/* JSON list of the managed namespaces (default: the release's namespace). */}}
{{- define "mub.managedNamespaces" -}}
{{- $list := .Values.managedNamespaces | default (list .Release.Namespace) -}}
{{- if and (has .Release.Namespace $list) (not .Values.allowOwnNamespace) -}}
{{- fail (printf "managedNamespaces: name the namespaces of your Milvus releases (e.g. --set managedNamespaces={milvus}); the bot's own namespace %s is managed only with allowOwnNamespace=true, because the worker can then read every Secret there, the bot's Slack credentials included" .Release.Namespace) -}}
{{- end -}}
{{- toJson (uniq $list) -}}
{{- end -}}

{{- define "mub.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "mub.sealSecretName" -}}
{{- default (printf "%s-approval-seal" (include "mub.fullname" .) | trunc 63 | trimSuffix "-") .Values.approvalSeal.existingSecret -}}
{{- end -}}

{{/*
A generated secret value, base64: the one already in the cluster when there is one (so an
upgrade keeps it), else a new random one. . = dict "root" $ "name" <Secret> "key" <key>.
*/}}
{{- define "mub.keptSecretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 48 | b64enc -}}
{{- end -}}
{{- end -}}

{{- define "mub.redisName" -}}
{{- printf "%s-redis" (include "mub.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The Deployments: one playing both roles, or one per role (split). Each entry: suffix, roles,
component label, replicas, resources, ServiceAccount.
*/}}
{{- define "mub.instances" -}}
{{- $sa := include "mub.serviceAccountName" . -}}
{{- if .Values.split -}}
{{- $bot := dict "suffix" "-bot" "roles" "bot" "component" "bot" "replicas" .Values.bot.replicaCount "resources" (default .Values.resources .Values.bot.resources) "serviceAccount" (include "mub.botServiceAccountName" .) -}}
{{- $worker := dict "suffix" "-worker" "roles" "worker" "component" "worker" "replicas" .Values.worker.replicaCount "resources" (default .Values.resources .Values.worker.resources) "serviceAccount" $sa -}}
{{- toJson (list $bot $worker) -}}
{{- else -}}
{{- toJson (list (dict "suffix" "" "roles" "bot,worker" "component" "all" "replicas" .Values.replicaCount "resources" .Values.resources "serviceAccount" $sa)) -}}
{{- end -}}
{{- end -}}

{{/* The component label of the pods that answer Slack (the Service's selector). */}}
{{- define "mub.botComponent" -}}
{{- if .Values.split }}bot{{ else }}all{{ end -}}
{{- end -}}

{{- define "mub.kubeconfigEnabled" -}}
{{- if or .Values.kubeconfig.existingSecret .Values.kubeconfig.create }}true{{ end -}}
{{- end -}}

{{/* settings.<key> -> environment variable (src/config.ts). */}}
{{- define "mub.settingsEnvNames" -}}
{{- toJson (dict
  "logLevel" "LOG_LEVEL"
  "keyPrefix" "KEY_PREFIX"
  "kubeContext" "KUBE_CONTEXT"
  "milvusChartRepoName" "MILVUS_CHART_REPO_NAME"
  "milvusChartRepoUrl" "MILVUS_CHART_REPO_URL"
  "helmTimeoutSeconds" "HELM_TIMEOUT_SECONDS"
  "rolloutTimeoutSeconds" "ROLLOUT_TIMEOUT_SECONDS"
  "coordinatorMinReadySeconds" "COORDINATOR_MIN_READY_SECONDS"
  "healthSettleSeconds" "HEALTH_SETTLE_SECONDS"
  "dataTimeoutSeconds" "DATA_TIMEOUT_SECONDS"
  "milvusDataChecks" "MILVUS_DATA_CHECKS"
  "milvusAddress" "MILVUS_ADDRESS"
  "milvusAddressByCluster" "MILVUS_ADDRESS_BY_CLUSTER"
  "milvusAddressByRelease" "MILVUS_ADDRESS_BY_RELEASE"
  "milvusCredentialsSecret" "MILVUS_CREDENTIALS_SECRET"
  "milvusTls" "MILVUS_TLS"
  "backupUrl" "BACKUP_URL"
  "backupUrlByCluster" "BACKUP_URL_BY_CLUSTER"
  "backupUrlByRelease" "BACKUP_URL_BY_RELEASE"
  "backupPolicy" "BACKUP_POLICY"
  "backupTimeoutSeconds" "BACKUP_TIMEOUT_SECONDS"
  "pollIntervalMs" "POLL_INTERVAL_MS"
  "migrationImage" "MIGRATION_IMAGE"
  "metaRootPath" "META_ROOT_PATH"
  "migrationStorageClass" "MIGRATION_STORAGE_CLASS"
  "etcdEndpoint" "ETCD_ENDPOINT"
  "sessionWaitSeconds" "SESSION_WAIT_SECONDS"
  "approvalsNeeded" "APPROVALS_NEEDED"
  "rollbackApprovals" "ROLLBACK_APPROVALS"
  "allowSelfApproval" "ALLOW_SELF_APPROVAL"
  "requestTtlMinutes" "REQUEST_TTL_MINUTES"
  "requestRetentionDays" "REQUEST_RETENTION_DAYS"
  "workerConcurrency" "WORKER_CONCURRENCY"
  "jobAttempts" "JOB_ATTEMPTS"
  "jobBackoffMs" "JOB_BACKOFF_MS"
  "jobLockMs" "JOB_LOCK_MS"
  "jobStalledIntervalMs" "JOB_STALLED_INTERVAL_MS"
  "reconcileIntervalSeconds" "RECONCILE_INTERVAL_SECONDS"
  "reconcileGraceSeconds" "RECONCILE_GRACE_SECONDS"
  "hopExpectedMinutes" "HOP_EXPECTED_MINUTES"
  "scheduleRecheckMs" "SCHEDULE_RECHECK_MS"
  "progressRereadMs" "PROGRESS_REREAD_MS"
  "botWorkConcurrency" "BOT_WORK_CONCURRENCY"
  "botWorkDeferMs" "BOT_WORK_DEFER_MS"
  "planTimeoutSeconds" "PLAN_TIMEOUT_SECONDS"
  "planConcurrency" "PLAN_CONCURRENCY"
  "redisCommandTimeoutMs" "REDIS_COMMAND_TIMEOUT_MS"
) -}}
{{- end -}}

{{/* Environment of a bot/worker container; . = dict "root" $ "instance" <entry of mub.instances>. */}}
{{- define "mub.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $isBot := has "bot" (splitList "," .instance.roles) }}
- name: ROLES
  value: {{ .instance.roles | quote }}
- name: PORT
  value: {{ $v.port | int64 | toString | quote }}
- name: SHUTDOWN_GRACE_SECONDS
  value: {{ $v.shutdownGraceSeconds | int64 | toString | quote }}
- name: SLACK_MODE
  value: {{ $v.slack.mode | quote }}
- name: MANAGED_NAMESPACES
  value: {{ include "mub.managedNamespaces" $root | fromJsonArray | join "," | quote }}
{{- if $v.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "mub.redisName" $root }}
      key: password
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379" (include "mub.redisName" $root) | quote }}
{{- else if $v.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.existingSecret }}
      key: {{ $v.redis.existingSecretKey }}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.url, redis.existingSecret or redis.enabled is required" $v.redis.url | quote }}
{{- end }}
- name: APPROVAL_SEAL_KEY_FILE
  value: /etc/milvus-upgrade-bot/seal/key
{{- if include "mub.kubeconfigEnabled" $root }}
- name: KUBECONFIG
  value: /etc/milvus-upgrade-bot/kube/config
{{- end }}
- name: SCHEDULE_CONFIG
  value: /etc/milvus-upgrade-bot/access/access.yaml
{{- if $isBot }}
- name: ACCESS_CONFIG
  value: /etc/milvus-upgrade-bot/access/access.yaml
- name: SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "slack.existingSecret is required for the bot role" $v.slack.existingSecret }}
      key: {{ $v.slack.botTokenKey }}
{{- if eq $v.slack.mode "http" }}
- name: SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $v.slack.existingSecret }}
      key: {{ $v.slack.signingSecretKey }}
{{- else }}
- name: SLACK_APP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $v.slack.existingSecret }}
      key: {{ $v.slack.appTokenKey }}
{{- end }}
{{- end }}
{{- if and $v.dashboard.enabled (has "worker" (splitList "," .instance.roles)) }}
- name: DASHBOARD_PORT
  value: {{ $v.dashboard.port | int64 | toString | quote }}
- name: DASHBOARD_READ_ONLY
  value: {{ $v.dashboard.readOnly | toString | quote }}
- name: DASHBOARD_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "dashboard.existingSecret is required when the dashboard is enabled" $v.dashboard.existingSecret }}
      key: {{ $v.dashboard.tokenKey }}
{{- end }}
{{- if $v.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ $v.slack.apiUrl | quote }}
{{- end }}
{{- $names := include "mub.settingsEnvNames" $root | fromJson }}
{{- range $key := keys $names | sortAlpha }}
{{- $val := get $v.settings $key }}
{{- if not (or (kindIs "invalid" $val) (and (kindIs "string" $val) (eq $val ""))) }}
- name: {{ get $names $key }}
  value: {{ if or (kindIs "float64" $val) (kindIs "int64" $val) (kindIs "int" $val) }}{{ $val | int64 | toString | quote }}{{ else }}{{ $val | toString | quote }}{{ end }}
{{- end }}
{{- end }}
{{- if and $v.backupServers (not $v.settings.backupUrl) }}
# The chart's own milvus-backup servers (backupServers): one per release, in its namespace.
- name: BACKUP_URL
  value: {{ include "mub.backupServerUrlTemplate" $root | quote }}
{{- end }}
# helm writes its repositories and cache here (the root filesystem is read-only).
- name: HELM_CONFIG_HOME
  value: /var/lib/milvus-upgrade-bot/helm/config
- name: HELM_CACHE_HOME
  value: /var/lib/milvus-upgrade-bot/helm/cache
- name: HELM_DATA_HOME
  value: /var/lib/milvus-upgrade-bot/helm/data
- name: HOME
  value: /tmp
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A release's object as the Milvus chart names it: <release>-<name>, or <release> when the release's name holds <name>. . = list release name */}}
{{- define "mub.milvusChartName" -}}
{{- $release := index . 0 -}}
{{- $name := index . 1 -}}
{{- if contains $name $release }}{{ $release }}{{ else }}{{ printf "%s-%s" $release $name }}{{ end -}}
{{- end -}}

{{/* The port of every milvus-backup server (`milvus-backup server --port`) and its Service. */}}
{{- define "mub.backupServerPort" -}}8080{{- end -}}

{{/* BACKUP_URL when backupServers is set and settings.backupUrl is not: their Services. */}}
{{- define "mub.backupServerUrlTemplate" -}}
{{- printf "http://{release}-milvus-backup.{namespace}.svc:%s" (include "mub.backupServerPort" .) -}}
{{- end -}}

{{/*
The milvus-backup servers of `backupServers` (issue 27), each with every default filled in: a
JSON list of dicts (name, release, namespace, image, milvus, etcd, minio). The defaults are the
Service names and ports the Milvus chart renders with its default values, in the release's
namespace.
*/}}
{{- define "mub.backupServers" -}}
{{- $managed := include "mub.managedNamespaces" . | fromJsonArray -}}
{{- $defaults := .Values.backupServerDefaults -}}
{{- $seen := dict -}}
{{- $out := list -}}
{{- range $i, $item := .Values.backupServers -}}
{{- $release := $item.release -}}
{{- $ns := $item.namespace -}}
{{- if not (has $ns $managed) -}}
{{- fail (printf "backupServers[%d]: namespace %s is not one of managedNamespaces (%s); a backup server runs beside a release the bot manages" $i $ns (join ", " $managed)) -}}
{{- end -}}
{{- $key := printf "%s/%s" $ns $release -}}
{{- if hasKey $seen $key -}}
{{- fail (printf "backupServers[%d]: %s is listed twice" $i $key) -}}
{{- end -}}
{{- $_ := set $seen $key true -}}
{{- $m := $item.milvus | default dict -}}
{{- $e := $item.etcd | default dict -}}
{{- $s := $item.minio | default dict -}}
{{- $img := merge (deepCopy ($item.image | default dict)) $defaults.image -}}
{{- $milvusHost := $m.address | default (printf "%s.%s.svc" (include "mub.milvusChartName" (list $release "milvus")) $ns) -}}
{{- $milvus := dict
  "address" $milvusHost
  "port" ($m.port | default 19530 | int)
  "managementAddress" ($m.managementAddress | default (printf "http://%s:9091" $milvusHost))
  "existingSecret" ($m.existingSecret | default "")
  "usernameKey" ($m.usernameKey | default "username")
  "passwordKey" ($m.passwordKey | default "password") -}}
{{- $etcd := dict
  "endpoints" ($e.endpoints | default (printf "%s.%s.svc:2379" (include "mub.milvusChartName" (list $release "etcd")) $ns))
  "rootPath" ($e.rootPath | default "by-dev") -}}
{{- $bucket := $s.bucketName | default "milvus-bucket" -}}
{{- $minio := dict
  "address" ($s.address | default (printf "%s.%s.svc" (include "mub.milvusChartName" (list $release "minio")) $ns))
  "port" ($s.port | default 9000 | int)
  "useSSL" ($s.useSSL | default false)
  "bucketName" $bucket
  "rootPath" ($s.rootPath | default "file")
  "backupBucketName" ($s.backupBucketName | default $bucket)
  "backupRootPath" ($s.backupRootPath | default "backup")
  "existingSecret" ($s.existingSecret | default "")
  "accessKeyKey" ($s.accessKeyKey | default "accesskey")
  "secretKeyKey" ($s.secretKeyKey | default "secretkey") -}}
{{- if eq $minio.backupRootPath $minio.rootPath -}}
{{- fail (printf "backupServers[%d]: minio.backupRootPath must differ from minio.rootPath (%s): backups would be written among Milvus's own files" $i $minio.rootPath) -}}
{{- end -}}
{{- $out = append $out (dict "name" (printf "%s-milvus-backup" $release) "release" $release "namespace" $ns "image" $img "milvus" $milvus "etcd" $etcd "minio" $minio) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* A backup server's image: repository@digest, else repository:tag. . = the server's image dict. */}}
{{- define "mub.backupServerImage" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{/* milvus-backup's backup.yaml for one server (the v0.5 format of configs/backup.yaml); no secret in it. . = a server of mub.backupServers. */}}
{{- define "mub.backupServerConfig" -}}
{{- $m := .milvus -}}
{{- $s := .minio -}}
{{- $config := dict
  "log" (dict "level" "info" "console" true "file" (dict "filename" ""))
  "milvus" (dict "address" $m.address "port" ($m.port | int) "etcd" (dict "endpoints" .etcd.endpoints "rootPath" .etcd.rootPath))
  "minio" (dict
    "storageType" "minio" "address" $s.address "port" ($s.port | int) "useSSL" $s.useSSL
    "bucketName" $s.bucketName "rootPath" $s.rootPath
    "backupStorageType" "minio" "backupBucketName" $s.backupBucketName "backupRootPath" $s.backupRootPath)
  "backup" (dict "gcPause" (dict "enable" true "address" $m.managementAddress)) -}}
{{- toYaml $config -}}
{{- end -}}
