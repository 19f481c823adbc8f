// testchaind: chainfleet's own minimal Cosmos SDK v0.47 chain (see tools/README.md).
package main

import (
	"errors"
	"io"
	"os"

	dbm "github.com/cometbft/cometbft-db"
	tmcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	"github.com/cosmos/cosmos-sdk/server"
	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	serverconfig "github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/bank"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	"github.com/cosmos/cosmos-sdk/x/distribution"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	"github.com/cosmos/cosmos-sdk/x/staking"
	"github.com/cosmos/cosmos-sdk/x/upgrade"
)

// Variant is set with -ldflags "-X main.Variant=..."; v0.47 has only v1.
var Variant = "v1"

var basics = module.NewBasicManager(
	auth.AppModuleBasic{}, genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
	bank.AppModuleBasic{}, staking.AppModuleBasic{}, distribution.AppModuleBasic{},
	gov.NewAppModuleBasic([]govclient.ProposalHandler{}), upgrade.AppModuleBasic{}, consensus.AppModuleBasic{},
)

func main() {
	version.Name = "testchain"
	version.AppName = "testchaind"
	version.Version = "0.47-" + Variant
	if err := svrcmd.Execute(newRootCmd(), "", DefaultNodeHome); err != nil {
		var exitErr server.ErrorCode
		if errors.As(err, &exitErr) {
			os.Exit(exitErr.Code)
		}
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	tmp := NewApp(log.NewNopLogger(), dbm.NewMemDB(), nil, false, simtestutil.EmptyAppOptions{})
	initClientCtx := client.Context{}.
		WithCodec(tmp.cdc).WithInterfaceRegistry(tmp.interfaceRegistry).WithTxConfig(tmp.txConfig).
		WithLegacyAmino(tmp.amino).WithInput(os.Stdin).WithAccountRetriever(authtypes.AccountRetriever{}).
		WithHomeDir(DefaultNodeHome).WithViper("")

	rootCmd := &cobra.Command{
		Use:   "testchaind",
		Short: "chainfleet's test chain (Cosmos SDK " + version.Version + ")",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())
			if cmd.Name() == "version" {
				return nil // no home directory needed (and none written)
			}
			ctx, err := client.ReadPersistentCommandFlags(initClientCtx, cmd.Flags())
			if err != nil {
				return err
			}
			if ctx, err = config.ReadFromClientConfig(ctx); err != nil {
				return err
			}
			if err := client.SetCmdClientContextHandler(ctx, cmd); err != nil {
				return err
			}
			// No minimum gas price: the test chain's txs pay no fees.
			appCfg := serverconfig.DefaultConfig()
			appCfg.MinGasPrices = "0stake"
			return server.InterceptConfigsPreRunHandler(cmd, serverconfig.DefaultConfigTemplate, appCfg, tmcfg.DefaultConfig())
		},
	}

	rootCmd.AddCommand(genutilcli.InitCmd(basics, DefaultNodeHome))
	server.AddCommands(rootCmd, DefaultNodeHome, newApp, exportApp, func(*cobra.Command) {})
	rootCmd.AddCommand(
		rpc.StatusCommand(),
		genutilcli.GenesisCoreCommand(tmp.txConfig, basics, DefaultNodeHome),
		queryCommand(),
		txCommand(),
		heightsCmd(),
		keys.Commands(DefaultNodeHome),
	)
	return rootCmd
}

func queryCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "query", Aliases: []string{"q"}, Short: "Querying subcommands", RunE: client.ValidateCmd}
	cmd.AddCommand(authcmd.GetAccountCmd(), rpc.ValidatorCommand(), rpc.BlockCommand(),
		authcmd.QueryTxsByEventsCmd(), authcmd.QueryTxCmd())
	basics.AddQueryCommands(cmd)
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func txCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Transactions subcommands", RunE: client.ValidateCmd}
	cmd.AddCommand(authcmd.GetSignCommand(), authcmd.GetBroadcastCommand(), authcmd.GetEncodeCommand(), authcmd.GetDecodeCommand())
	basics.AddTxCommands(cmd)
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func newApp(logger log.Logger, db dbm.DB, traceStore io.Writer, appOpts servertypes.AppOptions) servertypes.Application {
	return NewApp(logger, db, traceStore, true, appOpts, server.DefaultBaseappOptions(appOpts)...)
}

func exportApp(log.Logger, dbm.DB, io.Writer, int64, bool, []string, servertypes.AppOptions, []string) (servertypes.ExportedApp, error) {
	return servertypes.ExportedApp{}, errors.New("export is not supported by the test chain")
}
