//go:build tools

// Package tools pins the Pulumi CLI's main package so `go mod tidy` keeps its whole
// dependency graph in go.mod/go.sum; scripts/tools.sh builds it with
// `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
