//go:build tools

// Package tools pins the local cluster's ingress proxy: Caddy v2 (its standard modules:
// reverse_proxy, forward_auth, the internal certificate authority, the admin API), built
// as `caddy`. A module of its own, like the node's: its dependencies must not move the
// Kubernetes pin's or the node's.
package tools

import (
	_ "github.com/caddyserver/caddy/v2/cmd/caddy"
)
