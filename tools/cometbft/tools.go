//go:build tools

// Package tools pins CometBFT's main package so `go mod tidy` keeps its dependency graph
// in go.mod/go.sum; scripts/tools.sh builds it with `go build …/cmd/cometbft`.
package tools

import _ "github.com/cometbft/cometbft/cmd/cometbft"
