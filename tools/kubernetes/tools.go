//go:build tools

// Package tools pins the Kubernetes commands that scripts/tools.sh builds with
// `go build k8s.io/kubernetes/cmd/<name>`: the control plane and kubectl (piece
// kubernetes), a real node's kubelet and kube-proxy (piece kubelet), and kwok (piece kwok,
// built here so that it shares the control plane's compiled packages). The
// blank imports keep them (and their whole dependency graph) in go.mod/go.sum,
// so `go mod tidy` does not drop them and builds stay reproducible.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
