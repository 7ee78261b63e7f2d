//go:build tools

// Package tools pins helm, the chart tool the tests render Karvdash's own chart with
// (`helm lint`, `helm template`). A module of its own: its Kubernetes libraries must not
// move the control plane's pin.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
