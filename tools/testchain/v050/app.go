package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	runtimev1alpha1 "cosmossdk.io/api/cosmos/app/runtime/v1alpha1"
	appv1alpha1 "cosmossdk.io/api/cosmos/app/v1alpha1"
	authmodulev1 "cosmossdk.io/api/cosmos/auth/module/v1"
	bankmodulev1 "cosmossdk.io/api/cosmos/bank/module/v1"
	circuitmodulev1 "cosmossdk.io/api/cosmos/circuit/module/v1"
	consensusmodulev1 "cosmossdk.io/api/cosmos/consensus/module/v1"
	distrmodulev1 "cosmossdk.io/api/cosmos/distribution/module/v1"
	genutilmodulev1 "cosmossdk.io/api/cosmos/genutil/module/v1"
	govmodulev1 "cosmossdk.io/api/cosmos/gov/module/v1"
	stakingmodulev1 "cosmossdk.io/api/cosmos/staking/module/v1"
	txconfigv1 "cosmossdk.io/api/cosmos/tx/config/v1"
	upgrademodulev1 "cosmossdk.io/api/cosmos/upgrade/module/v1"
	"cosmossdk.io/core/appconfig"
	"cosmossdk.io/depinject"
	"cosmossdk.io/log"
	storetypes "cosmossdk.io/store/types"
	_ "cosmossdk.io/x/circuit" // registers its depinject providers
	circuittypes "cosmossdk.io/x/circuit/types"
	_ "cosmossdk.io/x/upgrade"
	upgradekeeper "cosmossdk.io/x/upgrade/keeper"
	upgradetypes "cosmossdk.io/x/upgrade/types"
	dbm "github.com/cosmos/cosmos-db"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	// Modules register their depinject providers in init().
	_ "github.com/cosmos/cosmos-sdk/x/auth"
	_ "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	_ "github.com/cosmos/cosmos-sdk/x/bank"
	_ "github.com/cosmos/cosmos-sdk/x/consensus"
	_ "github.com/cosmos/cosmos-sdk/x/distribution"
	_ "github.com/cosmos/cosmos-sdk/x/staking"
)

const appName = "testchain"

// UpgradeName is the v2 upgrade handler's plan name (simapp v0.50's upgrades.go uses it too).
const UpgradeName = "v047-to-v050"

// DefaultNodeHome is only a default: chainfleet always passes --home.
var DefaultNodeHome = func() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(home, ".testchaind")
}()

func isV2() bool { return Variant != "v1" }

// appConfig wires the modules; v2 adds circuit (the store its upgrade handler adds).
func appConfig() depinject.Config {
	all := []string{
		upgradetypes.ModuleName, authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName,
		stakingtypes.ModuleName, govtypes.ModuleName, genutiltypes.ModuleName, consensustypes.ModuleName,
	}
	if isV2() {
		all = append(all, circuittypes.ModuleName)
	}
	// genutil after staking (gentxs need it), gov and staking first to end a block.
	initGenesis := append([]string{authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName, stakingtypes.ModuleName}, all[5:]...)
	initGenesis = append(initGenesis, upgradetypes.ModuleName)
	endBlockers := append([]string{govtypes.ModuleName, stakingtypes.ModuleName}, all...)
	modules := []*appv1alpha1.ModuleConfig{
		{Name: "runtime", Config: appconfig.WrapAny(&runtimev1alpha1.Module{
			AppName:       appName,
			PreBlockers:   []string{upgradetypes.ModuleName},
			BeginBlockers: all[1:],
			EndBlockers:   dedup(endBlockers),
			InitGenesis:   initGenesis,
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
	}
	if isV2() {
		modules = append(modules, &appv1alpha1.ModuleConfig{Name: circuittypes.ModuleName, Config: appconfig.WrapAny(&circuitmodulev1.Module{})})
	}
	return appconfig.Compose(&appv1alpha1.Config{Modules: modules})
}

func dedup(names []string) []string {
	seen, out := map[string]bool{}, []string{}
	for _, n := range names {
		if !seen[n] {
			seen[n], out = true, append(out, n)
		}
	}
	return out
}

// App is the test chain: the SDK's runtime.App with the modules above.
type App struct {
	*runtime.App
	cdc               codec.Codec
	amino             *codec.LegacyAmino
	txConfig          client.TxConfig
	interfaceRegistry codectypes.InterfaceRegistry
	basics            module.BasicManager
	upgradeKeeper     *upgradekeeper.Keeper
}

var _ servertypes.Application = (*App)(nil)

// NewApp builds the app; load=false only builds it (the CLI's codecs and module basics).
func NewApp(logger log.Logger, db dbm.DB, traceStore io.Writer, load bool, appOpts servertypes.AppOptions, baseAppOptions ...func(*baseapp.BaseApp)) *App {
	app := &App{}
	var appBuilder *runtime.AppBuilder
	// Module basics that need arguments (genutil's gentx validator), else the genesis CLI panics.
	customBasics := map[string]module.AppModuleBasic{
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		govtypes.ModuleName:     gov.NewAppModuleBasic([]govclient.ProposalHandler{}),
	}
	if err := depinject.Inject(depinject.Configs(appConfig(), depinject.Supply(appOpts, logger, customBasics)),
		&appBuilder, &app.cdc, &app.amino, &app.txConfig, &app.interfaceRegistry, &app.basics, &app.upgradeKeeper); err != nil {
		panic(err)
	}
	app.App = appBuilder.Build(db, traceStore, baseAppOptions...)
	if !load {
		return app
	}
	if isV2() {
		app.setUpgrades()
	}
	if err := app.Load(true); err != nil {
		panic(err)
	}
	return app
}

// setUpgrades registers the v047-to-v050 handler and, when the node halted for it (the
// upgrade-info.json the halted binary wrote names it), mounts the circuit store it adds.
func (app *App) setUpgrades() {
	app.upgradeKeeper.SetUpgradeHandler(UpgradeName, func(ctx context.Context, _ upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error) {
		return app.ModuleManager.RunMigrations(ctx, app.Configurator(), fromVM)
	})
	info, err := app.upgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		panic(err)
	}
	if info.Name == UpgradeName && !app.upgradeKeeper.IsSkipHeight(info.Height) {
		app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &storetypes.StoreUpgrades{Added: []string{circuittypes.ModuleName}}))
	}
}
