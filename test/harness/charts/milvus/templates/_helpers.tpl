{{/* Fixture chart helpers: same naming and label rules as the real milvus chart. */}}

{{- define "milvus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* fullname: fullnameOverride, else <release> when it contains the chart name, else <release>-milvus */}}
{{- define "milvus.fullname" -}}
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

{{- define "milvus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "milvus.matchLabels" -}}
app.kubernetes.io/name: {{ include "milvus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "milvus.labels" -}}
helm.sh/chart: {{ include "milvus.chart" . }}
{{ include "milvus.matchLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "milvus.ud.labels" -}}
{{- if .Values.labels }}
{{- toYaml .Values.labels }}
{{- end -}}
{{- end -}}

{{- define "milvus.image" -}}
{{- $tag := .Values.image.all.tag | default (printf "v%s" .Chart.AppVersion) -}}
{{- printf "%s:%s" .Values.image.all.repository $tag -}}
{{- end -}}

{{/*
The message queue the ConfigMap names, with the real config template's precedence (4.2.58
config.tpl): externalPulsar > pulsar (v2 values key) > woodpecker > pulsarv3; then externalKafka >
kafka (their block comes later, so it wins); in standalone mode rocksmq/natsmq/woodpecker
(standalone.messageQueue, through milvus.standalone.messageQueue) last of all. Note: it follows
the VALUES, not what renders (4.2.21-4.2.29 name pulsar with no Pulsar rendered). Empty when
nothing is enabled.
*/}}
{{- define "milvus.messageQueue" -}}
{{- $v := .Values -}}
{{- $mq := "" -}}
{{- if $v.externalPulsar.enabled -}}{{- $mq = "pulsar" -}}
{{- else if $v.pulsar.enabled -}}{{- $mq = "pulsar" -}}
{{- else if $v.woodpecker.enabled -}}{{- $mq = "woodpecker" -}}
{{- else if $v.pulsarv3.enabled -}}{{- $mq = "pulsar" -}}
{{- end -}}
{{- if or $v.externalKafka.enabled $v.kafka.enabled -}}{{- $mq = "kafka" -}}{{- end -}}
{{- if not $v.cluster.enabled -}}
{{- if has $v.standalone.messageQueue (list "rocksmq" "natsmq" "woodpecker") -}}{{- $mq = include "milvus.standalone.messageQueue" . -}}{{- end -}}
{{- end -}}
{{- $mq -}}
{{- end -}}

{{/*
The standalone's queue. Charts up to 4.2.x: standalone.messageQueue as given. Charts 5.x
(fixture.standaloneQueueLookup), as the real 5.0.0 "milvus.standalone.messageQueue": a value
other than the default woodpecker, or the first revision, is taken as given; otherwise the
running standalone Deployment is looked up, and the queue its milvus.io/message-queue annotation
names is kept, "rocksmq" when it has none (a release from a 4.x chart). helm's lookup returns
nothing without a cluster (helm template, client dry-run): then it says woodpecker.
*/}}
{{- define "milvus.standalone.messageQueue" -}}
{{- $input := .Values.standalone.messageQueue -}}
{{- if or (not .Values.fixture.standaloneQueueLookup) (ne "woodpecker" $input) (eq (int .Release.Revision) 1) -}}
{{- $input -}}
{{- else -}}
{{- $deploy := lookup "apps/v1" "Deployment" .Release.Namespace (printf "%s-standalone" (include "milvus.fullname" .)) -}}
{{- if not $deploy -}}
{{- $input -}}
{{- else -}}
{{- $annotations := $deploy.metadata.annotations | default dict -}}
{{- get $annotations "milvus.io/message-queue" | default "rocksmq" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Address of the queue service named in the ConfigMap (as the real config template writes it). */}}
{{- define "milvus.pulsarAddress" -}}
{{- if .Values.externalPulsar.enabled -}}{{ .Values.externalPulsar.host }}{{- else -}}
{{- $name := ternary .Values.pulsar.name .Values.pulsarv3.name .Values.pulsar.enabled -}}
{{- if contains $name .Release.Name -}}{{ .Release.Name }}-proxy{{- else -}}{{ .Release.Name }}-{{ $name }}-proxy{{- end -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap the pods mount: customConfigMap when set, else <fullname>. */}}
{{- define "milvus.configMapName" -}}
{{- .Values.customConfigMap | default (include "milvus.fullname" .) -}}
{{- end -}}

{{/* etcd subchart-style name: <release>-etcd, or <release> when the release name contains "etcd" */}}
{{- define "milvus.etcd.fullname" -}}
{{- if contains .Values.etcd.name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Values.etcd.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
The Milvus components rendered as Deployments, as a YAML list of
{name, key (values section), coord (bool), recreate (bool, always Recreate), group (resource group, optional), args}.
Coordinators use Recreate unless their activeStandby is enabled; standalone always uses Recreate.
*/}}
{{- define "milvus.components" -}}
{{- $v := .Values -}}
{{- if $v.cluster.enabled }}
{{- if $v.proxy.enabled }}
- {name: proxy, key: proxy, coord: false, args: [milvus, run, proxy]}
{{- end }}
{{- if $v.mixCoordinator.enabled }}
- {name: mixcoord, key: mixCoordinator, coord: true, args: [milvus, run, mixture, -rootcoord, -querycoord, -datacoord, -indexcoord]}
{{- else }}
{{- if $v.rootCoordinator.enabled }}
- {name: rootcoord, key: rootCoordinator, coord: true, args: [milvus, run, rootcoord]}
{{- end }}
{{- if $v.dataCoordinator.enabled }}
- {name: datacoord, key: dataCoordinator, coord: true, args: [milvus, run, datacoord]}
{{- end }}
{{- if $v.queryCoordinator.enabled }}
- {name: querycoord, key: queryCoordinator, coord: true, args: [milvus, run, querycoord]}
{{- end }}
{{- if $v.indexCoordinator.enabled }}
- {name: indexcoord, key: indexCoordinator, coord: true, args: [milvus, run, indexcoord]}
{{- end }}
{{- end }}
{{- if $v.dataNode.enabled }}
- {name: datanode, key: dataNode, coord: false, args: [milvus, run, datanode]}
{{- end }}
{{- if $v.queryNode.enabled }}
{{- if and $v.fixture.resourceGroups $v.replicaResourceGroups }}
{{- range $g := $v.replicaResourceGroups }}
- {name: querynode, key: queryNode, coord: false, group: {{ $g | quote }}, args: [milvus, run, querynode]}
{{- end }}
{{- else }}
- {name: querynode, key: queryNode, coord: false, args: [milvus, run, querynode]}
{{- end }}
{{- end }}
{{- if $v.indexNode.enabled }}
- {name: indexnode, key: indexNode, coord: false, args: [milvus, run, indexnode]}
{{- end }}
{{- if or $v.streamingNode.enabled $v.streaming.enabled }}
{{- if and $v.fixture.resourceGroups $v.replicaResourceGroups }}
{{- range $g := $v.replicaResourceGroups }}
- {name: streamingnode, key: streamingNode, coord: false, group: {{ $g | quote }}, args: [milvus, run, streamingnode]}
{{- end }}
{{- else }}
- {name: streamingnode, key: streamingNode, coord: false, args: [milvus, run, streamingnode]}
{{- end }}
{{- end }}
{{- else }}
- {name: standalone, key: standalone, coord: false, recreate: true, args: [milvus, run, standalone]}
{{- end }}
{{- end -}}

{{/*
Woodpecker (charts with the component, fixture.woodpecker). Names as the real chart's helpers
(milvus.woodpecker.fullname, milvus.woodpecker.headlessServiceName): <fullname>-woodpecker and
<fullname>-woodpecker-headless.
*/}}
{{- define "milvus.woodpecker.fullname" -}}
{{ include "milvus.fullname" . }}-woodpecker
{{- end -}}

{{- define "milvus.woodpecker.headlessServiceName" -}}
{{ include "milvus.woodpecker.fullname" . }}-headless
{{- end -}}

{{/*
"true" when Woodpecker runs as its own service: streaming.woodpecker.embedded is false AND
woodpecker.enabled (the real chart's milvus.woodpecker.external.enabled); else "false". Either
switch alone renders no Woodpecker workload.
*/}}
{{- define "milvus.woodpecker.external.enabled" -}}
{{- if and .Values.fixture.woodpecker (eq .Values.streaming.woodpecker.embedded false) .Values.woodpecker.enabled -}}
true
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/*
The Woodpecker pods' addresses on one port, comma-separated, pod by pod:
<fullname>-woodpecker-<i>.<headless>:<port>. Called with (list $root $port).
*/}}
{{- define "milvus.woodpecker.seeds" -}}
{{- $root := index . 0 -}}
{{- $port := int (index . 1) -}}
{{- $name := include "milvus.woodpecker.fullname" $root -}}
{{- $headless := include "milvus.woodpecker.headlessServiceName" $root -}}
{{- $seeds := list -}}
{{- range $i := until (int $root.Values.woodpecker.replicaCount) -}}
{{- $seeds = append $seeds (printf "%s-%d.%s:%d" $name $i $headless $port) -}}
{{- end -}}
{{- join "," $seeds -}}
{{- end -}}
