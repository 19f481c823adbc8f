// Command pulumi-resource-kubernetes serves the Kubernetes provider to the Pulumi engine.
//
// Upstream's own main embeds schema-embed.json and terraform-mapping-embed.json, which its
// `go generate` step writes and its .gitignore leaves out of the module zip. scripts/tools.sh
// writes them here from the module's schema.json (with "version" set) and
// terraform-mapping.json before it builds; they are large and generated, so not committed.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is set with -ldflags -X by scripts/tools.sh.
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
