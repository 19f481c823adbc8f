// Command chainfleet-provisioner is the PersistentVolume provisioner of the local test
// cluster (scripts/cluster.sh). Its volumes are hostPath directories under --root: on kwok's
// fake nodes they only exist as API objects; on the cluster's real node (one kubelet on this
// host) pods mount them for real.
//
// For every pending PersistentVolumeClaim of the StorageClass it serves (default
// chainfleet-local, the cluster's default class) it creates a hostPath PersistentVolume
// pre-bound to that claim (spec.claimRef); the PV controller in kube-controller-manager then
// binds the pair. When a claim is deleted its volume becomes Released, and this program
// deletes it (reclaim policy Delete), so create/delete churn in tests never runs dry, unlike
// a pool of pre-created volumes.
//
// A claim whose dataSource is another claim of the class (a clone, as CSI drivers with the
// CLONE_VOLUME capability serve it) starts as a copy of that claim's directory: `cp -a`, so
// ownership and modes stay. Unlike a CSI clone the copy is not atomic; a source in use by a
// node is copied as the files are at that moment (LevelDB recovers from its journal as after a
// crash), which is what chainfleet's tests of cloned entrant volumes rely on.
//
// It reacts to watch events (shared informers) and retries failed API calls with backoff;
// a periodic resync catches anything missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Annotation the PV controller reads to know which provisioner owns a volume (the same key
// the external-provisioner library uses), so it leaves deletion of Released volumes to us.
const provisionedByAnnotation = "pv.kubernetes.io/provisioned-by"

type provisioner struct {
	client       kubernetes.Interface
	storageClass string
	name         string
	root         string
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	storageClass := flag.String("storage-class", "chainfleet-local", "StorageClass whose claims this provisioner serves")
	name := flag.String("provisioner-name", "chainfleet.io/local", "provisioner name (the StorageClass's provisioner field)")
	root := flag.String("root", filepath.Join(os.TempDir(), "chainfleet-volumes"), "directory the hostPath volumes point into (nothing mounts them)")
	resync := flag.Duration("resync", 30*time.Second, "how often every claim and volume is looked at again")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig %q: %v", *kubeconfig, err)
	}
	cfg.UserAgent = "chainfleet-provisioner"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	p := &provisioner{client: client, storageClass: *storageClass, name: *name, root: *root}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, *resync)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	onClaim := func(obj any) {
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			go p.retry(ctx, "provision "+pvc.Namespace+"/"+pvc.Name, func() error { return p.provision(ctx, pvc) })
		}
	}
	onVolume := func(obj any) {
		if pv, ok := obj.(*corev1.PersistentVolume); ok {
			go p.retry(ctx, "reclaim "+pv.Name, func() error { return p.reclaim(ctx, pv) })
		}
	}
	if _, err := claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onClaim, UpdateFunc: func(_, obj any) { onClaim(obj) },
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := volumes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onVolume, UpdateFunc: func(_, obj any) { onVolume(obj) },
	}); err != nil {
		log.Fatal(err)
	}
	factory.Start(ctx.Done())
	log.Printf("serving StorageClass %s as %s (hostPath under %s)", p.storageClass, p.name, p.root)
	<-ctx.Done()
	factory.Shutdown()
}

// retry runs fn until it succeeds, with exponential backoff (0.5s .. 30s), for at most ~5 min;
// the informer's resync starts it again after that.
func (p *provisioner) retry(ctx context.Context, what string, fn func() error) {
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 14, Cap: 30 * time.Second}
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(context.Context) (bool, error) {
		if err := fn(); err != nil {
			log.Printf("%s: %v (will retry)", what, err)
			return false, nil
		}
		return true, nil
	})
	if err != nil && ctx.Err() == nil {
		log.Printf("%s: giving up until the next resync: %v", what, err)
	}
}

// provision creates the volume for a pending claim of our class; it is idempotent (the
// volume's name is derived from the claim's UID).
func (p *provisioner) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != p.storageClass ||
		pvc.Spec.VolumeName != "" || pvc.Status.Phase != corev1.ClaimPending || pvc.DeletionTimestamp != nil {
		return nil
	}
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return fmt.Errorf("claim has no storage request")
	}
	accessModes := pvc.Spec.AccessModes
	if len(accessModes) == 0 {
		accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	dir := filepath.Join(p.root, pvc.Namespace, pvc.Name+"-"+string(pvc.UID))
	// Made here, world-writable: the kubelet would create it root-owned 0755, and chainfleet's
	// pods run as a non-root UID (lib/podSecurity.ts) with no fsGroup support on hostPath.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	if err := p.cloneInto(ctx, pvc, dir); err != nil {
		return err
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "pvc-" + string(pvc.UID),
			Annotations: map[string]string{provisionedByAnnotation: p.name},
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "chainfleet-provisioner"},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   accessModes,
			VolumeMode:                    pvc.Spec.VolumeMode,
			StorageClassName:              p.storageClass,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{
					Path: dir,
					Type: &hostPathType,
				},
			},
		},
	}
	_, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		log.Printf("created %s (%s) for %s/%s", pv.Name, size.String(), pvc.Namespace, pvc.Name)
	}
	return err
}

// cloneInto copies the directory of the claim named in pvc's dataSource into dir, once: a
// marker file records that the copy finished, so a retry after a failed copy starts over and a
// volume whose PV creation failed is not copied twice.
func (p *provisioner) cloneInto(ctx context.Context, pvc *corev1.PersistentVolumeClaim, dir string) error {
	src := pvc.Spec.DataSource
	if src == nil || src.Kind != "PersistentVolumeClaim" || (src.APIGroup != nil && *src.APIGroup != "") {
		return nil
	}
	marker := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".cloned")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	source, err := p.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("clone source claim %s/%s: %w", pvc.Namespace, src.Name, err)
	}
	if source.Spec.VolumeName == "" {
		return fmt.Errorf("clone source claim %s/%s is not bound yet", pvc.Namespace, src.Name)
	}
	pv, err := p.client.CoreV1().PersistentVolumes().Get(ctx, source.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("clone source volume %s: %w", source.Spec.VolumeName, err)
	}
	if pv.Spec.HostPath == nil || !strings.HasPrefix(filepath.Clean(pv.Spec.HostPath.Path), filepath.Clean(p.root)+"/") {
		return fmt.Errorf("clone source volume %s is not one of this provisioner's", pv.Name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--", pv.Spec.HostPath.Path+"/.", dir+"/").CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s to %s: %v: %s", pv.Spec.HostPath.Path, dir, err, out)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return err
	}
	log.Printf("cloned %s/%s from %s (%s) in %s", pvc.Namespace, pvc.Name, src.Name, pv.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// reclaim deletes our volumes whose claim is gone.
func (p *provisioner) reclaim(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Annotations[provisionedByAnnotation] != p.name || pv.DeletionTimestamp != nil ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		(pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed) {
		return nil
	}
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pv.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return err
	}
	log.Printf("deleted released %s", pv.Name)
	// Its data goes with it (reclaim policy Delete), or test churn would fill the disk. Only
	// paths under --root: a volume object edited by hand must not remove anything else.
	if hp := pv.Spec.HostPath; hp != nil && strings.HasPrefix(filepath.Clean(hp.Path), filepath.Clean(p.root)+"/") {
		if err := os.RemoveAll(hp.Path); err != nil {
			log.Printf("deleted %s but not its directory: %v", pv.Name, err)
		}
		_ = os.Remove(filepath.Join(filepath.Dir(hp.Path), "."+filepath.Base(hp.Path)+".cloned"))
	}
	return nil
}
