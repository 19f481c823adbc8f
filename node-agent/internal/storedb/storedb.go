// Package storedb reads the heights a CometBFT-family node keeps in its goleveldb databases,
// offline and read-only (goleveldb then writes nothing: no LOG, no journal, no compaction), so a
// stopped node's home can be checked without the node's own code.
package storedb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// cometStateKey is where CometBFT v0.38 keeps the latest state in state.db (state/store.go).
var cometStateKey = []byte("stateKey")

// appLatestKey is where the Cosmos SDK's root multistore keeps its latest committed version in
// application.db: `latestVersionKey = "s/latest"`, the value a gogoproto Int64Value
// (store/rootmulti/store.go GetLatestVersion / flushLatestVersion, v0.47 and v0.50).
var appLatestKey = []byte("s/latest")

// ErrMissing says the database does not exist (the node never ran on this home, or its
// backend keeps it elsewhere).
var ErrMissing = errors.New("database missing")

func get(dir string, key []byte) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, ErrMissing)
	}
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	buf, err := db.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return buf, err
}

// StateLastBlockHeight reads the LastBlockHeight of the state in a goleveldb state.db (field 3
// of cometbft.state.v1.State). A database without a saved state is at height 0, as CometBFT's
// LoadFromDBOrGenesisDoc takes it.
func StateLastBlockHeight(stateDB string) (int64, error) {
	buf, err := get(stateDB, cometStateKey)
	if err != nil || buf == nil {
		return 0, err
	}
	return VarintField(buf, 3)
}

// AppCommittedHeight reads the latest version the Cosmos SDK app committed, from a goleveldb
// application.db: the height of the last block whose state the app holds. 0 when the app has
// committed nothing.
func AppCommittedHeight(appDB string) (int64, error) {
	buf, err := get(appDB, appLatestKey)
	if err != nil || buf == nil {
		return 0, err
	}
	return VarintField(buf, 1)
}

// VarintField returns the last value of varint field num of a protobuf message (0 when absent,
// as proto3 omits zero values).
func VarintField(b []byte, num uint64) (int64, error) {
	var v int64
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return 0, errors.New("not a protobuf message: bad tag")
		}
		b = b[n:]
		field, wire := tag>>3, tag&7
		switch wire {
		case 0:
			x, n := uvarint(b)
			if n <= 0 {
				return 0, errors.New("not a protobuf message: bad varint")
			}
			b = b[n:]
			if field == num {
				v = int64(x)
			}
		case 1:
			if len(b) < 8 {
				return 0, errors.New("not a protobuf message: short fixed64")
			}
			b = b[8:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return 0, errors.New("not a protobuf message: bad length")
			}
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return 0, errors.New("not a protobuf message: short fixed32")
			}
			b = b[4:]
		default:
			return 0, fmt.Errorf("not a protobuf message: wire type %d", wire)
		}
	}
	return v, nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}
