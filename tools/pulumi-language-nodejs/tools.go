//go:build tools

// Package tools pins the Node.js language host's main package so `go mod tidy` keeps its
// dependency graph in go.mod/go.sum; scripts/tools.sh builds it with `go build`.
package tools

import _ "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
