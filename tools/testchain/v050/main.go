// testchaind: chainfleet's own minimal Cosmos SDK v0.50 chain (see tools/README.md).
package main

import (
	"errors"
	"io"
	"os"

	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/core/appmodule"
	"cosmossdk.io/log"
	cmtcfg "github.com/cometbft/cometbft/config"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	runtimeservices "github.com/cosmos/cosmos-sdk/runtime/services"
	"github.com/cosmos/cosmos-sdk/server"
	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	serverconfig "github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	"github.com/cosmos/cosmos-sdk/version"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"
)

// Variant is "v2" (circuit and the v047-to-v050 upgrade handler) unless built with
// -ldflags "-X main.Variant=v1", which leaves both out.
var Variant = "v2"

func main() {
	version.Name = "testchain"
	version.AppName = "testchaind"
	version.Version = "0.50-" + Variant
	if err := svrcmd.Execute(newRootCmd(), "", DefaultNodeHome); err != nil {
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
		Use:           "testchaind",
		Short:         "chainfleet's test chain (Cosmos SDK " + version.Version + ")",
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())
			if cmd.Name() == "version" {
				return nil // no home directory needed (and none written)
			}
			ctx, err := client.ReadPersistentCommandFlags(initClientCtx.WithCmdContext(cmd.Context()), cmd.Flags())
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
			return server.InterceptConfigsPreRunHandler(cmd, serverconfig.DefaultConfigTemplate, appCfg, cmtcfg.DefaultConfig())
		},
	}

	rootCmd.AddCommand(genutilcli.InitCmd(tmp.basics, DefaultNodeHome))
	server.AddCommands(rootCmd, DefaultNodeHome, newApp, exportApp, func(*cobra.Command) {})
	rootCmd.AddCommand(
		server.StatusCommand(),
		genutilcli.Commands(tmp.txConfig, tmp.basics, DefaultNodeHome),
		queryCommand(),
		txCommand(),
		heightsCmd(),
		keys.Commands(),
	)

	// Module query and tx commands come from autocli (and the modules' own GetTxCmd).
	modules := map[string]appmodule.AppModule{}
	for name, m := range tmp.ModuleManager.Modules {
		if am, ok := m.(appmodule.AppModule); ok {
			modules[name] = am
		}
	}
	autoCliOpts := autocli.AppOptions{
		Modules:               modules,
		ModuleOptions:         runtimeservices.ExtractAutoCLIOptions(tmp.ModuleManager.Modules),
		AddressCodec:          addresscodec.NewBech32Codec("cosmos"),
		ValidatorAddressCodec: addresscodec.NewBech32Codec("cosmosvaloper"),
		ConsensusAddressCodec: addresscodec.NewBech32Codec("cosmosvalcons"),
		ClientCtx:             initClientCtx,
	}
	if err := autoCliOpts.EnhanceRootCommand(rootCmd); err != nil {
		panic(err)
	}
	return rootCmd
}

func queryCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "query", Aliases: []string{"q"}, Short: "Querying subcommands", RunE: client.ValidateCmd}
	cmd.AddCommand(rpc.QueryEventForTxCmd(), rpc.ValidatorCommand(), server.QueryBlockCmd(),
		authcmd.QueryTxsByEventsCmd(), server.QueryBlocksCmd(), authcmd.QueryTxCmd(), server.QueryBlockResultsCmd())
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func txCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Transactions subcommands", RunE: client.ValidateCmd}
	cmd.AddCommand(authcmd.GetSignCommand(), authcmd.GetBroadcastCommand(), authcmd.GetEncodeCommand(),
		authcmd.GetDecodeCommand(), authcmd.GetSimulateCmd())
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func newApp(logger log.Logger, db dbm.DB, traceStore io.Writer, appOpts servertypes.AppOptions) servertypes.Application {
	return NewApp(logger, db, traceStore, true, appOpts, server.DefaultBaseappOptions(appOpts)...)
}

func exportApp(log.Logger, dbm.DB, io.Writer, int64, bool, []string, servertypes.AppOptions, []string) (servertypes.ExportedApp, error) {
	return servertypes.ExportedApp{}, errors.New("export is not supported by the test chain")
}
