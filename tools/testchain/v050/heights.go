package main

import (
	"encoding/json"
	"path/filepath"

	"cosmossdk.io/store/rootmulti"
	cmtdb "github.com/cometbft/cometbft-db"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client/flags"
)

// heightsCmd reads a stopped node's last committed heights from its databases (goleveldb, the
// default backend): the app's (application.db "s/latest"), the block store's and CometBFT's
// state's. /status reports the block store's, which can be one above the app's.
func heightsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "heights",
		Short: "Print a stopped node's committed heights (application, blockstore, state) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString(flags.FlagHome)
			data := filepath.Join(home, "data")
			open := func(name string) (cmtdb.DB, error) { return cmtdb.NewDB(name, cmtdb.GoLevelDBBackend, data) }
			app, err := dbm.NewDB("application", dbm.GoLevelDBBackend, data)
			if err != nil {
				return err
			}
			defer app.Close()
			blocks, err := open("blockstore")
			if err != nil {
				return err
			}
			defer blocks.Close()
			stateDB, err := open("state")
			if err != nil {
				return err
			}
			defer stateDB.Close()
			state, err := sm.NewStore(stateDB, sm.StoreOptions{}).Load()
			if err != nil {
				return err
			}
			out, err := json.Marshal(map[string]int64{
				"application": rootmulti.GetLatestVersion(app),
				"blockstore":  store.NewBlockStore(blocks).Height(),
				"state":       state.LastBlockHeight,
			})
			if err != nil {
				return err
			}
			cmd.Println(string(out))
			return nil
		},
	}
	return cmd
}
