//go:build tools

// Package tools pins the commands of the local cluster's real node, so that `go mod
// tidy` keeps them and `go build` builds them at the pinned versions: containerd v2 (and
// its runc shim and ctr), crictl, CoreDNS, kube-router (its network policy controller
// only) and the CNI plugins bridge, host-local, loopback and portmap.
package tools

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
	_ "github.com/coredns/coredns"
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
