//go:build tools

// Package tools pins actionlint's main package so `go mod tidy` keeps its dependency graph in
// go.mod/go.sum; scripts/lint-ci.sh builds it with `go build …/cmd/actionlint`.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
