// Command coredns is CoreDNS's own entry point (coremain.Run) with only the plugins a real
// node's cluster DNS needs. Upstream's main imports core/plugin, which pulls in every plugin
// and with them the AWS, Azure and GCP SDKs (route53, azure, clouddns).
//
// Two lists decide what a build can do:
//   - dnsserver.Directives (core/dnsserver/zdirectives.go, part of the dnsserver package) is
//     the execution order of every directive CoreDNS knows. It is kept as it is: the order
//     is upstream's, and a directive whose plugin is not compiled in is simply never used
//     (a Corefile naming it fails at startup with "unknown directive").
//   - The blank imports below register the plugins (each package's init calls
//     plugin.Register); `coredns -plugins` lists them.
//
// To add a plugin, import it here (upstream's name list is core/plugin/zplugin.go).
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
