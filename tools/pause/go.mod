// The kubelet's sandbox ("pause") container, built by scripts/images.sh into
// registry.k8s.io/pause:3.10: nothing can be pulled on this project's machines.
module chainfleet/tools/pause

go 1.22
