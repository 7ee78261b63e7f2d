{{/* The documents of one of Karvdash's manifests (files/ is karvdash_hub/manifests). */}}
{{- define "karvdash.documents" -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.Files.Get .file) -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.kind }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end }}
