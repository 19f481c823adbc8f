package main

import (
	"io"
	"os"
	"path/filepath"

	runtimev1alpha1 "cosmossdk.io/api/cosmos/app/runtime/v1alpha1"
	appv1alpha1 "cosmossdk.io/api/cosmos/app/v1alpha1"
	authmodulev1 "cosmossdk.io/api/cosmos/auth/module/v1"
	bankmodulev1 "cosmossdk.io/api/cosmos/bank/module/v1"
	consensusmodulev1 "cosmossdk.io/api/cosmos/consensus/module/v1"
	distrmodulev1 "cosmossdk.io/api/cosmos/distribution/module/v1"
	genutilmodulev1 "cosmossdk.io/api/cosmos/genutil/module/v1"
	govmodulev1 "cosmossdk.io/api/cosmos/gov/module/v1"
	stakingmodulev1 "cosmossdk.io/api/cosmos/staking/module/v1"
	txconfigv1 "cosmossdk.io/api/cosmos/tx/config/v1"
	upgrademodulev1 "cosmossdk.io/api/cosmos/upgrade/module/v1"
	"cosmossdk.io/core/appconfig"
	"cosmossdk.io/depinject"
	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/libs/log"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	upgradekeeper "github.com/cosmos/cosmos-sdk/x/upgrade/keeper"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	// Modules register their depinject providers in init().
	_ "github.com/cosmos/cosmos-sdk/x/auth"
	_ "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	_ "github.com/cosmos/cosmos-sdk/x/bank"
	_ "github.com/cosmos/cosmos-sdk/x/consensus"
	_ "github.com/cosmos/cosmos-sdk/x/distribution"
	_ "github.com/cosmos/cosmos-sdk/x/genutil"
	_ "github.com/cosmos/cosmos-sdk/x/gov"
	_ "github.com/cosmos/cosmos-sdk/x/staking"
	_ "github.com/cosmos/cosmos-sdk/x/upgrade"
)

const appName = "testchain"

// DefaultNodeHome is only a default: chainfleet always passes --home.
var DefaultNodeHome = func() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(home, ".testchaind")
}()

// Every module in begin-, end-block and genesis order (genutil after staking: gentxs need it).
var moduleOrder = []string{
	upgradetypes.ModuleName, authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName,
	stakingtypes.ModuleName, govtypes.ModuleName, genutiltypes.ModuleName, consensustypes.ModuleName,
}

var appConfig = appconfig.Compose(&appv1alpha1.Config{Modules: []*appv1alpha1.ModuleConfig{
	{Name: "runtime", Config: appconfig.WrapAny(&runtimev1alpha1.Module{
		AppName:       appName,
		BeginBlockers: moduleOrder,
		EndBlockers:   []string{govtypes.ModuleName, stakingtypes.ModuleName, upgradetypes.ModuleName, authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName, genutiltypes.ModuleName, consensustypes.ModuleName},
		InitGenesis:   []string{authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName, stakingtypes.ModuleName, govtypes.ModuleName, genutiltypes.ModuleName, upgradetypes.ModuleName, consensustypes.ModuleName},
	})},
	{Name: authtypes.ModuleName, Config: appconfig.WrapAny(&authmodulev1.Module{
		Bech32Prefix: "cosmos",
		ModuleAccountPermissions: []*authmodulev1.ModuleAccountPermission{
			{Account: authtypes.FeeCollectorName},
			{Account: distrtypes.ModuleName},
			{Account: stakingtypes.BondedPoolName, Permissions: []string{authtypes.Burner, stakingtypes.ModuleName}},
			{Account: stakingtypes.NotBondedPoolName, Permissions: []string{authtypes.Burner, stakingtypes.ModuleName}},
			{Account: govtypes.ModuleName, Permissions: []string{authtypes.Burner}},
		},
	})},
	{Name: banktypes.ModuleName, Config: appconfig.WrapAny(&bankmodulev1.Module{})},
	{Name: stakingtypes.ModuleName, Config: appconfig.WrapAny(&stakingmodulev1.Module{})},
	{Name: distrtypes.ModuleName, Config: appconfig.WrapAny(&distrmodulev1.Module{})},
	{Name: govtypes.ModuleName, Config: appconfig.WrapAny(&govmodulev1.Module{})},
	{Name: upgradetypes.ModuleName, Config: appconfig.WrapAny(&upgrademodulev1.Module{})},
	{Name: consensustypes.ModuleName, Config: appconfig.WrapAny(&consensusmodulev1.Module{})},
	{Name: genutiltypes.ModuleName, Config: appconfig.WrapAny(&genutilmodulev1.Module{})},
	{Name: "tx", Config: appconfig.WrapAny(&txconfigv1.Config{})},
}})

// App is the test chain: the SDK's runtime.App with the modules above.
type App struct {
	*runtime.App
	cdc               codec.Codec
	amino             *codec.LegacyAmino
	txConfig          client.TxConfig
	interfaceRegistry codectypes.InterfaceRegistry
	upgradeKeeper     *upgradekeeper.Keeper
}

var _ servertypes.Application = (*App)(nil)

func NewApp(logger log.Logger, db dbm.DB, traceStore io.Writer, loadLatest bool, appOpts servertypes.AppOptions, baseAppOptions ...func(*baseapp.BaseApp)) *App {
	app := &App{}
	var appBuilder *runtime.AppBuilder
	if err := depinject.Inject(depinject.Configs(appConfig, depinject.Supply(appOpts)),
		&appBuilder, &app.cdc, &app.amino, &app.txConfig, &app.interfaceRegistry, &app.upgradeKeeper); err != nil {
		panic(err)
	}
	app.App = appBuilder.Build(logger, db, traceStore, baseAppOptions...)
	if err := app.Load(loadLatest); err != nil {
		panic(err)
	}
	return app
}
