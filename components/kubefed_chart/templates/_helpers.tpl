{{/* Labels on every object of the chart. */}}
{{- define "kubefed.labels" -}}
app.kubernetes.io/name: kubefed
app.kubernetes.io/part-of: federated-eks
app.kubernetes.io/component: {{ .Values.phase }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Cluster-wide names get the namespace in Namespaced scope, so that two namespaced control planes coexist. */}}
{{- define "kubefed.clusterSuffix" -}}
{{- if eq .Values.scope "Namespaced" }}:{{ .Release.Namespace }}{{ end }}
{{- end }}

{{- define "kubefed.checkScope" -}}
{{- if not (has .Values.scope (list "Cluster" "Namespaced")) }}
{{- fail (printf "scope must be Cluster or Namespaced, got %q" .Values.scope) }}
{{- end }}
{{- end }}

{{/* A generated file of the chart (written at synth by components/kubefed_control_plane.py). */}}
{{- define "kubefed.generated" -}}
{{- $content := .root.Files.Get .file }}
{{- if not $content }}
{{- fail (printf "%s is missing: the chart is assembled at synth (components/kubefed_control_plane.py)" .file) }}
{{- end }}
{{- $content }}
{{- end }}

{{/* Pod security shared by both Deployments (the image runs as uid 1001 upstream). */}}
{{- define "kubefed.podSecurity" -}}
runAsNonRoot: true
runAsUser: 1001
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{/* Where both Deployments may run: nodes of the architecture KubeFed's images exist for (a mixed host must not
schedule them on arm64: exec format error). */}}
{{- define "kubefed.nodeSelector" -}}
kubernetes.io/arch: {{ required "nodeArchitecture is set by components/kubefed_control_plane.py" .Values.nodeArchitecture | quote }}
{{- end }}
{{- define "kubefed.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
{{- end }}
