module chainfleet/node-agent

go 1.26.0

require (
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/syndtr/goleveldb v1.0.1-0.20210819022825-2ae1ddf74ef7
	golang.org/x/crypto/x509roots/fallback v0.0.0-20261030153154-30a33513ff6d
)

require github.com/golang/snappy v0.0.4 // indirect
