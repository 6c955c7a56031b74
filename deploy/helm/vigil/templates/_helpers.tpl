{{/* Names and labels. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
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

{{/* The headless Service that gives each pod a stable DNS name (pod.<headless>.<ns>.svc). */}}
{{- define "vigil.headlessName" -}}
{{- printf "%s-headless" (include "vigil.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.image" -}}
{{- $flavor := ternary "cuda" "cpu" .Values.gpu.enabled -}}
{{- $tag := default (printf "%s-%s" .Chart.AppVersion $flavor) .Values.image.tag -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* The checkpoint folder inside the pod (model_dir). */}}
{{- define "vigil.modelDir" -}}
{{- if eq .Values.model.source "embedded" -}}
/opt/vigil/models/llava_ov_tiny
{{- else if or (eq .Values.model.source "pvc") (eq .Values.model.source "hostPath") -}}
{{- if .Values.model.path -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.model.mountPath) (trimPrefix "/" .Values.model.path) -}}
{{- else -}}
{{- .Values.model.mountPath -}}
{{- end -}}
{{- else -}}
{{- fail (printf "model.source must be pvc, hostPath or embedded (got %q)" .Values.model.source) -}}
{{- end -}}
{{- end -}}

{{/* device and dtype: config.device/config.dtype, else cuda/bf16 with gpu.enabled, cpu/f32 without. */}}
{{- define "vigil.device" -}}
{{- default (ternary "cuda" "cpu" .Values.gpu.enabled) (get .Values.config "device") -}}
{{- end -}}

{{- define "vigil.dtype" -}}
{{- default (ternary "bf16" "f32" .Values.gpu.enabled) (get .Values.config "dtype") -}}
{{- end -}}

{{/* The Secret holding VIGIL_API_KEYS, or "" when authentication is off. */}}
{{- define "vigil.apiKeysSecretName" -}}
{{- if .Values.apiKeys.existingSecret -}}
{{- .Values.apiKeys.existingSecret -}}
{{- else if .Values.apiKeys.keys -}}
{{- printf "%s-api-keys" (include "vigil.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The config file for `vigil serve --config`: values.config plus the settings the chart owns.
Keys must be those of service/service_config.cpp (vigil refuses an unknown key at start).
*/}}
{{- define "vigil.configJson" -}}
{{- $config := deepCopy .Values.config -}}
{{- range $key := list "host" "port" "data_dir" "model_dir" "model_name" "api_keys" -}}
{{- if hasKey $config $key -}}
{{- fail (printf "config.%s is set by the chart (service.port, persistence.mountPath, model.*, apiKeys.*): remove it from config" $key) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $config "host" "0.0.0.0" -}}
{{- $_ := set $config "port" (int .Values.service.port) -}}
{{- $_ := set $config "data_dir" .Values.persistence.mountPath -}}
{{- $_ := set $config "model_dir" (include "vigil.modelDir" .) -}}
{{- if .Values.model.name -}}
{{- $_ := set $config "model_name" .Values.model.name -}}
{{- end -}}
{{- $_ := set $config "device" (include "vigil.device" .) -}}
{{- $_ := set $config "dtype" (include "vigil.dtype" .) -}}
{{- toPrettyJson $config -}}
{{- end -}}
