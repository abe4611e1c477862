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

{{- define "milvus.messageQueue" -}}
{{- if and (not .Values.cluster.enabled) .Values.standalone.messageQueue -}}
{{- .Values.standalone.messageQueue -}}
{{- else -}}
{{- .Values.messageQueue | default "pulsar" -}}
{{- end -}}
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
{name, key (values section), coord (bool), recreate (bool, always Recreate), args}.
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
- {name: querynode, key: queryNode, coord: false, args: [milvus, run, querynode]}
{{- end }}
{{- if $v.indexNode.enabled }}
- {name: indexnode, key: indexNode, coord: false, args: [milvus, run, indexnode]}
{{- end }}
{{- if $v.streamingNode.enabled }}
- {name: streamingnode, key: streamingNode, coord: false, args: [milvus, run, streamingnode]}
{{- end }}
{{- else }}
- {name: standalone, key: standalone, coord: false, recreate: true, args: [milvus, run, standalone]}
{{- end }}
{{- end -}}
