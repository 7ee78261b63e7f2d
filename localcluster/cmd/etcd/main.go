// Command etcd is the etcd server of the pinned release, built from its Go module
// (Debian's etcd-server is 3.4; Kubernetes 1.34 and later need 3.6).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
