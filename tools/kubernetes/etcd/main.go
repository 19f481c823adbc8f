// Command etcd starts an etcd server; it is etcd's own entry point (etcdmain.Main), built
// from the pinned modules in go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
