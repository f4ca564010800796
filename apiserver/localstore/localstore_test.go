package localstore

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/apiserver/etcd"
)

func TestDecoration(t *testing.T) {
	other := func(*storagebackend.ConfigForResource, string, func(runtime.Object) (string, error), func() runtime.Object,
		func() runtime.Object, storage.AttrFunc, storage.IndexerFuncs, *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		return nil, nil, nil
	}
	for _, tc := range []struct {
		name          string
		d             generic.StorageDecorator
		cached, known bool
	}{
		{"none", nil, false, true},
		{"upstream's cacher", genericregistry.StorageWithCacher(), true, true},
		{"the etcd options' with the watch cache", etcdOptionsDecorator(t, true), true, true},
		{"the etcd options' without", etcdOptionsDecorator(t, false), false, true},
		{"undecorated", generic.UndecoratedStorage, false, true},
		{"another decorator", other, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cached, known := decoration(tc.d)
			if cached != tc.cached || known != tc.known {
				t.Errorf("decoration = cached %v, known %v; want %v, %v", cached, known, tc.cached, tc.known)
			}
		})
	}
}

// etcdOptionsDecorator is the decorator the API server's etcd options give a resource.
func etcdOptionsDecorator(t *testing.T, watchCache bool) generic.StorageDecorator {
	opts := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig("/registry", nil))
	opts.EnableWatchCache = watchCache
	getter := &genericoptions.StorageFactoryRestOptionsFactory{Options: *opts, StorageFactory: &genericoptions.SimpleStorageFactory{StorageConfig: opts.StorageConfig}}
	ro, err := getter.GetRESTOptions(leases, &coordinationv1.Lease{})
	if err != nil {
		t.Fatal(err)
	}
	return ro.Decorator
}

var leases = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

// leaseMember starts a member for the test and returns it with a storage configuration of
// Leases (protobuf) that reaches it.
func leaseMember(tb testing.TB) (*etcd.Server, *storagebackend.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	srv, err := etcd.Start(ctx, etcd.Config{Dir: filepath.Join(tb.TempDir(), "etcd"), ForTests: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	scheme := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	proto, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	codec := codecs.CodecForVersions(proto.Serializer, codecs.UniversalDeserializer(), coordinationv1.SchemeGroupVersion, coordinationv1.SchemeGroupVersion)
	config := storagebackend.NewDefaultConfig("/registry", codec)
	config.Transport.ServerList = srv.Endpoints
	return srv, config
}

// leaseStorages starts a member and returns a raw Lease storage over gRPC (upstream's factory)
// and one on the member's in-process client.
func leaseStorages(tb testing.TB) map[string]storage.Interface {
	srv, config := leaseMember(tb)
	forLeases := config.ForResource(leases)
	newFunc := func() runtime.Object { return &coordinationv1.Lease{} }
	newListFunc := func() runtime.Object { return &coordinationv1.LeaseList{} }

	viaGRPC, destroyGRPC, err := factory.Create(*forLeases, newFunc, newListFunc, "/leases")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(destroyGRPC)
	store := New(srv.LocalClient())
	tb.Cleanup(func() { _ = store.Close() })
	local, destroyLocal, err := store.raw(forLeases, newFunc, newListFunc, "/leases")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(destroyLocal)
	return map[string]storage.Interface{"grpc": viaGRPC, "local": local}
}

func lease(name string, renew time.Time) *coordinationv1.Lease {
	holder := name
	t := metav1.NewMicroTime(renew)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-node-lease"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &t}}
}

// TestStorageOnLocalClient runs the same writes, reads and watch through both transports.
func TestStorageOnLocalClient(t *testing.T) {
	storages := leaseStorages(t)
	for _, transport := range []string{"grpc", "local"} {
		s := storages[transport]
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			key := "/leases/kube-node-lease/" + transport
			created := &coordinationv1.Lease{}
			if err := s.Create(ctx, key, lease(transport, time.Unix(1000, 0)), created, 0); err != nil {
				t.Fatalf("create: %v", err)
			}
			w, err := s.Watch(ctx, key, storage.ListOptions{ResourceVersion: created.ResourceVersion, Predicate: storage.Everything})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			updated := &coordinationv1.Lease{}
			err = s.GuaranteedUpdate(ctx, key, updated, false, nil, func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
				l := in.(*coordinationv1.Lease).DeepCopy()
				renew := metav1.NewMicroTime(time.Unix(2000, 0))
				l.Spec.RenewTime = &renew
				return l, nil, nil
			}, nil)
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			got := &coordinationv1.Lease{}
			if err := s.Get(ctx, key, storage.GetOptions{}, got); err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.ResourceVersion != updated.ResourceVersion || !got.Spec.RenewTime.Equal(updated.Spec.RenewTime) {
				t.Errorf("get = rv %s renew %v, want the update's rv %s renew %v", got.ResourceVersion, got.Spec.RenewTime, updated.ResourceVersion, updated.Spec.RenewTime)
			}
			select {
			case ev := <-w.ResultChan():
				if l, ok := ev.Object.(*coordinationv1.Lease); ev.Type != watch.Modified || !ok || l.ResourceVersion != updated.ResourceVersion {
					t.Errorf("watch event = %s %#v, want MODIFIED at rv %s", ev.Type, ev.Object, updated.ResourceVersion)
				}
			case <-ctx.Done():
				t.Fatal("no watch event for the update")
			}
			list := &coordinationv1.LeaseList{}
			if err := s.GetList(ctx, "/leases/kube-node-lease/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list); err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(list.Items) == 0 {
				t.Error("list returned no Leases")
			}
			if err := s.Delete(ctx, key, &coordinationv1.Lease{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
		})
	}
}

// BenchmarkLeaseRenewal renews 100 Leases in turn through the raw storage, side by side over
// gRPC (kube-apiserver's way) and on the in-process client: latency, allocations and the
// process's CPU time per renewal (cpu-ns/op) compare the two transports in one run.
func BenchmarkLeaseRenewal(b *testing.B) {
	storages := leaseStorages(b)
	for _, transport := range []string{"grpc", "local"} {
		s := storages[transport]
		ctx := context.Background()
		const n = 100
		for i := range n {
			key := fmt.Sprintf("/leases/kube-node-lease/%s-%d", transport, i)
			if err := s.Create(ctx, key, lease(fmt.Sprintf("node-%d", i), time.Now()), nil, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(transport, func(b *testing.B) {
			b.ReportAllocs()
			start := processCPU(b)
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprintf("/leases/kube-node-lease/%s-%d", transport, i%n)
				err := s.GuaranteedUpdate(ctx, key, &coordinationv1.Lease{}, false, nil, func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
					l := in.(*coordinationv1.Lease).DeepCopy()
					renew := metav1.NewMicroTime(time.Now())
					l.Spec.RenewTime = &renew
					return l, nil, nil
				}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process has used (user and system), which counts the etcd
// member's and the client's goroutines alike.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
