//go:build tools

// Package tools pins kwok's main package so `go mod tidy` keeps its dependency graph in
// go.mod/go.sum; scripts/tools.sh builds it with `go build sigs.k8s.io/kwok/cmd/kwok`.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
